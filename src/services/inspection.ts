// Format inspection as the services apply it, on plain uploads, staging and every import: a
// chunk consumer of the store writer that shows each chunk to the streaming inspector, and the verdict on what it saw
// (require_image_format_match and the detected format's safety checks) as a DomainError.
import type { ChunkConsumer } from '../lib/streams.ts';
import { DomainError } from '../domain/errors.ts';
import { createInspector, judgeUpload, type InspectionResult } from '../formats/index.ts';
import { msg } from '../i18n/message.ts';
import type { ImageSettings } from './settings.ts';

export type InspectionSettings = ImageSettings['inspection'];

export interface InspectingTap {
  /** For writeImageData's `consumers`: sees every accepted chunk in the writer's one pass (no stream stage of its own). */
  readonly consumer: ChunkConsumer;
  finish(size: number): InspectionResult;
}

/** Shows every chunk of an upload to the format inspector (bounded memory), as one of the writer's chunk consumers. */
export function inspectingTap(settings: InspectionSettings): InspectingTap {
  const inspector = createInspector({
    vmdkAllowedTypes: settings.vmdkAllowedTypes, gptSafetyChecksNonfatal: settings.gptSafetyChecksNonfatal,
  });
  return {
    consumer: { update: (chunk: Buffer) => inspector.update(chunk) },
    finish: (size: number) => inspector.finish(size),
  };
}

export type InspectionVerdict =
  | { ok: true; virtualSize: number | null; mismatchIgnored: boolean }
  | { ok: false; error: DomainError; reason: string; failures: string[] };

/**
 * Applies require_image_format_match and the detected format's safety checks to data declared
 * `diskFormat` (null: not declared yet, as when staging — then only the safety checks apply).
 */
export function judgeInspection(diskFormat: string | null, result: InspectionResult,
  settings: InspectionSettings): InspectionVerdict {
  if (diskFormat === null) {
    if (result.safetyFailures.length === 0) return { ok: true, virtualSize: null, mismatchIgnored: false };
    return { ok: false, reason: 'unsafe', failures: [...result.safetyFailures], error: unsafeError(result.safetyFailures) };
  }
  const verdict = judgeUpload(diskFormat, result, { requireFormatMatch: settings.requireFormatMatch });
  if (verdict.ok) return { ok: true, virtualSize: verdict.virtualSize, mismatchIgnored: verdict.mismatchIgnored };
  if (verdict.reason === 'format_mismatch') {
    return {
      ok: false, reason: verdict.reason, failures: [],
      error: new DomainError('UnsupportedMediaType', 'image.format_mismatch',
        msg('Image disk_format {declared} does not match the data, which is {detected}.',
          { declared: diskFormat, detected: result.format })),
    };
  }
  return { ok: false, reason: verdict.reason, failures: verdict.failures, error: unsafeError(verdict.failures) };
}

function unsafeError(failures: readonly string[]): DomainError {
  return new DomainError('UnsupportedMediaType', 'image.unsafe',
    msg('Image failed safety checks: {checks}.', { checks: failures.join(', ') }));
}
