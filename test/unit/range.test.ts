// Download ranges (src/lib/range.ts), case by case against Glance's behaviour (spec §5.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { contentRange, parseRange, type RangeDecision } from '../../src/lib/range.ts';
import { translate } from '../../src/i18n/catalogue.ts';

type Expect = 'full' | [number, number] | 416 | 400;

function check(range: string | undefined, contentRangeHeader: string | undefined, size: number, expected: Expect): RangeDecision {
  const decision = parseRange(range, contentRangeHeader, size);
  const label = `Range=${JSON.stringify(range)} Content-Range=${JSON.stringify(contentRangeHeader)} size=${size}`;
  if (expected === 'full') assert.deepEqual(decision, { kind: 'full' }, label);
  else if (expected === 416) assert.equal(decision.kind, 'unsatisfiable', label);
  else if (expected === 400) assert.equal(decision.kind, 'invalid-multi', label);
  else assert.deepEqual(decision, { kind: 'partial', start: expected[0], end: expected[1] }, label);
  return decision;
}

test('no range header → the whole image (200)', () => {
  check(undefined, undefined, 10, 'full');
  check(undefined, undefined, 0, 'full');
});

test('bytes=a-b → 206 a..b; an end past the image is clamped', () => {
  check('bytes=0-4', undefined, 10, [0, 4]);
  check('bytes=2-2', undefined, 10, [2, 2]);
  check('bytes=0-9', undefined, 10, [0, 9]);
  check('bytes=5-100', undefined, 10, [5, 9]);
  check('bytes=9-99999999999999999999999', undefined, 10, [9, 9]);
});

test('bytes=a- → from a to the end', () => {
  check('bytes=3-', undefined, 10, [3, 9]);
  check('bytes=0-', undefined, 10, [0, 9]);
  check('bytes=9-', undefined, 10, [9, 9]);
});

test('bytes=-n (suffix) → the last n bytes; a longer suffix means the whole image', () => {
  check('bytes=-2', undefined, 10, [8, 9]);
  check('bytes=-9', undefined, 10, [1, 9]);
  check('bytes=-10', undefined, 10, [0, 9]);
  check('bytes=-50', undefined, 10, [0, 9]);
  check('bytes=-0', undefined, 10, [0, 9]); // webob: -0 is start 0
});

test('start at or past the end → 416 with Glance\'s message', () => {
  const decision = check('bytes=10-', undefined, 10, 416);
  assert.equal(decision.kind === 'unsatisfiable' && translate(decision.message, undefined),
    'Invalid start position in Range header. Start position MUST be in the inclusive range [0, 9].');
  check('bytes=10-20', undefined, 10, 416);
  check('bytes=4-', undefined, 3, 416);
});

test('unparsable or inverted ranges → 416 "Invalid Range header."', () => {
  for (const header of ['bytes=5-2', 'bytes=', 'bytes=-', 'bytes=abc', 'items=0-4', 'bytes 0-4', '0-4', '', ' bytes=0-4', 'bytes=-x']) {
    const decision = check(header, undefined, 10, 416);
    assert.equal(decision.kind === 'unsatisfiable' && translate(decision.message, undefined), 'Invalid Range header.', header);
  }
});

test('webob\'s leniency is kept: case, spaces around = and -, trailing text', () => {
  check('Bytes=1-3', undefined, 10, [1, 3]);
  check('BYTES = 1 - 3', undefined, 10, [1, 3]);
  check('bytes=1-3;x', undefined, 10, [1, 3]);
  check('bytes=0004-0005', undefined, 10, [4, 5]);
});

test('several ranges → 400, before anything else is looked at', () => {
  const decision = check('bytes=0-1,3-4', undefined, 10, 400);
  assert.equal(decision.kind === 'invalid-multi' && translate(decision.message, undefined),
    'Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead.');
  check('bytes=0-1, 3-4', undefined, 0, 400);
  check('garbage,', undefined, 10, 400);
});

test('legacy Content-Range request header: bytes a-b/* → 206', () => {
  check(undefined, 'bytes 2-5/*', 10, [2, 5]);
  check(undefined, 'bytes 0-9/*', 10, [0, 9]);
  check(undefined, 'bytes 2-5/10', 10, [2, 5]);
  check(undefined, 'bytes 2-5/*trailing', 10, [2, 5]);
});

test('legacy Content-Range: invalid, past the end, or inverted → 416', () => {
  const stop = check(undefined, 'bytes 2-10/*', 10, 416);
  assert.equal(stop.kind === 'unsatisfiable' && translate(stop.message, undefined),
    'Invalid stop position in Content-Range header. The stop position MUST be in the inclusive range [0, 9].');
  const start = check(undefined, 'bytes 12-13/20', 10, 416);
  assert.equal(start.kind === 'unsatisfiable' && translate(start.message, undefined),
    'Invalid start position in Content-Range header. Start position MUST be in the inclusive range [0, 9].');
  check(undefined, 'bytes 2-15/20', 10, 416); // Glance would send a short body here
  for (const header of ['bytes 5-2/*', 'bytes */*', 'bytes */10', 'bytes=0-4', 'Bytes 0-4/*', 'bytes 0-4/3', 'bytes 0-4', '']) {
    const decision = check(undefined, header, 10, 416);
    assert.equal(decision.kind === 'unsatisfiable' && translate(decision.message, undefined), 'Invalid Content-Range header.', header);
  }
});

test('Range wins over Content-Range when both are sent', () => {
  check('bytes=0-1', 'bytes 5-6/*', 10, [0, 1]);
  check('bytes=20-', 'bytes 5-6/*', 10, 416);
});

test('0-byte image: plain GET is 200 (Content-Length 0); a range starting at 0 is 416', () => {
  check(undefined, undefined, 0, 'full');
  check('bytes=0-', undefined, 0, 416);
  check('bytes=0-0', undefined, 0, 416);
  check('bytes=-0', undefined, 0, 416);
  check(undefined, 'bytes 0-0/*', 0, 416);
  // Glance answers 206 "bytes 0--1/0" here; a plain 200 with the empty image is the sane equivalent.
  check('bytes=-5', undefined, 0, 'full');
});

test('messages carry the last valid position, translated', () => {
  const decision = parseRange('bytes=3-', undefined, 3);
  assert.equal(decision.kind, 'unsatisfiable');
  if (decision.kind === 'unsatisfiable') {
    assert.deepEqual(decision.message.params, { max: 2 });
    assert.match(translate(decision.message, 'zh_CN'), /\[0, 2\]/);
  }
});

test('contentRange formats the response header', () => {
  assert.equal(contentRange(0, 4, 10), 'bytes 0-4/10');
});
