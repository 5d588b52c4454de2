// sendfile(2) for downloads (issue 22; decision 0033): the optional binding in native/sendfile,
// loaded on first use. Without it (not built, not Linux, a worker thread, GLIMPSE_SENDFILE=0)
// sendFile is unavailable and downloads read the file into buffers (lib/file-range-stream.ts).
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { nativeAddonPath } from './native-addon.ts';

interface Binding {
  init(onReport: (id: number, errno: number, sent: number) => void): void;
  send(socketFd: number, fileFd: number, offset: number, length: number, idleMs: number): number;
  cancel(id: number): void;
}

/** What a finished transfer reports: the bytes sent, and an errno (0: no error) if it stopped early. */
export type SendReport = (errno: number, sent: number) => void;

const waiting = new Map<number, SendReport>();
let binding: Binding | null | undefined;

function load(): Binding | null {
  if (binding !== undefined) return binding;
  binding = null;
  // The sender thread reports to the thread that started it: the main one, where the HTTP server runs.
  if (process.env.GLIMPSE_SENDFILE === '0' || process.platform !== 'linux' || !isMainThread) return binding;
  const path = nativeAddonPath('sendfile');
  if (path === undefined) return binding;
  try {
    const loaded = createRequire(import.meta.url)(path) as Binding;
    loaded.init((id, errno, sent) => {
      const report = waiting.get(id);
      waiting.delete(id);
      report?.(errno, sent);
    });
    binding = loaded;
  } catch {
    binding = null;
  }
  return binding;
}

/** Whether sendFile can be used in this process. */
export function sendfileAvailable(): boolean {
  return load() !== null;
}

/**
 * Sends `length` bytes of the file `fileFd` from `offset` to the connected non-blocking socket
 * `socketFd` on the binding's thread; `report` is called once, on this thread, when it is done or
 * stopped. Nothing else may write to the socket until then. If the socket accepts no byte for
 * `idleMs` (0: no limit) the transfer stops with ETIMEDOUT. Returns a function that stops the
 * transfer (report then gets ECANCELED, unless it finished first). Throws if unavailable.
 */
export function sendFile(socketFd: number, fileFd: number, offset: number, length: number, idleMs: number, report: SendReport): () => void {
  const lib = load();
  if (lib === null) throw new Error('sendfile is not available');
  const id = lib.send(socketFd, fileFd, offset, length, idleMs);
  waiting.set(id, report);
  return () => {
    if (waiting.has(id)) lib.cancel(id);
  };
}
