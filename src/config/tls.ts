// TLS file options: each must name a readable file (checked at load, so a typo fails at start with
// the option's name), and the outbound ones form a TlsClientConfig.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './errors.ts';
import type { Settings } from './settings.ts';
import type { TlsClientConfig } from './types.ts';

/** The option's path, resolved against the working directory; undefined when unset or empty. */
export function readableFile(s: Settings, cwd: string, section: string, option: string): string | undefined {
  const value = s.optionalString(section, option);
  if (value === undefined || value === '') return undefined;
  const path = resolve(cwd, value);
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
  } catch (error) {
    throw new ConfigError(`[${section}] ${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { section, option });
  }
  return path;
}

/** One client's outbound TLS options, under that client's option names (undefined name = no such option). */
export function tlsClient(s: Settings, cwd: string, section: string,
  names: { ca: string; insecure?: string; cert?: string; key?: string }): TlsClientConfig {
  const file = (name: string | undefined) => (name === undefined ? undefined : readableFile(s, cwd, section, name));
  const certFile = file(names.cert);
  const keyFile = file(names.key);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? names.cert! : names.key!;
    throw new ConfigError(`[${section}] ${missing} must be set too: a client certificate needs both ${names.cert} and ${names.key}`,
      { section, option: missing });
  }
  return {
    caFile: file(names.ca),
    insecure: names.insecure === undefined ? false : s.boolean(section, names.insecure),
    ...(certFile !== undefined ? { certFile, keyFile } : {}),
  };
}
