// ExternalSource over the SSRF-safe fetcher (src/net/): v1 locations and copy-from read http(s)
// URLs only through it, so every URL, redirect hop and resolved address passes
// [import_filtering_opts] and the private/loopback/link-local refusal.
import { FetchFailed, FetchRefused, type SafeFetcher } from './index.ts';
import { ExternalSourceError, type ExternalSource } from '../ports/external-source.ts';

function translate(error: unknown, url: string): unknown {
  if (error instanceof FetchRefused) return new ExternalSourceError('refused', url, error.message, { cause: error });
  if (error instanceof FetchFailed) {
    const missing = error.reason === 'http_status' && (error.status === 404 || error.status === 410);
    return new ExternalSourceError(missing ? 'not_found' : 'failed', url, error.message, { cause: error });
  }
  return error;
}

export class SafeUrlSource implements ExternalSource {
  readonly schemes = ['http', 'https'] as const;

  constructor(private readonly fetcher: SafeFetcher) {}

  async size(url: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      const res = await this.fetcher.fetch(url, { method: 'HEAD', maxBytes: Number.POSITIVE_INFINITY, signal });
      res.body.destroy();
      return res.contentLength;
    } catch (error) {
      throw translate(error, url);
    }
  }

  async open(url: string, options: { maxBytes: number; signal?: AbortSignal }) {
    try {
      const res = await this.fetcher.fetch(url, { maxBytes: options.maxBytes, signal: options.signal });
      return { stream: res.body, size: res.contentLength };
    } catch (error) {
      throw translate(error, url);
    }
  }
}
