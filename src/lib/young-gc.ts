// A young-generation collection on demand, for code that knows it has just dropped a lot of
// short-lived buffers. An upload receives its body as fresh 64 KiB Buffers (one per socket read),
// dropped as soon as they are written; V8 frees their memory only when a collection finds them
// dead, and a scavenge comes only when the young generation's small JS objects fill it. Before
// that, their external memory makes V8 start full mark-compacts (tens of ms each, several per GiB)
// while RSS carries tens of MB of dead request bodies. A minor collection every few MiB of upload
// (a fraction of a millisecond each) costs less CPU than those and keeps RSS flat (decision 0014).
// V8's gc() is reached as a `--expose-gc` flag set at run time and taken from a fresh context, so
// no global `gc` appears in the application's own context.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let gc: Gc | null | undefined;

function v8Gc(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Runs a minor (scavenge) collection; does nothing where V8's gc() cannot be had. */
export function collectYoungGarbage(): void {
  v8Gc()?.({ type: 'minor' });
}

/**
 * Runs a full (mark-compact) collection; does nothing where V8's gc() cannot be had. For a process
 * that has gone quiet (lib/idle-reclaim.ts): V8 collects only when JavaScript allocates, so after a
 * burst of load the old generation's emptied pages stay committed until the next burst.
 */
export function collectAllGarbage(): void {
  v8Gc()?.({ type: 'major', execution: 'sync' });
}
