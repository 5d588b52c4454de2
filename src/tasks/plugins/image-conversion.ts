// `image_conversion`: converts imported data to `[image_conversion] output_format` with qemu-img,
// in Glance's order (glance/async_/flows/plugins/image_conversion.py):
//   1. the format inspector must pass the data (safety checks) and find the declared disk_format
//      (GPT/MBR counts as raw; an ISO is left as it is when declared iso, refused otherwise);
//   2. `qemu-img info -f <declared>` (limited like Glance's) must agree on the format and report no
//      backing file, no data file and an allowed VMDK create-type; its virtual-size is kept;
//   3. nothing to do when the data is already in the output format;
//   4. `qemu-img convert -f <declared> -O <output>` under CPU, memory, file-size and time limits;
//   5. the inspector must pass the output and find the output format in it (a format hidden
//      inside another is refused);
//   6. disk_format, container_format (bare), size and virtual_size follow the converted data.
// Glimpse also refuses data whose virtual size exceeds image_size_cap before converting (the
// converted image could not be stored anyway), and maps vhd to qemu's `vpc` driver.
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { InspectorOptions } from '../../formats/index.ts';
import { msg } from '../../i18n/message.ts';
import { comparableFormat, inspectFile } from './file-inspection.ts';
import { INFO_LIMITS, QemuImgError, qemuDriverFor, qemuImgConvert, qemuImgInfo, type QemuImageInfo } from './qemu-img.ts';
import { ImportPluginError, type ImportPlugin, type PluginInput, type PluginResult } from './types.ts';

export interface ConversionSettings {
  outputFormat: string;
  timeoutSeconds: number;
  imageSizeCap: number;
  inspection: InspectorOptions;
}

const NAME = 'image_conversion';

const fail = (code: string, detail: ReturnType<typeof msg>, logDetail?: string, kind?: 'PayloadTooLarge' | 'ServiceUnavailable') =>
  new ImportPluginError(NAME, code, detail, { logDetail, kind });

export function imageConversionPlugin(settings: ConversionSettings): ImportPlugin {
  return { name: NAME, run: (input) => convert(settings, input) };
}

async function convert(settings: ConversionSettings, input: PluginInput): Promise<PluginResult> {
  const { image, filePath, signal, log } = input;
  const declared = image.diskFormat ?? '';
  const target = settings.outputFormat;
  const detected = await inspectOrFail(filePath, settings.inspection, signal, 'source');
  if (detected === 'iso') {
    if (declared === 'iso') {
      log.debug({ image_id: image.id }, 'image_conversion: iso images are not converted');
      return {};
    }
    throw fail('disallowed', msg('Image has disallowed configuration.'), `declared ${declared}, inspector found an ISO`);
  }
  if (detected !== declared) {
    throw fail('format_mismatch', msg('Image disk_format {declared} does not match the data, which is {detected}.',
      { declared, detected }));
  }
  const sourceDriver = qemuDriverFor(declared);
  const targetDriver = qemuDriverFor(target);
  if (sourceDriver === undefined || targetDriver === undefined) {
    throw fail('unsupported', msg('Images of disk_format {format} cannot be converted.', { format: declared }));
  }

  const info = await qemu(() => qemuImgInfo(filePath, sourceDriver, signal));
  const virtualSize = checkInfo(info, sourceDriver, settings.inspection.vmdkAllowedTypes);
  if (virtualSize > settings.imageSizeCap) {
    throw fail('too_large', msg('Image virtual size {size} exceeds the size limit of {limit} bytes.',
      { size: virtualSize, limit: settings.imageSizeCap }), undefined, 'PayloadTooLarge');
  }
  if (declared === target) {
    log.debug({ image_id: image.id, format: target }, 'image_conversion: already in the output format');
    return { attributes: { virtualSize } };
  }

  const dest = join(input.workDir, `converted.${target}`);
  try {
    await qemu(() => qemuImgConvert(filePath, sourceDriver, dest, targetDriver, {
      addressSpace: INFO_LIMITS.addressSpace,
      cpuSeconds: settings.timeoutSeconds,
      fileSize: settings.imageSizeCap,
      timeoutMs: settings.timeoutSeconds * 1000,
    }, signal));
    const produced = await inspectOrFail(dest, settings.inspection, signal, 'output');
    if (produced !== target) {
      throw fail('unexpected_output', msg('The converted image is not in the expected format {format}.', { format: target }),
        `inspector found ${produced} after converting ${declared} to ${target}`);
    }
    const size = (await stat(dest)).size;
    if (size > settings.imageSizeCap) {
      throw fail('too_large', msg('Image exceeds the size limit of {limit} bytes.', { limit: settings.imageSizeCap }),
        undefined, 'PayloadTooLarge');
    }
    log.info({ image_id: image.id, disk_format: target, size }, 'image_conversion: converted');
    return { filePath: dest, attributes: { diskFormat: target, containerFormat: 'bare', size, virtualSize } };
  } catch (err) {
    await rm(dest, { force: true });
    throw err;
  }
}

/** Runs the inspector; the format to compare with disk_format, or a refusal. */
async function inspectOrFail(path: string, options: InspectorOptions, signal: AbortSignal, which: string): Promise<string> {
  const result = await inspectFile(path, options, signal);
  const format = comparableFormat(result);
  if (format === null) {
    throw fail('format_detection', msg('Image format detection failed.'),
      `${which}: ${result.inspectionError ?? `several formats: ${result.candidates.join(', ')}`}`);
  }
  if (result.safetyFailures.length > 0) {
    throw fail('disallowed', msg('Image has disallowed configuration.'),
      `${which} (${result.format}): ${JSON.stringify(result.safetyDetails)}`);
  }
  return format;
}

/** Glance's checks of `qemu-img info`; the virtual size. */
function checkInfo(info: QemuImageInfo, driver: string, vmdkAllowedTypes: readonly string[]): number {
  if (info.format !== driver) {
    throw fail('format_disagreement', msg('Image metadata disagrees about the format.'),
      `qemu-img reports ${String(info.format)}, expected ${driver}`);
  }
  if (info['backing-filename'] !== undefined || info['full-backing-filename'] !== undefined) {
    throw fail('backing_file', msg('Images with a backing file are not allowed.'));
  }
  if (info['format-specific']?.data?.['data-file'] !== undefined) {
    throw fail('data_file', msg('Images with an external data file are not allowed.'));
  }
  if (info.format === 'vmdk') {
    const createType = info['format-specific']?.data?.['create-type'];
    const allowed = vmdkAllowedTypes.map((t) => t.toLowerCase());
    if (!createType || !allowed.includes(createType.toLowerCase())) {
      throw fail('vmdk_create_type', msg('VMDK create-type {type} is not allowed.', { type: createType ?? '(none)' }));
    }
  }
  const size = info['virtual-size'];
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : 0;
}

/** qemu-img problems as plugin errors: a missing tool is the server's fault, the rest the data's. */
async function qemu<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof QemuImgError)) throw err;
    if (err.missing) {
      throw fail('unavailable', msg('Image conversion is not available on this server.'), err.message, 'ServiceUnavailable');
    }
    throw fail('qemu_img', msg('Image conversion failed.'), err.message);
  }
}
