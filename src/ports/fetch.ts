// Fetching image data from a URL given by a caller (web-download, the legacy tasks API import,
// glance-download). The implementation must refuse what `[import_filtering_opts]` and the
// SSRF rules deny — on the URL, on the resolved address and on every redirect — and bound size and time.
import type { Readable } from 'node:stream';

export interface FetchedData {
  stream: Readable;
  /** Content-Length, when the server sent one. */
  size?: number;
}

export interface RemoteFetcher {
  /**
   * Whether `url` passes the import filters without connecting (scheme, host, port, encoded
   * addresses); the API answers 400 when it does not. Resolution-time checks happen in open().
   */
  allows(url: string): boolean;
  /** Opens the URL (following checked redirects); rejects when refused or unreachable. */
  open(url: string, options: { signal?: AbortSignal; maxBytes?: number; headers?: Record<string, string> }): Promise<FetchedData>;
}
