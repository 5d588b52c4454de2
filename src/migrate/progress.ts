// Progress of a migration: bars on a terminal (cli-progress), one line per step otherwise, so logs
// of a run under a scheduler stay readable. Writes to stderr; the report goes to stdout.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface Progress {
  /** Starts a phase of `total` units. */
  phase(name: string, total: number): { advance(n: number): void; done(): void };
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  if (quiet) return { phase: () => ({ advance: () => undefined, done: () => undefined }), stop: () => undefined };
  if (!stream.isTTY) {
    return {
      phase(name, total) {
        let doneSoFar = 0;
        return {
          advance(n) {
            doneSoFar += n;
            stream.write(`${name}: ${doneSoFar}/${total}\n`);
          },
          done() { /* the last advance said it */ },
        };
      },
      stop: () => undefined,
    };
  }
  const bars = new MultiBar({
    stream, clearOnComplete: false, hideCursor: true, etaBuffer: 50,
    format: '{phase} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}',
  }, Presets.shades_classic);
  return {
    phase(name, total) {
      const bar: SingleBar = bars.create(Math.max(total, 1), 0, { phase: name.padEnd(16) });
      return { advance: (n) => bar.increment(n), done: () => bar.update(Math.max(total, 1)) };
    },
    stop: () => bars.stop(),
  };
}
