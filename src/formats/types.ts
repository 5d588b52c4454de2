// Shared shapes of the disk-format inspector (see README.md in this folder for the rules).

/** Formats the inspector recognises; the same names Glance (oslo.utils format_inspector) reports. */
export type FormatName = 'raw' | 'qcow2' | 'qed' | 'vmdk' | 'vhd' | 'vhdx' | 'vdi' | 'iso' | 'gpt' | 'luks';

/**
 * What the data turned out to be. `ambiguous`: several formats claim the same bytes and none of
 * them legitimately contains the others (Glance's "Multiple formats detected"). `unknown`: the
 * inspector itself failed (a bug); Glance treats that as "Image format inspection failed".
 */
export type DetectedFormat = FormatName | 'ambiguous' | 'unknown';

/** Every format Glance can inspect (oslo.utils ALL_FORMATS); other disk_formats (ami, ploop…) are opaque. */
export const INSPECTABLE_FORMATS: ReadonlySet<string> = new Set<FormatName>(
  ['raw', 'qcow2', 'qed', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso', 'gpt', 'luks']);

export interface InspectorOptions {
  /** `[image_format] vmdk_allowed_types`; compared case-insensitively with the descriptor's createType. */
  vmdkAllowedTypes: string[];
  /** `[image_format] gpt_safety_checks_nonfatal`: check names that only warn when the data is gpt. */
  gptSafetyChecksNonfatal?: string[];
  /**
   * Also recognise fixed VHDs by their end-of-file footer (default false: like Glance, qemu's probe
   * and Nova, a fixed VHD is raw — see vhd.ts).
   */
  detectFixedVhd?: boolean;
}

export interface InspectionResult {
  format: DetectedFormat;
  /** Every non-raw format that matched, before overlaps were resolved (e.g. ['iso', 'gpt'] for a hybrid ISO). */
  candidates: FormatName[];
  /** Size of the disk the image describes, in bytes; null when it cannot be known. Raw: the byte count. */
  virtualSize: number | null;
  /** Bytes seen. */
  totalBytes: number;
  /** Names of the safety checks that failed and are fatal (e.g. 'backing_file', 'data_file', 'mbr'). */
  safetyFailures: string[];
  /** Names of failed gpt checks that the operator declared non-fatal. */
  safetyWarnings: string[];
  /** Check name → English reason, for logs (never for end users: it may describe host paths). */
  safetyDetails: Record<string, string>;
  /** Set when the inspector failed internally (format is then 'unknown'). */
  inspectionError?: string;
}

/** One format's verdict on the finished stream. */
export interface Finding {
  format: FormatName;
  virtualSize: number | null;
  /** Failed safety checks: name → reason. */
  failures: Record<string, string>;
  /**
   * Formats that may legitimately be found in the same bytes because this format contains them
   * (a bootable ISO carries an MBR/GPT; a fixed VHD is a raw disk plus a footer).
   */
  contains?: FormatName[];
}

/** The bytes kept for the end-of-stream decision. */
export interface FinishedData {
  /** The first bytes of the stream (at most HEAD_BYTES). */
  head: Buffer;
  /** The last bytes of the stream (at most TAIL_BYTES; overlaps head for short streams). */
  tail: Buffer;
  totalBytes: number;
}
