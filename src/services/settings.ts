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
  /** show_multiple_locations: `locations` shown and changeable through PATCH. */
  showMultipleLocations?: boolean;
  imageLocationQuota?: number;
  /** enabled_backends is set: locations record their store id. */
  multiStore?: boolean;
  /** Store id → weight (multi-store `weight`); locations of heavier stores come first. */
  storeWeights?: Record<string, number>;
  inspection: { requireFormatMatch: boolean; vmdkAllowedTypes: string[]; gptSafetyChecksNonfatal: string[] };
}

/** Negative quota values mean unlimited, as in Glance. */
export function exceeds(count: number, quota: number): boolean {
  return quota >= 0 && count > quota;
}
