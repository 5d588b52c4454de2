// Runs an external tool (qemu-img) under resource limits: prlimit(1) caps its address space, CPU
// seconds and largest file it may write, a wall-clock timer and the caller's AbortSignal kill it,
// and its output is read up to a bound (or goes straight to a file descriptor the caller gives). The environment is reduced to PATH and LC_ALL=C.
import { spawn } from 'node:child_process';

export interface ProcessLimits {
  /** RLIMIT_AS in bytes. */
  addressSpace: number;
  /** RLIMIT_CPU in seconds. */
  cpuSeconds: number;
  /** RLIMIT_FSIZE in bytes (largest file the process may write); absent = unlimited. */
  fileSize?: number;
  /** Wall-clock limit in milliseconds. */
  timeoutMs: number;
}

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The wall-clock limit ended it. */
  timedOut: boolean;
}

const MAX_OUTPUT = 1024 * 1024;

/** Resolves with how the process ended (never rejects for a non-zero exit); rejects if it cannot start or on abort. */
export function runLimited(command: string, args: readonly string[], limits: ProcessLimits, signal: AbortSignal,
  io: { stdin?: number; stdout?: number } = {}): Promise<ProcessOutcome> {
  const prlimitArgs = [`--as=${limits.addressSpace}`, `--cpu=${limits.cpuSeconds}`];
  if (limits.fileSize !== undefined) prlimitArgs.push(`--fsize=${limits.fileSize}`);
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn('prlimit', [...prlimitArgs, '--', command, ...args], {
      stdio: [io.stdin ?? 'ignore', io.stdout ?? 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const take = (current: string, chunk: Buffer) => (current.length >= MAX_OUTPUT ? current : current + chunk.toString('utf8'));
    child.stdout?.on('data', (chunk: Buffer) => { stdout = take(stdout, chunk); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr = take(stderr, chunk); });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limits.timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('close', (code, sig) => {
      done();
      if (signal.aborted) reject(signal.reason ?? new Error('aborted'));
      else resolve({ code, signal: sig, stdout, stderr, timedOut });
    });
  });
}
