// The configuration values the image services read (a slice of GlimpseConfig).
export interface ImageSettings {
  imageSizeCap: number;
  userStorageQuota: number;
  imagePropertyQuota: number;
  imageTagQuota: number;
  imageMemberQuota: number;
  delayedDelete: boolean;
  hashingAlgorithm: string;
  limitParamDefault: number;
  apiLimitMax: number;
  /** [image_format] upload inspection settings. */
  inspection: { requireFormatMatch: boolean; vmdkAllowedTypes: string[]; gptSafetyChecksNonfatal: string[] };
}

/** Negative quota values mean unlimited, as in Glance. */
export function exceeds(count: number, quota: number): boolean {
  return quota >= 0 && count > quota;
}
