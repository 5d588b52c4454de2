// `image_decompression`: when the imported data starts with a compression's magic bytes, replaces
// it with its decompressed content and updates the image size, as Glance does
// (glance/async_/flows/plugins/image_decompression.py): container_format `compressed` is left
// alone (the image is meant to stay compressed), a zip archive must hold exactly one file, and
// anything unrecognised passes through unchanged. Glimpse adds bzip2, xz and zstd, bounds the
// output by image_size_cap, and has no LHA decoder (Glance needs the optional lhafile module for it).
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { msg } from '../../i18n/message.ts';
import {
  MAGIC_BYTES, TooLargeError, UnsupportedArchiveError, decompressFile, detectCompression,
} from './decompressors.ts';
import { ZSTD_MAX_WINDOW, ZstdFrameError } from './zstd-guard.ts';
import { ImportPluginError, type ImportPlugin, type PluginInput, type PluginResult } from './types.ts';

export interface DecompressionSettings {
  /** Largest decompressed output accepted (image_size_cap). */
  maxBytes: number;
  /** Time limit for one decompression, in seconds. */
  timeoutSeconds: number;
}

const NAME = 'image_decompression';

export function imageDecompressionPlugin(settings: DecompressionSettings): ImportPlugin {
  return { name: NAME, run: (input) => decompress(settings, input) };
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await file.read(head, 0, MAGIC_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

async function decompress(settings: DecompressionSettings, input: PluginInput): Promise<PluginResult> {
  const { image, log, signal } = input;
  if (image.containerFormat === 'compressed') return {};
  const kind = detectCompression(await readHead(input.filePath));
  if (kind === null) return {};
  const dest = join(input.workDir, 'decompressed');
  const timer = AbortSignal.timeout(settings.timeoutSeconds * 1000);
  try {
    const size = await decompressFile(kind, input.filePath, dest, {
      maxBytes: settings.maxBytes, timeoutSeconds: settings.timeoutSeconds, signal: AbortSignal.any([signal, timer]),
    });
    log.info({ image_id: image.id, compression: kind, size }, 'image_decompression: decompressed');
    return { filePath: dest, attributes: { size } };
  } catch (err) {
    await rm(dest, { force: true });
    if (signal.aborted) throw err;
    if (err instanceof TooLargeError) {
      throw new ImportPluginError(NAME, 'too_large',
        msg('Decompressed image data exceeds the size limit of {limit} bytes.', { limit: err.limit }), { kind: 'PayloadTooLarge' });
    }
    if (err instanceof UnsupportedArchiveError) {
      const detail = err.reason === 'lha' ? msg('LHA archives are not supported.')
        : err.reason === 'encrypted' ? msg('Encrypted archives are not supported.')
          : msg('Only a zip archive holding exactly one file can be imported.');
      throw new ImportPluginError(NAME, 'unsupported_archive', detail, { logDetail: err.message });
    }
    if (err instanceof ZstdFrameError && err.tooLarge) {
      throw new ImportPluginError(NAME, 'zstd_window', msg('The zstd data needs a decoding window larger than {limit} bytes.',
        { limit: ZSTD_MAX_WINDOW }), { logDetail: err.message });
    }
    const reason = timer.aborted ? 'timed out' : err instanceof Error ? err.message : String(err);
    throw new ImportPluginError(NAME, 'corrupt',
      msg('The image data could not be decompressed as {format}.', { format: kind }), { logDetail: reason, cause: err });
  }
}
