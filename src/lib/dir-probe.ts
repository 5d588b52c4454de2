// Whether a process can create files in a directory, in an operator's words when it cannot:
// the start-up check and the file store's probe (healthcheck) share it.
import { randomBytes } from 'node:crypto';
import { constants, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface DirProbe {
  reachable: boolean;
  writable: boolean;
  reason?: string;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An operator's sentence for why `dir` cannot take files (it names the path: for logs, never clients). */
export function describeDirProblem(dir: string, error: unknown): string {
  switch (errnoOf(error)) {
    case 'ENOTDIR': case 'EEXIST': return `${dir} is not a directory (it, or a folder above it, is a file)`;
    case 'EACCES': case 'EPERM': return `${dir} is not writable by this process (permission denied)`;
    case 'EROFS': return `${dir} is on a read-only file system`;
    case 'ENOSPC': case 'EDQUOT': return `${dir} has no space left`;
    default: return `${dir} cannot be written: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Whether files can be created in `dir` (made if missing): one is created and removed again. */
export async function probeDirectory(dir: string): Promise<DirProbe> {
  const probePath = join(dir, `.glimpse-probe-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await (await open(probePath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)).close();
    await unlink(probePath);
    return { reachable: true, writable: true };
  } catch (error) {
    return { reachable: true, writable: false, reason: describeDirProblem(dir, error) };
  }
}
