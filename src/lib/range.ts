// Download byte ranges, decided the way Glance decides them (glance/common/wsgi.py
// get_range_from_request + webob.byterange + image_data.ResponseSerializer.download), so clients
// see the same 200/206/400/416 answers:
//
// - `Range` wins over `Content-Range` when both are sent. A comma anywhere in `Range` → 400.
// - `Range` follows webob's pattern /bytes *= *(\d*) *- *(\d*)/i, matched at the start of the value
//   (trailing text is ignored, as in webob): `bytes=a-b`, `bytes=a-`, `bytes=-n`.
//   b < a, no match, or start ≥ size → 416. b beyond the end is clamped. A suffix longer than the
//   image means the whole image (still 206). `bytes=-0` is `bytes=0-`, as in webob.
// - Legacy request `Content-Range` follows /bytes (?:(\d+)-(\d+)|[*])/(?:(\d+)|[*])/ (case-sensitive,
//   prefix match): `bytes a-b/*` (or `/len` with b < len) → 206 for a..b; b ≥ size or a ≥ size → 416.
//
// Where Glance 25.1 misbehaves we answer sensibly instead, and say so here:
// - `bytes=-` and `Content-Range: bytes */…` crash Glance (500); here they are 416 (invalid header).
// - `Content-Range: bytes a-b/len` with b ≥ size is served by Glance with a Content-Length longer
//   than the data it sends; here it is 416 like the `/*` form.
// - A suffix range on a 0-byte image gets `206` with `Content-Range: bytes 0--1/0` from Glance;
//   here it is a plain 200 with the (empty) image, which RFC 9110 allows (a server may ignore Range).
// A 0-byte image with no range is a plain 200 with Content-Length 0; with `bytes=0-` it is 416
// (start 0 is not < size 0), exactly as Glance.
import { msg, type Message } from '../i18n/message.ts';

export type RangeDecision =
  /** No range asked (or one that amounts to the whole, see above for the 0-byte case): 200. */
  | { kind: 'full' }
  /** 206 with bytes start..end (inclusive) and `Content-Range: bytes start-end/size`. */
  | { kind: 'partial'; start: number; end: number }
  /** 416; `message` is Glance's text, which Glance puts in the error's detail (not its explanation). */
  | { kind: 'unsatisfiable'; message: Message }
  /** 400; `message` is Glance's explanation. */
  | { kind: 'invalid-multi'; message: Message };

const rangePattern = /^bytes *= *([0-9]*) *- *([0-9]*)/i;
const contentRangePattern = /^bytes (?:([0-9]+)-([0-9]+)|[*])\/(?:([0-9]+)|[*])/;

/**
 * Decides a download's range from the request's `Range` and (legacy) `Content-Range` headers
 * for an image of `size` bytes. Undefined means the header is absent; an empty value is present.
 */
export function parseRange(rangeHeader: string | undefined, contentRangeHeader: string | undefined, size: number): RangeDecision {
  if (rangeHeader !== undefined) return fromRange(rangeHeader, size);
  if (contentRangeHeader !== undefined) return fromContentRange(contentRangeHeader, size);
  return { kind: 'full' };
}

/** The response header value for a partial answer. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

function fromRange(header: string, size: number): RangeDecision {
  if (header.includes(',')) {
    return { kind: 'invalid-multi', message: msg('Requests with multiple ranges are not supported in Glance. '
      + 'You may make multiple single-range requests instead.') };
  }
  const match = rangePattern.exec(header);
  const first = match?.[1] ?? '';
  const last = match?.[2] ?? '';
  if (!match || (first === '' && last === '')) return { kind: 'unsatisfiable', message: msg('Invalid Range header.') };
  const startPosition = () => ({ kind: 'unsatisfiable' as const,
    message: msg('Invalid start position in Range header. Start position MUST be in the inclusive range [0, {max}].',
      { max: size - 1 }) });

  if (first === '') {
    // Suffix: the last n bytes. webob turns `-0` into start 0, which then needs size > 0.
    const n = Number(last);
    if (n === 0) return size > 0 ? { kind: 'partial', start: 0, end: size - 1 } : startPosition();
    if (size === 0) return { kind: 'full' };
    return { kind: 'partial', start: n < size ? size - n : 0, end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'unsatisfiable', message: msg('Invalid Range header.') };
  if (start >= size) return startPosition();
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', start, end };
}

function fromContentRange(header: string, size: number): RangeDecision {
  const invalid = { kind: 'unsatisfiable' as const, message: msg('Invalid Content-Range header.') };
  const match = contentRangePattern.exec(header);
  if (!match || match[1] === undefined || match[2] === undefined) return invalid;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const length = match[3] === undefined ? undefined : Number(match[3]);
  // webob's validity rules for a Content-Range value.
  if (end < start || (length !== undefined && (end >= length || start >= length))) return invalid;
  const stopPosition = { kind: 'unsatisfiable' as const, message: msg('Invalid stop position in Content-Range header. '
    + 'The stop position MUST be in the inclusive range [0, {max}].', { max: size - 1 }) };
  const startPosition = { kind: 'unsatisfiable' as const, message: msg('Invalid start position in Content-Range header. '
    + 'Start position MUST be in the inclusive range [0, {max}].', { max: size - 1 }) };
  // Glance checks the stop position only for `/*`, then the start; with a length it checks the
  // start only (and then serves a short body). Same order and messages here, plus the stop check.
  if (length === undefined && end >= size) return stopPosition;
  if (start >= size) return startPosition;
  if (end >= size) return stopPosition;
  return { kind: 'partial', start, end };
}
