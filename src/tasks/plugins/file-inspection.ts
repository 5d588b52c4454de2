// Runs the streaming disk-format inspector (src/formats) over a local file: the same checks an
// upload gets, applied to data before and after qemu-img touches it.
import { createReadStream } from 'node:fs';

import { createInspector, type InspectionResult, type InspectorOptions } from '../../formats/index.ts';

export async function inspectFile(path: string, options: InspectorOptions, signal: AbortSignal): Promise<InspectionResult> {
  const inspector = createInspector(options);
  let total = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    inspector.update(chunk);
    total += chunk.length;
  }
  return inspector.finish(total);
}

/**
 * The format Glance's conversion plugin compares with disk_format: a GPT/MBR disk is raw, and a
 * stream several formats claim (or that the inspector failed on) has no format at all.
 */
export function comparableFormat(result: InspectionResult): string | null {
  if (result.format === 'ambiguous' || result.format === 'unknown') return null;
  return result.format === 'gpt' ? 'raw' : result.format;
}
