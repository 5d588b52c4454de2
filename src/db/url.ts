// SQLAlchemy-style database URLs (the `[database] connection` option of glance-api.conf), parsed
// into the settings each driver needs. Operators copy these URLs from Glance, so the driver
// suffixes (`+pymysql`, `+psycopg2`) and common query parameters are accepted and mapped or ignored.
//
// Contract: parse errors are plain Errors whose message never contains the password; use
// redactUrl() whenever a URL is shown in a message or a log line.
import { isAbsolute, resolve } from 'node:path';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** `file` is an absolute path, or ':memory:' for a private in-memory database. */
export interface SqliteSettings {
  dialect: 'sqlite';
  file: string;
}

/** TLS settings; file paths are read when connecting. `verify` checks the server certificate and host name. */
export interface TlsSettings {
  verify: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

interface NetworkSettings {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
  /** connect timeout in milliseconds (`connect_timeout` is given in seconds, as libpq/pymysql take it). */
  connectTimeoutMs: number | undefined;
  /** undefined = plain TCP. */
  tls: TlsSettings | undefined;
}

export interface PostgresSettings extends NetworkSettings {
  dialect: 'postgres';
  /** libpq `options`, e.g. `-c search_path=glance`. */
  options: string | undefined;
  applicationName: string | undefined;
}

export interface MysqlSettings extends NetworkSettings {
  dialect: 'mysql';
  /** From `unix_socket`; when set, host and port are not used. */
  socketPath: string | undefined;
}

export type ConnectionSettings = SqliteSettings | PostgresSettings | MysqlSettings;

const MEMORY = ':memory:';

const schemes: Record<string, Dialect> = {
  'sqlite': 'sqlite',
  'sqlite+pysqlite': 'sqlite',
  'postgresql': 'postgres',
  'postgres': 'postgres',
  'postgresql+psycopg2': 'postgres',
  'postgresql+psycopg': 'postgres',
  'postgresql+pg8000': 'postgres',
  'postgresql+asyncpg': 'postgres',
  'mysql': 'mysql',
  'mysql+pymysql': 'mysql',
  'mysql+mysqldb': 'mysql',
  'mysql+mysqlconnector': 'mysql',
  'mariadb': 'mysql',
  'mariadb+pymysql': 'mysql',
  'mariadb+mysqldb': 'mysql',
  'mariadb+mariadbconnector': 'mysql',
};

/** Query parameters accepted and deliberately ignored (SQLAlchemy/oslo.db tuning that has no equivalent here). */
const ignoredParams = new Set([
  'charset', // the MySQL connection always uses utf8mb4, a superset of utf8/utf8mb3
  'use_unicode', 'binary_prefix', 'client_encoding', 'plugin', 'read_default_file', 'read_default_group',
]);

/** The URL with any password (userinfo or `password=` parameter) replaced by `***`. Never throws. */
export function redactUrl(url: string): string {
  let out = url;
  const schemeEnd = out.indexOf('://');
  if (schemeEnd >= 0) {
    const start = schemeEnd + 3;
    const queryStart = out.indexOf('?', start);
    const authorityArea = queryStart >= 0 ? out.slice(start, queryStart) : out.slice(start);
    const at = authorityArea.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authorityArea.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) {
        out = out.slice(0, start) + userinfo.slice(0, colon) + ':***' + out.slice(start + at);
      }
    }
  }
  return out.replace(/([?&](?:password|passwd)=)[^&#]*/gi, '$1***');
}

function fail(url: string, reason: string): never {
  throw new Error(`Invalid database connection URL '${redactUrl(url)}': ${reason}`);
}

/**
 * Parses a connection URL. Relative SQLite paths (`sqlite:///data/glimpse.db`) resolve against `cwd`;
 * `sqlite:////abs/path.db` is absolute; `sqlite://` and `sqlite:///:memory:` are in-memory.
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): ConnectionSettings {
  const trimmed = url.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(trimmed);
  if (!match) fail(url, 'expected <dialect>[+driver]://…, e.g. sqlite:///data/glimpse.db or postgresql://user:pass@host/db');
  const scheme = match[1]!.toLowerCase();
  const dialect = schemes[scheme];
  if (!dialect) {
    fail(url, `unsupported scheme '${scheme}' (supported: sqlite, postgresql[+driver], mysql[+driver], mariadb[+driver])`);
  }
  if (dialect === 'sqlite') return parseSqlite(url, match[2]!, cwd);
  return parseNetwork(url, trimmed, dialect);
}

function parseSqlite(url: string, rest: string, cwd: string): SqliteSettings {
  const path = rest.split('?')[0]!; // SQLAlchemy's sqlite options (?timeout=, ?mode=ro) are not used here
  if (path === '' || path === '/' + MEMORY) return { dialect: 'sqlite', file: MEMORY };
  if (!path.startsWith('/')) fail(url, 'a SQLite URL has no host: use sqlite:///relative/path.db or sqlite:////absolute/path.db');
  const file = path.slice(1); // `sqlite:///x` → 'x' (relative); `sqlite:////x` → '/x' (absolute)
  if (file === '' || file.endsWith('/')) fail(url, 'the SQLite URL names no database file');
  return { dialect: 'sqlite', file: isAbsolute(file) ? file : resolve(cwd, file) };
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(url, `the ${what} is not valid percent-encoding`);
  }
}

function parseNetwork(url: string, trimmed: string, dialect: 'postgres' | 'mysql'): PostgresSettings | MysqlSettings {
  const portText = /^[^:]+:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/.exec(trimmed)?.[1];
  if (portText !== undefined && portText !== '' && !(/^\d{1,5}$/.test(portText) && +portText >= 1 && +portText <= 65535)) {
    fail(url, 'the port must be an integer from 1 to 65535');
  }
  let parsed: URL;
  try {
    // WHATWG URL parses any scheme generically; a fixed scheme keeps it from special-casing.
    parsed = new URL(trimmed.replace(/^[^:]+:/, 'glimpse:'));
  } catch {
    return fail(url, 'it is not a well-formed URL (percent-encode special characters in the user name and password)');
  }
  const params = parsed.searchParams;
  let host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (params.has('host')) host = params.get('host')!; // libpq/psycopg2 style, e.g. a Unix socket directory
  let port = dialect === 'postgres' ? 5432 : 3306;
  if (parsed.port !== '') port = Number(parsed.port);
  if (params.has('port')) port = Number(params.get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(url, 'the port must be an integer from 1 to 65535');

  const path = parsed.pathname.replace(/^\//, '');
  if (path.includes('/')) fail(url, 'the path must be just the database name');
  const database = path === '' ? undefined : decode(url, path, 'database name');
  if (dialect === 'mysql' && database === undefined) fail(url, 'a MySQL/MariaDB URL must name a database, e.g. mysql://user:pass@host/glance');

  let connectTimeoutMs: number | undefined;
  if (params.has('connect_timeout')) {
    const seconds = Number(params.get('connect_timeout'));
    if (!Number.isFinite(seconds) || seconds <= 0) fail(url, 'connect_timeout must be a positive number of seconds');
    connectTimeoutMs = Math.round(seconds * 1000);
  }
  const base: NetworkSettings = {
    host: host === '' ? 'localhost' : host,
    port,
    user: parsed.username === '' ? undefined : decode(url, parsed.username, 'user name'),
    password: parsed.password === '' ? undefined : decode(url, parsed.password, 'password'),
    database,
    connectTimeoutMs,
    tls: undefined,
  };
  const known = new Set(['host', 'port', 'connect_timeout']);

  if (dialect === 'postgres') {
    for (const k of ['options', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'application_name']) known.add(k);
    checkParams(url, params, known);
    return {
      ...base, dialect, options: params.get('options') ?? undefined, tls: postgresTls(url, params),
      applicationName: params.get('application_name') ?? undefined,
    };
  }
  for (const k of ['unix_socket', 'ssl_ca', 'ssl_cert', 'ssl_key', 'ssl_verify_cert']) known.add(k);
  checkParams(url, params, known);
  return { ...base, dialect, socketPath: params.get('unix_socket') ?? undefined, tls: mysqlTls(url, params) };
}

function files(params: URLSearchParams, ca: string, cert: string, key: string): Omit<TlsSettings, 'verify'> {
  const out: Omit<TlsSettings, 'verify'> = {};
  if (params.has(ca)) out.caFile = params.get(ca)!;
  if (params.has(cert)) out.certFile = params.get(cert)!;
  if (params.has(key)) out.keyFile = params.get(key)!;
  return out;
}

/** libpq's sslmode; verify-ca is treated as verify-full (stricter: the host name is checked too). */
function postgresTls(url: string, params: URLSearchParams): TlsSettings | undefined {
  const mode = params.get('sslmode');
  const paths = files(params, 'sslrootcert', 'sslcert', 'sslkey');
  switch (mode) {
    case null: case 'disable': case 'allow': case 'prefer': return undefined;
    case 'require': return { verify: false, ...paths };
    case 'verify-ca': case 'verify-full': return { verify: true, ...paths };
    default: return fail(url, `unknown sslmode '${mode}'`);
  }
}

/** PyMySQL style: any ssl_* parameter turns TLS on; the certificate is verified unless ssl_verify_cert=false. */
function mysqlTls(url: string, params: URLSearchParams): TlsSettings | undefined {
  const paths = files(params, 'ssl_ca', 'ssl_cert', 'ssl_key');
  const verifyParam = params.get('ssl_verify_cert');
  if (Object.keys(paths).length === 0 && verifyParam === null) return undefined;
  const verify = verifyParam === null ? true : /^(1|true|yes|on)$/i.test(verifyParam) ? true
    : /^(0|false|no|off)$/i.test(verifyParam) ? false : fail(url, 'ssl_verify_cert must be true or false');
  return { verify, ...paths };
}

/** Unknown parameters are refused rather than silently dropped: a typo should not change behaviour quietly. */
function checkParams(url: string, params: URLSearchParams, known: Set<string>): void {
  for (const key of params.keys()) {
    if (!known.has(key) && !ignoredParams.has(key)) fail(url, `unsupported query parameter '${key}'`);
  }
}
