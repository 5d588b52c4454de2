// Loads an npm package on first use instead of at start-up. The server is one esbuild bundle whose
// static imports of packages are all evaluated when it starts, so a package only some deployments
// need (undici for remote stores and web-download, the AWS SDK for s3, the decompressors of one
// import plugin) would otherwise cost every process its memory (~20 MB each for undici and the
// AWS SDK). Use with `import type` for the types; the module is loaded once and shared.
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => (loading ??= load());
}

/** undici: remote stores (swift, http), the SSRF-safe fetcher, Keystone. */
export const undici = lazyImport(() => import('undici'));
