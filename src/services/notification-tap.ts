// Counts the bytes of a response body for image.send, reporting once the body was read to its end
// (not when the client went away first: Glance sends image.send only after the last chunk).
import { PassThrough, pipeline, type Readable } from 'node:stream';

export function countingTap(source: Readable, onEnd: (bytes: number) => void): Readable {
  let bytes = 0;
  const tap = new PassThrough({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      onEnd(bytes);
      callback();
    },
  });
  pipeline(source, tap, () => undefined);
  return tap;
}
