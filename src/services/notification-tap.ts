// Counts the bytes of a response body for image.send, reporting once the body was read to its end
// (not when the client went away first: Glance sends image.send only after the last chunk).
// A stream that counts what it delivers itself (the file store's and the cache's FileRangeStream,
// whose bytes may go to the socket by sendfile without passing through any stream) is returned as
// it is and asked for its count at its end: no pass-through per chunk, and the HTTP route still
// sees the store's stream (decision 0033).
import { PassThrough, pipeline, type Readable } from 'node:stream';

import { countsDelivered } from '../lib/file-range-stream.ts';

export function countingTap(source: Readable, onEnd: (bytes: number) => void): Readable {
  if (countsDelivered(source)) {
    source.once('end', () => onEnd(source.bytesDelivered));
    return source;
  }
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
