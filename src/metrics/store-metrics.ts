// The metrics decorator of the StoreDriver port (DESIGN.md: decorators only for uniform concerns on
// ports): bytes in and out, transfers in flight and failed operations, per store. A Proxy, so the
// driver keeps its own class and extra methods (the registry's recovery and close find them).
import { Transform, pipeline, type Readable } from 'node:stream';

import type { StoreDriver } from '../ports/store.ts';
import type { GlimpseMetrics } from './registry.ts';

type Operation = 'put' | 'get' | 'delete' | 'size';

export function instrumentStore(driver: StoreDriver, metrics: GlimpseMetrics): StoreDriver {
  const store = driver.id;
  const failed = (operation: Operation) => (error: unknown): never => {
    const kind = (error as { kind?: unknown; name?: unknown } | null);
    metrics.storeErrors.inc({ store, operation,
      kind: typeof kind?.kind === 'string' ? kind.kind : typeof kind?.name === 'string' ? kind.name : 'Error' });
    throw error;
  };
  const put: StoreDriver['put'] = async (imageId, source, options) => {
    metrics.inFlight.inc({ store, direction: 'in' });
    try {
      const result = await driver.put(imageId, source, options).catch(failed('put'));
      metrics.storeBytes.inc({ store, direction: 'in' }, result.bytesWritten);
      return result;
    } finally {
      metrics.inFlight.dec({ store, direction: 'in' });
    }
  };
  const get: StoreDriver['get'] = async (location, options) => {
    const result = await driver.get(location, options).catch(failed('get'));
    return { ...result, stream: counted(result.stream, store, metrics) };
  };
  const wrapped: Partial<StoreDriver> = {
    put, get,
    delete: (location) => driver.delete(location).catch(failed('delete')),
    size: (location) => driver.size(location).catch(failed('size')),
  };
  return new Proxy(driver, {
    get(target, property, receiver) {
      return Object.hasOwn(wrapped, property) ? wrapped[property as keyof StoreDriver] : Reflect.get(target, property, receiver);
    },
  });
}

/** The read stream, counted as it is consumed (a counting pass-through; errors and early closes travel both ways). */
function counted(stream: Readable, store: string, metrics: GlimpseMetrics): Readable {
  metrics.inFlight.inc({ store, direction: 'out' });
  const counter = new Transform({
    highWaterMark: stream.readableHighWaterMark,
    transform(chunk: Buffer, _encoding, callback) {
      metrics.storeBytes.inc({ store, direction: 'out' }, chunk.length);
      callback(null, chunk);
    },
  });
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    metrics.inFlight.dec({ store, direction: 'out' });
  };
  counter.once('close', finish);
  pipeline(stream, counter, finish);
  return counter;
}
