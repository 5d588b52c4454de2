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

/** The remote image of a glance-download, as checked with the caller's own token. */
export interface RemoteImage {
  /** Images API endpoint of the region (from the Keystone catalog). */
  endpoint: string;
  diskFormat: string | null;
  containerFormat: string | null;
  /** Properties copied to the local image ([glance_download_properties] extra_properties). */
  properties: Record<string, string>;
}

/** Another Glance (or Glimpse) region, reached through the Keystone service catalog. */
export interface RemoteGlance {
  /**
   * Finds the region's image endpoint in the caller's catalog and checks, with the caller's token,
   * that the image is active and the caller may download it. Rejects with the reason otherwise.
   */
  check(input: { userToken: string; region: string; serviceInterface: string; imageId: string }): Promise<RemoteImage>;
  /** The image data, read with Glimpse's service credentials (the caller's right was checked before). */
  openData(endpoint: string, imageId: string, signal: AbortSignal): Promise<Readable>;
}
