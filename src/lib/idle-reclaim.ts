// Memory back to the system when a server goes quiet (issue 13; decision 0027). V8 collects only
// when JavaScript allocates: after a burst of requests the old generation keeps the pages the burst
// filled and emptied (10–30 MB after a minute of mixed load), because no allocation comes to start
// the collection that would free them. One full collection once the server has answered everything
// and seen no new request for `quietMs` gives them back; it costs a few milliseconds per quiet
// period, never during load (a request arriving before the timer fires postpones it).
import type { Server } from 'node:http';

import { collectAllGarbage } from './young-gc.ts';

export interface IdleReclaimOptions {
  /** Quiet time (no request in flight, none arrived) before the collection, milliseconds. */
  quietMs: number;
  /** The collection to run (default: a full V8 collection); for tests. */
  collect?: () => void;
}

/**
 * Watches `server`'s requests and runs one full collection each time it has been quiet for
 * `quietMs` after handling at least one request. Per request this costs two counter updates and a
 * 'close' listener; the one timer is armed only when the last request in flight ends and no timer
 * runs. Returns a function that stops watching.
 */
export function reclaimWhenIdle(server: Server, options: IdleReclaimOptions): () => void {
  const collect = options.collect ?? collectAllGarbage;
  let inFlight = 0;
  /** Requests seen so far; a timer whose snapshot differs knows the server was not quiet. */
  let seen = 0;
  /** A collection is due: requests were handled since the last one. */
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let seenAtArm = 0;

  const arm = () => {
    seenAtArm = seen;
    timer = setTimeout(fire, options.quietMs);
    timer.unref();
  };
  const fire = () => {
    timer = undefined;
    if (inFlight > 0) return; // the last request to end arms it again
    if (seen !== seenAtArm) {
      arm();
      return;
    }
    dirty = false;
    collect();
  };
  const ended = () => {
    inFlight--;
    if (inFlight === 0 && dirty && timer === undefined) arm();
  };
  const onRequest = (_request: unknown, response: { once(event: 'close', listener: () => void): unknown }) => {
    inFlight++;
    seen++;
    dirty = true;
    response.once('close', ended);
  };
  server.on('request', onRequest);
  return () => {
    server.off('request', onRequest);
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}
