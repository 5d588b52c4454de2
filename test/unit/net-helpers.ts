// Shared by the net-*.test.ts files.
import type { ImportFilteringConfig } from '../../src/config/types.ts';

/** [import_filtering_opts] with Glance's defaults and short Glimpse timeouts, overridden by `over`. */
export function policy(over: Partial<ImportFilteringConfig> = {}): ImportFilteringConfig {
  return {
    allowedSchemes: ['http', 'https'], disallowedSchemes: [], allowedHosts: [], disallowedHosts: [],
    allowedPorts: [80, 443], disallowedPorts: [], maxRedirects: 5, connectTimeoutMs: 2000, readTimeoutMs: 2000,
    totalTimeoutMs: 0, ...over,
  };
}
