// Reading image data from a URL outside Glimpse's stores: v1's x-image-meta-location (data served
// from there later) and x-glance-api-copy-from (data copied into a store). The implementation must
// apply the outbound-request protections (resolve, refuse loopback/link-local/private targets unless
// configured, re-check every redirect); services only see the outcome.
import type { Readable } from 'node:stream';

export type ExternalFailure =
  /** Glimpse's rules refuse the URL, a redirect target or a resolved address. */
  | 'refused'
  /** The source answered that the data does not exist (404/410). */
  | 'not_found'
  /** Network failure, timeout, another HTTP status, or too much data. */
  | 'failed';

export class ExternalSourceError extends Error {
  override readonly name = 'ExternalSourceError';
  constructor(readonly failure: ExternalFailure, readonly url: string, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
  }
}

export interface ExternalSource {
  /** URL schemes this source reads (e.g. http, https). */
  readonly schemes: readonly string[];
  /** The size of the data at `url` when the source tells it. Throws ExternalSourceError. */
  size(url: string, signal?: AbortSignal): Promise<number | undefined>;
  /** The data at `url`, at most `maxBytes` of it. Throws ExternalSourceError. */
  open(url: string, options: { maxBytes: number; signal?: AbortSignal }): Promise<{ stream: Readable; size?: number }>;
}
