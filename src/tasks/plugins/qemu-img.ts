// qemu-img, always told the format (`-f`, never probed), always under resource limits, always on
// absolute paths (a relative name with a colon could be read as a protocol such as `nbd:` or `json:`).
import { isAbsolute } from 'node:path';

import { runLimited, type ProcessLimits, type ProcessOutcome } from './limited-process.ts';

const GiB = 1024 ** 3;

/** Glance's QEMU_IMG_PROC_LIMITS for `qemu-img info` (glance/async_/utils.py), plus a wall-clock bound. */
export const INFO_LIMITS: ProcessLimits = { addressSpace: 1 * GiB, cpuSeconds: 2, timeoutMs: 30_000 };

/** Glance disk_format → qemu block driver name (qemu calls VHD `vpc`). */
const QEMU_DRIVERS: Readonly<Record<string, string>> = {
  raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vhd: 'vpc', vhdx: 'vhdx', vdi: 'vdi',
};

export function qemuDriverFor(diskFormat: string): string | undefined {
  return QEMU_DRIVERS[diskFormat];
}

/** The parts of `qemu-img info --output=json` the conversion plugin reads. */
export interface QemuImageInfo {
  format?: string;
  'virtual-size'?: number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'format-specific'?: { type?: string; data?: { 'data-file'?: string; 'create-type'?: string } };
}

export class QemuImgError extends Error {
  /** `missing`: prlimit or qemu-img is not installed (the server's problem, not the data's). */
  constructor(message: string, readonly outcome?: ProcessOutcome, readonly missing = false) {
    super(message);
    this.name = 'QemuImgError';
  }
}

function assertAbsolute(...paths: string[]): void {
  for (const p of paths) if (!isAbsolute(p)) throw new Error(`qemu-img path must be absolute: ${p}`);
}

/** Fails on a non-zero exit, a signal, a timeout or anything on stderr (as Glance does). */
async function run(args: string[], limits: ProcessLimits, signal: AbortSignal): Promise<string> {
  let outcome: ProcessOutcome;
  try {
    outcome = await runLimited('qemu-img', args, limits, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new QemuImgError('prlimit is not installed', undefined, true);
    throw err;
  }
  // prlimit exits 127 when it cannot execute the tool.
  if (outcome.code === 127 && /failed to execute/.test(outcome.stderr)) throw new QemuImgError('qemu-img is not installed', outcome, true);
  if (outcome.timedOut) throw new QemuImgError(`qemu-img ${args[0]} timed out after ${limits.timeoutMs} ms`, outcome);
  if (outcome.signal !== null) throw new QemuImgError(`qemu-img ${args[0]} was killed by ${outcome.signal} (resource limit)`, outcome);
  if (outcome.code !== 0) {
    throw new QemuImgError(`qemu-img ${args[0]} exited with ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`, outcome);
  }
  if (outcome.stderr.trim() !== '') throw new QemuImgError(`qemu-img ${args[0]}: ${outcome.stderr.trim().slice(0, 500)}`, outcome);
  return outcome.stdout;
}

export async function qemuImgInfo(path: string, driver: string, signal: AbortSignal): Promise<QemuImageInfo> {
  assertAbsolute(path);
  const stdout = await run(['info', '-f', driver, '--output=json', path], INFO_LIMITS, signal);
  try {
    return JSON.parse(stdout) as QemuImageInfo;
  } catch {
    throw new QemuImgError('qemu-img info printed something that is not JSON');
  }
}

export async function qemuImgConvert(source: string, sourceDriver: string, dest: string, destDriver: string,
  limits: ProcessLimits, signal: AbortSignal): Promise<void> {
  assertAbsolute(source, dest);
  await run(['convert', '-f', sourceDriver, '-O', destDriver, source, dest], limits, signal);
}
