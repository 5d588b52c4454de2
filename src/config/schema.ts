// The one option schema: every option Glimpse reads, under Glance's section and option names, with
// its type, default and help. The loader validates against it, and the sample config and
// docs/configuration.md are generated from it, so a new option is added here and nowhere else.
// Defaults are written as config-file text and go through the same parser as operators' values.
import { parseDatabaseUrl } from '../db/url.ts';
import { HASH_ALGORITHM_NAMES, supportedHashAlgorithms } from './hash-algorithms.ts';
import { parseFlavor } from './flavor.ts';
import { storeDriverOptions } from './store-options.ts';
import { CONVERSION_OUTPUT_FORMATS, importPluginsCheck, injectCheck } from './import-plugins.ts';
import { METRICS_OPTIONS, SERVER_TLS_OPTIONS } from './ops-options.ts';
import { parseTransportUrl } from './transport-url.ts';

export type OptionType =
  | 'string' | 'int' | 'float' | 'bool' | 'port'
  | 'list' | 'dict' | 'size' | 'enum' | 'uri' | 'path' | 'host';

export type OptionValue = string | number | boolean | string[] | Record<string, string>;

export interface OptionDef {
  /** Normalised section name (see ini.ts normalizeSectionName); BACKEND_SECTION for per-backend sections. */
  section: string;
  /** Glance's exact option name. */
  name: string;
  type: OptionType;
  /** Default as config-file text; absent = unset. */
  default?: string;
  min?: number;
  max?: number;
  /** Allowed values of an `enum`. */
  choices?: readonly string[];
  /** Allowed URL schemes of a `uri`. */
  schemes?: readonly string[];
  /** Our own words, 1-3 sentences. */
  help: string;
  /** Example value shown in the sample file for options without a default. */
  sample?: string;
  /** Glance's default, when Glimpse deliberately differs. */
  glanceDefault?: string;
  /** Set when the option is deprecated: what to use instead. */
  deprecatedFor?: string;
  /** Value must not appear in messages (it may hold a password). */
  secret?: boolean;
  /** Extra validation after the type check; returns a problem (`"x" is …`) or undefined. */
  check?: (value: OptionValue) => string | undefined;
}

export interface SectionDef {
  name: string;
  help: string;
  /** Glance options of the section that Glimpse recognises but does not use yet. */
  unsupported?: readonly string[];
  /** Option-name prefixes handled like `unsupported` (options of store drivers without a Glimpse driver). */
  unsupportedPrefixes?: readonly string[];
  /** Every option of the section is "recognised, not used yet". */
  notUsedYet?: boolean;
}

/** Placeholder section name for the per-backend sections `[<id>]` named by `enabled_backends`. */
export const BACKEND_SECTION = '<backend id>';

/** Store types glance_store knows; ids of other types are refused. */
export const KNOWN_STORE_TYPES: readonly string[] = ['file', 'http', 'swift', 'rbd', 'cinder', 'vmware', 's3'];
/** Store types with a Glimpse driver. */
export const SUPPORTED_STORE_TYPES: readonly string[] = ['file', 'swift', 's3', 'http', 'rbd'];

const storeDriverPrefixes = ['filesystem_', 'http_', 'https_', 'swift_', 'default_swift_', 's3_store_', 'rbd_store_',
  'rados_', 'cinder_', 'vmware_', 'os_region_name'];

const hashCheck = (value: OptionValue): string | undefined => {
  const supported = supportedHashAlgorithms();
  return supported.includes(String(value)) ? undefined
    : `"${String(value)}" is not available in this Node.js build (available: ${supported.join(', ')})`;
};

const connectionCheck = (value: OptionValue): string | undefined => {
  try {
    parseDatabaseUrl(String(value));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

const flavorCheck = (value: OptionValue): string | undefined => {
  const parsed = parseFlavor(String(value));
  return 'problem' in parsed ? parsed.problem : undefined;
};

const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'];
/** oslo's bounded list form: `[glance-direct, 'web-download']` is the same as `glance-direct,web-download`. */
export function importMethodList(value: readonly string[]): string[] {
  return value.map((m) => m.replace(/^\[/, '').replace(/\]$/, '').trim().replace(/^(['"])(.*)\1$/, '$2')).filter((m) => m !== '');
}
const importMethodsCheck = (value: OptionValue): string | undefined => {
  const unknown = importMethodList(value as string[]).filter((m) => !IMPORT_METHODS.includes(m));
  return unknown.length === 0 ? undefined : `unknown import method ${unknown.join(', ')} (known: ${IMPORT_METHODS.join(', ')})`;
};
const fileUriCheck = (value: OptionValue): string | undefined =>
  /^file:\/\/\/./.test(String(value)) ? undefined : `"${String(value)}" is not a file:/// URI`;

export const SECTIONS: readonly SectionDef[] = [
  {
    name: 'DEFAULT',
    help: 'Server, API and quota settings.',
    unsupported: [
      'allow_additional_image_properties', 'metadata_encryption_key',
      'digest_algorithm', 'enforce_secure_rbac',
      'location_strategy', 'max_header_line',
      'backlog', 'tcp_keepidle', 'image_cache_sqlite_db',
      'pydev_worker_debug_host', 'pydev_worker_debug_port', 'owner_is_tenant', 'admin_role',
      'verbose', 'log_config_append', 'log_date_format', 'watch_log_file',
      'use_journal', 'use_stderr', 'use_eventlog', 'log_rotate_interval',
      'log_rotate_interval_type', 'max_logfile_count', 'max_logfile_size_mb', 'log_rotation_type',
      'logging_context_format_string', 'logging_default_format_string', 'logging_debug_format_suffix',
      'logging_exception_prefix', 'logging_user_identity_format', 'default_log_levels', 'publish_errors',
      'instance_format', 'instance_uuid_format', 'rate_limit_interval', 'rate_limit_burst', 'rate_limit_except_level',
      'fatal_deprecations', 'rpc_response_timeout', 'executor_thread_pool_size',
    ],
  },
  { name: 'database', help: 'Where image metadata is kept.', unsupported: ['max_pool_size', 'max_overflow', 'pool_timeout',
    'connection_recycle_time', 'max_retries', 'retry_interval', 'idle_timeout', 'mysql_sql_mode', 'sqlite_synchronous',
    'backend', 'slave_connection', 'connection_debug', 'use_db_reconnect'] },
  { name: 'glance_store', help: 'Image data stores, single-store (legacy) form, and the default backend of the multi-store form.',
    unsupportedPrefixes: storeDriverPrefixes },
  { name: BACKEND_SECTION, help: 'One section per id listed in `enabled_backends`, named after the id (e.g. `[fast]`).',
    unsupportedPrefixes: storeDriverPrefixes },
  { name: 'image_format', help: 'Disk and container formats accepted for images.',
  },
  { name: 'paste_deploy', help: 'Request pipeline; Glimpse reads only the flavor, which selects authentication.' },
  { name: 'oslo_policy', help: 'Access policy.', unsupported: ['enforce_scope', 'enforce_new_defaults', 'policy_default_rule',
    'policy_dirs', 'remote_content_type', 'remote_ssl_verify_server_crt', 'remote_ssl_ca_crt_file',
    'remote_ssl_client_crt_file', 'remote_ssl_client_key_file', 'remote_timeout'] },
  { name: 'healthcheck', help: 'The /healthcheck endpoint.', unsupported: ['path', 'backends', 'disable_by_file_paths',
    'enable_by_files_ports_path'] },
  { name: 'keystone_authtoken', help: 'Keystone token validation, used when `[paste_deploy] flavor = keystone` (keystonemiddleware option names).',
    unsupported: ['memcached_servers', 'memcache_security_strategy', 'memcache_secret_key', 'memcache_use_advanced_pool',
      'auth_version', 'delay_auth_decision', 'region_name', 'interface',
      'include_service_catalog', 'enforce_token_bind', 'service_type', 'auth_section', 'system_scope',
      'domain_id', 'domain_name', 'user_id', 'project_id', 'trust_id', 'default_domain_id', 'default_domain_name',
      'auth_uri', 'identity_uri', 'admin_user', 'admin_password', 'admin_tenant_name'] },
  { name: 'task', help: 'Asynchronous tasks (image import) and the workers that run them.', unsupported: ['task_executor',
    'work_dir', 'max_workers'] },
  { name: 'os_glance_staging_store', help: 'Where staged image data waits for its import (multi-store form).',
    unsupportedPrefixes: storeDriverPrefixes.filter((p) => p !== 'filesystem_') },
  { name: 'import_filtering_opts', help: 'Which URLs the server may download from (web-download import, v1 copy-from, glance-download). Glimpse also refuses private, loopback and link-local addresses; see docs/operations.md.' },
  { name: 'image_import_opts', help: 'Image import: the plugins applied to imported data.', unsupported: ['max_parallel_stores'] },
  { name: 'image_conversion', help: 'The `image_conversion` import plugin.' },
  { name: 'inject_metadata_properties', help: 'The `inject_image_metadata` import plugin.' },
  { name: 'key_manager', help: 'The key manager (castellan option names) that holds the certificates of signed images; see "Signed images" in docs/operations.md.',
    unsupported: ['api_class', 'auth_type', 'token', 'auth_url', 'user_id', 'username', 'password', 'user_domain_id',
      'user_domain_name', 'trust_id', 'domain_id', 'domain_name', 'project_id', 'project_name', 'project_domain_id',
      'project_domain_name', 'reauthenticate', 'fixed_key'] },
  { name: 'barbican', help: 'The Barbican key manager (castellan option names): where the certificates of signed images are read, with the caller\'s token.',
    unsupported: ['retry_delay', 'number_of_retries', 'send_service_user_token'] },
  { name: 'oslo_messaging_notifications', help: 'Notifications of image, member, task and metadef changes (oslo.messaging\'s notifier); see "Notifications" in docs/operations.md.' },
  { name: 'oslo_messaging_rabbit', help: 'The RabbitMQ connection of notifications (oslo.messaging\'s rabbit driver option names).',
    unsupportedPrefixes: ['rabbit_', 'kombu_', 'amqp_', 'ssl_', 'heartbeat_', 'direct_mandatory_flag', 'enable_cancel_on_failover',
      'use_queue_manager', 'hostname', 'processname'] },
  { name: 'glimpse_notifications', help: 'Glimpse only: the notification outbox (see "Notifications" in docs/operations.md).' },
  { name: 'glimpse_quotas', help: 'Glimpse only: how Keystone unified limits are cached and how long quota reservations live.' },
  { name: 'glimpse_transfers', help: 'Glimpse only: memory for moving image data (uploads, staging, imports, downloads).' },
  { name: 'metrics', help: 'Glimpse only: the Prometheus metrics endpoint; see "Metrics" in docs/operations.md.' },
  { name: 'oslo_limit', help: 'Keystone unified limits (`use_keystone_limits`): the image service\'s endpoint in Keystone and the credentials Glimpse reads the limits with (oslo.limit option names).',
    unsupported: ['auth_section', 'collect_timing', 'split_loggers',
      'timeout', 'service_type', 'service_name', 'interface', 'valid_interfaces', 'endpoint_override',
      'version', 'min_version', 'max_version', 'connect_retries', 'connect_retry_delay', 'status_code_retries',
      'status_code_retry_delay', 'retriable_status_codes', 'default_domain_id', 'default_domain_name', 'domain_id',
      'domain_name', 'trust_id', 'user_id', 'project_id', 'tenant_id', 'tenant_name', 'application_credential_id',
      'application_credential_name', 'application_credential_secret'] },
  ...['taskflow_executor', 'glance_download_properties', 'os_glance_tasks_store',
    'oslo_concurrency', 'oslo_middleware',
    'wsgi', 'cors', 'profiler', 'store_type_location_strategy', 'oslo_reports']
    .map((name) => ({ name, help: 'Recognised Glance section; Glimpse does not use its options yet.', notUsedYet: true })),
];

const transportUrlCheck = (value: OptionValue): string | undefined => {
  const parsed = parseTransportUrl(String(value));
  return 'problem' in parsed ? parsed.problem : undefined;
};

const NOTIFICATION_DRIVERS = ['messagingv2', 'messaging', 'log', 'noop'];
const driversCheck = (value: OptionValue): string | undefined => {
  const unknown = (value as string[]).filter((d) => !NOTIFICATION_DRIVERS.includes(d));
  return unknown.length === 0 ? undefined
    : `unknown notification driver ${unknown.join(', ')} (known: ${NOTIFICATION_DRIVERS.join(', ')})`;
};

const portListCheck = (value: OptionValue): string | undefined => {
  const bad = (value as string[]).filter((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535);
  return bad.length === 0 ? undefined : `"${bad.join(', ')}" is not a port number (1 to 65535)`;
};

export const OPTIONS: readonly OptionDef[] = [
  // [DEFAULT]
  { section: 'DEFAULT', name: 'bind_host', type: 'host', default: '127.0.0.1', glanceDefault: '0.0.0.0',
    help: 'Address the API server listens on. The loopback default keeps a fresh install private; set 0.0.0.0 or :: to serve other hosts.' },
  { section: 'DEFAULT', name: 'bind_port', type: 'port', default: '9292', help: 'TCP port the API server listens on.' },
  { section: 'DEFAULT', name: 'workers', type: 'int', default: '1', min: 0, glanceDefault: 'number of CPUs, at most 8',
    help: 'Number of API worker processes. 0 and 1 both give a single process; more than 1 starts that many processes sharing the port.' },
  { section: 'DEFAULT', name: 'graceful_shutdown_timeout', type: 'int', default: '60', min: 0,
    help: 'Seconds a stopping server waits for in-flight requests to finish before it exits anyway. 0 waits without limit.' },
  { section: 'DEFAULT', name: 'client_socket_timeout', type: 'int', default: '900', min: 0,
    help: 'Seconds a client connection may send and receive nothing before the server closes it, also in the middle of a request body: a stalled upload or stage is then aborted, its partial data removed and the image returned to queued. 0 waits without limit.' },
  { section: 'DEFAULT', name: 'http_keepalive', type: 'bool', default: 'true',
    help: 'Keep client connections open between requests. When false, every response closes its connection (Connection: close). Idle kept-alive connections close after client_socket_timeout seconds, or 72 s if that is shorter.' },
  { section: 'DEFAULT', name: 'public_endpoint', type: 'uri', schemes: ['http', 'https'], sample: 'https://images.example.com:9292',
    help: 'Base URL put in links the API returns (version document, image locations). Set it when clients reach Glimpse through a proxy or a different host name; unset, links use the request\'s Host.' },
  { section: 'DEFAULT', name: 'image_size_cap', type: 'int', default: '1099511627776', min: 1, max: Number.MAX_SAFE_INTEGER,
    help: 'Largest image, in bytes, that may be uploaded, staged or imported; larger data is refused with 413. The default is 1 TiB.' },
  { section: 'DEFAULT', name: 'user_storage_quota', type: 'size', default: '0',
    help: 'Total bytes of image data each project may store, as a number with an optional B, KB, MB, GB or TB suffix (powers of 1024). 0 means no limit.' },
  { section: 'DEFAULT', name: 'api_limit_max', type: 'int', default: '1000', min: 1,
    help: 'Upper bound on the page size a client may request with `limit` when listing.' },
  { section: 'DEFAULT', name: 'limit_param_default', type: 'int', default: '25', min: 1,
    help: 'Page size used when a list request gives no `limit`.' },
  { section: 'DEFAULT', name: 'show_image_direct_url', type: 'bool', default: 'false',
    help: 'Include the `direct_url` attribute (the store location of the image data) in image responses. It reveals backend details, so leave it off unless consumers need it.' },
  { section: 'DEFAULT', name: 'show_multiple_locations', type: 'bool', default: 'false', deprecatedFor: 'the locations API of Images API 2.17',
    help: 'Include the `locations` list in image responses and allow changing it with PATCH. Exposing locations has security consequences; keep it off on public clouds.' },
  { section: 'DEFAULT', name: 'enabled_backends', type: 'dict', sample: 'fast:file, cheap:file',
    help: 'Turns on multiple stores: a comma-separated list of `id:type` pairs. Each id gets its own `[id]` section and `[glance_store] default_backend` must name one of them.' },
  { section: 'DEFAULT', name: 'delayed_delete', type: 'bool', default: 'false',
    help: 'When on, deleting an image marks it `pending_delete` and leaves the data for `glimpse scrubber` to remove later, instead of removing it at once.' },
  { section: 'DEFAULT', name: 'scrub_time', type: 'int', default: '0', min: 0,
    help: 'Seconds a `pending_delete` image keeps its data before `glimpse scrubber` removes it (the window in which `glimpse scrubber --restore` can bring it back).' },
  { section: 'DEFAULT', name: 'wakeup_time', type: 'int', default: '300', min: 1,
    help: 'Seconds between two passes of `glimpse scrubber --daemon`.' },
  { section: 'DEFAULT', name: 'scrub_pool_size', type: 'int', default: '1', min: 1,
    help: 'Images whose data `glimpse scrubber` deletes at the same time.' },
  { section: 'DEFAULT', name: 'enable_v1_api', type: 'bool', default: 'true', glanceDefault: 'true (before v1 was removed)',
    help: 'Serve the deprecated Images API v1 at /v1 beside v2, as Glance did until v1 was removed. Set false to serve v2 only.' },
  { section: 'DEFAULT', name: 'enable_v2_api', type: 'bool', default: 'true', help: 'Serve the Images API v2.' },
  { section: 'DEFAULT', name: 'hashing_algorithm', type: 'enum', default: 'sha512', choices: HASH_ALGORITHM_NAMES, check: hashCheck,
    help: 'Algorithm for the `os_hash_value` of image data, named as Python\'s hashlib names it. Choices this Node.js build lacks are refused at startup.' },
  { section: 'DEFAULT', name: 'image_member_quota', type: 'int', default: '128',
    help: 'Most projects an image may be shared with. A negative value means no limit.' },
  { section: 'DEFAULT', name: 'image_property_quota', type: 'int', default: '128',
    help: 'Most additional properties an image may carry. A negative value means no limit.' },
  { section: 'DEFAULT', name: 'image_tag_quota', type: 'int', default: '128',
    help: 'Most tags an image may carry. A negative value means no limit.' },
  { section: 'DEFAULT', name: 'image_location_quota', type: 'int', default: '10',
    help: 'Most locations an image may have. A negative value means no limit.' },
  { section: 'DEFAULT', name: 'max_request_id_length', type: 'int', default: '64', min: 0,
    help: 'Longest `X-Openstack-Request-ID` accepted from a client; longer ones are replaced by a generated id.' },
  { section: 'DEFAULT', name: 'image_cache_dir', type: 'path', sample: './data/cache',
    help: 'Directory of this node\'s image cache. Setting it turns the cache on: full downloads of active images are kept there and served from it, images can be queued for prefetching, and the cache API (/v2/cache, versions 2.14, 2.16 and 2.18) is served. Unset, there is no cache.' },
  { section: 'DEFAULT', name: 'image_cache_max_size', type: 'int', default: '10737418240', min: 0,
    help: 'Bytes the cache may hold on this node. Pruning (after a fill that exceeds it, periodically in `glimpse serve`, and `glimpse cache prune`) removes the least recently used entries until the cache is under it; a single image larger than it is never cached.' },
  { section: 'DEFAULT', name: 'image_cache_stall_time', type: 'int', default: '86400', min: 0,
    help: 'Seconds after which an unfinished cache file that nothing writes to any more is removed by cleaning (`glimpse cache clean`).' },
  { section: 'DEFAULT', name: 'image_cache_driver', type: 'enum', default: 'centralized_db', choices: ['centralized_db', 'sqlite', 'xattr'],
    glanceDefault: 'centralized_db (sqlite before 2024.1)',
    help: 'Where the cache keeps its metadata. Glimpse always keeps it in the main database, per node (Glance\'s `centralized_db`); `sqlite` and `xattr` are accepted and behave the same.' },
  { section: 'DEFAULT', name: 'cache_prefetcher_interval', type: 'int', default: '300', min: 1,
    help: 'Seconds between two passes of this node\'s prefetcher, which fetches the images queued for its cache (PUT /v2/cache/{image_id}). A queued image is also fetched at once when the API node queued it itself.' },
  { section: 'DEFAULT', name: 'debug', type: 'bool', default: 'false', help: 'Log at debug level instead of info.' },
  { section: 'DEFAULT', name: 'use_json', type: 'bool', sample: 'true',
    help: 'Log one JSON object per line (true) or readable text lines (false). Unset: text when standard output is a terminal, JSON otherwise (a service manager, a pipe, a log file).' },
  { section: 'DEFAULT', name: 'log_file', type: 'path', sample: 'glimpse-api.log',
    help: 'Write the log to this file instead of standard output; a relative name is relative to log_dir when that is set. The file is opened again on SIGHUP, so logrotate can move it away and signal the process.' },
  { section: 'DEFAULT', name: 'log_dir', type: 'path', sample: '/var/log/glimpse',
    help: 'Directory of log_file. Set without log_file, the log goes to `<log_dir>/glimpse-api.log` (the name of the running command: glimpse-api, glimpse-worker, glimpse-scrubber).' },
  { section: 'DEFAULT', name: 'use_syslog', type: 'bool', default: 'false',
    help: 'Send the log to the local syslog daemon (the /dev/log socket, through util-linux `logger`) instead of standard output or log_file.' },
  { section: 'DEFAULT', name: 'syslog_log_facility', type: 'enum', default: 'LOG_USER',
    choices: ['LOG_USER', 'LOG_DAEMON', 'LOG_LOCAL0', 'LOG_LOCAL1', 'LOG_LOCAL2', 'LOG_LOCAL3', 'LOG_LOCAL4', 'LOG_LOCAL5', 'LOG_LOCAL6', 'LOG_LOCAL7'],
    help: 'Syslog facility of the messages when use_syslog is on.' },
  { section: 'DEFAULT', name: 'unusable_store_at_start', type: 'enum', default: 'warn', choices: ['warn', 'refuse'],
    help: 'Glimpse only: what `glimpse serve` does when its default store cannot be written to (a directory that is missing and cannot be created, read-only or not a directory; an object store that does not answer): `warn` logs an error and serves anyway (downloads from other stores keep working; uploads fail with 503), `refuse` stops with an error naming the option.' },

  // [database]
  { section: 'database', name: 'connection', type: 'string', default: 'sqlite:///./data/glimpse.db', secret: true, check: connectionCheck,
    glanceDefault: 'unset', sample: 'postgresql://glance:secret@db.example.com/glance',
    help: 'SQLAlchemy-style URL of the metadata database: sqlite, postgresql or mysql/mariadb, with an optional `+driver` suffix that is ignored. A relative SQLite path is relative to the working directory.' },

  // [glance_store]
  { section: 'glance_store', name: 'stores', type: 'list', default: 'file', glanceDefault: 'file,http',
    deprecatedFor: '[DEFAULT] enabled_backends',
    help: 'Single-store form: store types to load. Ignored when `enabled_backends` is set.' },
  { section: 'glance_store', name: 'default_store', type: 'enum', default: 'file', deprecatedFor: '[glance_store] default_backend',
    choices: ['file', 'filesystem', 'http', 'https', 'swift', 'swift+http', 'swift+https', 'swift+config', 'rbd', 'cinder', 'vsphere', 's3'],
    help: 'Single-store form: store type new image data is written to (`file`, `swift`, `s3` or `rbd`; `http` is read-only; `cinder` and `vsphere` have no driver).' },
  { section: 'glance_store', name: 'default_backend', type: 'string', sample: 'fast',
    help: 'Multi-store form: id from `enabled_backends` that receives image data when a request names no store. Required when `enabled_backends` is set.' },
  { section: 'glance_store', name: 'filesystem_store_datadir', type: 'path', default: './data/images', glanceDefault: '/var/lib/glance/images',
    help: 'Single-store form: directory holding image files. A relative path is relative to the working directory.' },

  // [<backend id>]
  { section: BACKEND_SECTION, name: 'filesystem_store_datadir', type: 'path', sample: './data/fast',
    help: 'Directory holding this backend\'s image files (required for `file` backends). A relative path is relative to the working directory.' },
  { section: BACKEND_SECTION, name: 'store_description', type: 'string', sample: 'Fast SSD storage',
    help: 'Human-readable description of the backend shown to users in the store list.' },
  { section: BACKEND_SECTION, name: 'weight', type: 'int', default: '0',
    help: 'Preference of this backend when an image has data in several; higher weights are listed first.' },

  // [image_format]
  { section: 'image_format', name: 'disk_formats', type: 'list', default: 'ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop',
    help: 'Disk formats an image may declare in `disk_format`.' },
  { section: 'image_format', name: 'container_formats', type: 'list', default: 'ami,ari,aki,bare,ovf,ova,docker,compressed',
    help: 'Container formats an image may declare in `container_format`.' },

  // [paste_deploy]
  { section: 'paste_deploy', name: 'flavor', type: 'string', check: flavorCheck, sample: 'keystone+cachemanagement',
    help: 'Authentication: `keystone` (validate tokens with Keystone), `trusted-auth` (trust identity headers set by a proxy) or `noauth`, optionally followed by `+caching` or `+cachemanagement`. Unset or empty means `noauth`, where every request acts as an admin.' },
  { section: 'paste_deploy', name: 'config_file', type: 'string',
    help: 'Accepted for compatibility and ignored: Glimpse has no paste pipeline file.' },

  // [oslo_policy]
  { section: 'oslo_policy', name: 'policy_file', type: 'string', sample: 'policy.yaml',
    help: 'YAML or JSON file of policy rules overriding the built-in defaults. A relative path is relative to the directory of the config file. Unset: `policy.yaml` beside the config file is used if it exists.' },

  // [healthcheck]
  { section: 'DEFAULT', name: 'allow_anonymous_access', type: 'bool', default: 'false',
    help: 'Let requests without credentials through as an anonymous caller with no project and no roles, instead of answering 401. Only what the policy allows such a caller (by default: nothing but the schemas) succeeds.' },
  { section: 'DEFAULT', name: 'property_protection_file', type: 'path', sample: '/etc/glimpse/property-protections.conf',
    help: 'File of per-property create/read/update/delete rules whose sections are regular expressions over property names; a relative path is relative to the config file. Unset = no property protections. A property that matches no section is denied to everyone.' },
  { section: 'DEFAULT', name: 'property_protection_rule_format', type: 'enum', choices: ['roles', 'policies'], default: 'roles',
    help: 'Whether the property protection file lists role names (`roles`) or policy rule names (`policies`).' },
  { section: 'image_format', name: 'require_image_format_match', type: 'bool', default: 'true',
    help: 'Refuse (415) an upload whose data is a recognised disk format other than the declared disk_format. Safety checks of the detected format (qcow2 backing or data files, VMDK extents, GPT/MBR sanity) apply whatever this says.' },
  { section: 'image_format', name: 'vmdk_allowed_types', type: 'list', default: 'streamOptimized,monolithicSparse',
    help: 'VMDK createType values accepted on upload; any other VMDK fails the safety checks (415).' },
  { section: 'image_format', name: 'gpt_safety_checks_nonfatal', type: 'list', default: '',
    help: 'Names of GPT/MBR safety checks that only warn instead of refusing the upload (for example mbr).' },
  // [keystone_authtoken]
  { section: 'keystone_authtoken', name: 'www_authenticate_uri', type: 'uri', schemes: ['http', 'https'], sample: 'https://keystone.example.com/v3',
    help: 'Keystone endpoint told to clients in the WWW-Authenticate header of 401 answers. Defaults to auth_url.' },
  { section: 'keystone_authtoken', name: 'auth_url', type: 'uri', schemes: ['http', 'https'], sample: 'http://127.0.0.1:5000/v3',
    help: 'Keystone identity endpoint Glimpse validates tokens against (a /v3 suffix is optional).' },
  { section: 'keystone_authtoken', name: 'auth_type', type: 'enum', choices: ['password', 'v3password'], default: 'password',
    help: 'How Glimpse authenticates itself to Keystone; only password authentication is supported.' },
  { section: 'keystone_authtoken', name: 'username', type: 'string', sample: 'glance', help: 'Service user name.' },
  { section: 'keystone_authtoken', name: 'password', type: 'string', sample: 'secret', secret: true, help: 'Service user password.' },
  { section: 'keystone_authtoken', name: 'project_name', type: 'string', sample: 'service', help: 'Project the service user is scoped to.' },
  { section: 'keystone_authtoken', name: 'user_domain_name', type: 'string', default: 'Default', help: 'Domain of the service user.' },
  { section: 'keystone_authtoken', name: 'project_domain_name', type: 'string', default: 'Default', help: 'Domain of the service project.' },
  { section: 'keystone_authtoken', name: 'token_cache_time', type: 'int', default: '300', min: 0,
    help: 'Seconds a validated token is trusted before Keystone is asked again (never beyond the token\'s expiry). 0 disables the cache.' },
  { section: 'keystone_authtoken', name: 'http_connect_timeout', type: 'int', default: '5', min: 1,
    help: 'Seconds to wait for Keystone before answering 503.' },
  { section: 'keystone_authtoken', name: 'service_token_roles', type: 'list', default: 'service',
    help: 'Roles an X-Service-Token must carry to count as a service token.' },
  { section: 'keystone_authtoken', name: 'service_token_roles_required', type: 'bool', default: 'false',
    help: 'Refuse (401) an X-Service-Token that lacks the service_token_roles, instead of only ignoring its roles.' },
  { section: 'healthcheck', name: 'detailed', type: 'bool', default: 'false',
    help: 'Answer /healthcheck with the state of each part (the database, every store: reachable and writable, the task worker) instead of a bare OK. It tells anyone who can reach the endpoint what the node runs on; turn it on where only operators and monitors reach it.' },
  { section: 'keystone_authtoken', name: 'cafile', type: 'path', sample: '/etc/glimpse/tls/keystone-ca.crt',
    help: 'PEM CA certificates Keystone\'s HTTPS certificate is checked against, instead of the ones Node.js trusts.' },
  { section: 'keystone_authtoken', name: 'insecure', type: 'bool', default: 'false',
    help: 'Do not check Keystone\'s HTTPS certificate. For test setups only: anyone on the path can then read the service password and forge token validations.' },
  { section: 'keystone_authtoken', name: 'certfile', type: 'path', sample: '/etc/glimpse/tls/glimpse-client.crt',
    help: 'PEM client certificate presented to Keystone, when Keystone requires one (with keyfile).' },
  { section: 'keystone_authtoken', name: 'keyfile', type: 'path', sample: '/etc/glimpse/tls/glimpse-client.key',
    help: 'PEM private key of certfile.' },
  { section: 'healthcheck', name: 'disable_by_file_path', type: 'path', sample: '/etc/glimpse/healthcheck_disable',
    help: 'While this file exists /healthcheck answers 503, so a load balancer drains the node. A relative path is relative to the working directory.' },
  // swift and s3 store drivers, in [glance_store] and per backend
  ...storeDriverOptions(BACKEND_SECTION),

  // Interoperable image import and tasks (issue 8)
  { section: 'DEFAULT', name: 'enabled_import_methods', type: 'list', default: 'glance-direct,web-download,copy-image',
    check: importMethodsCheck,
    help: 'Import methods offered by POST /v2/images/{id}/import: glance-direct, web-download, copy-image, glance-download. An empty list turns interoperable import off.' },
  { section: 'DEFAULT', name: 'node_staging_uri', type: 'string', sample: 'file:///var/lib/glimpse/staging', check: fileUriCheck,
    glanceDefault: 'file:///tmp/staging/',
    help: 'file:// directory where staged image data waits for import; default ./data/staging. Every node must see the same directory (shared storage) so that any node can import what another staged.' },
  { section: 'DEFAULT', name: 'worker_self_reference_url', type: 'uri', schemes: ['http', 'https'], sample: 'http://node1.example.com:9292',
    help: 'This node\'s own URL, recorded on an image it staged (os_glance_stage_host) to show operators where staging happened, and the name of this node\'s image cache in the shared cache metadata. Glimpse reads staged data from the shared staging directory, never from that node. Unset, the cache names the node `http://<hostname>:<bind_port>`.' },
  { section: 'os_glance_staging_store', name: 'filesystem_store_datadir', type: 'path', sample: '/var/lib/glimpse/staging',
    help: 'Directory of the staging area; takes precedence over node_staging_uri. It must be shared by every node.' },
  { section: 'task', name: 'task_time_to_live', type: 'int', default: '48', min: 1,
    help: 'Hours a finished task stays visible before it expires and is removed from listings.' },
  { section: 'task', name: 'run_worker_in_api', type: 'bool', default: 'true',
    help: 'Run the task worker inside `glimpse serve`. Turn it off on API nodes when separate `glimpse worker` processes run the tasks.' },
  { section: 'task', name: 'lease_duration', type: 'int', default: '60', min: 2,
    help: 'Seconds a worker holds a task, and a process an upload or stage, without renewing its lease; it renews every third of this. After a process dies, another takes its tasks over, and ends its uploads and stages, once the lease has expired.' },
  { section: 'task', name: 'poll_interval', type: 'float', default: '2', min: 0.05,
    help: 'Seconds between a worker\'s looks for runnable tasks. A task created on the same node starts at once.' },
  { section: 'task', name: 'recovery_interval', type: 'float', default: '30', min: 0.05,
    help: 'Seconds between recovery sweeps. Every API and worker process ends the uploads, stages and imports whose process stopped (its lease_duration ran out without a heartbeat): the image goes back to queued with the reason in os_glance_upload_error or os_glance_import_error, and the partial data is removed.' },
  // [import_filtering_opts] (Glance's options, then Glimpse-only limits of the outbound fetcher in src/net/)
  { section: 'import_filtering_opts', name: 'allowed_schemes', type: 'list', default: 'http,https',
    help: 'URL schemes the server may download from. When set, disallowed_schemes is ignored.' },
  { section: 'import_filtering_opts', name: 'disallowed_schemes', type: 'list', default: '',
    help: 'URL schemes refused; only used while allowed_schemes is empty.' },
  { section: 'import_filtering_opts', name: 'allowed_hosts', type: 'list', default: '',
    help: 'When set, only these hosts (compared with the host exactly as written in the URL, or the same IP literal) may be downloaded from, and disallowed_hosts is ignored. A listed host is also exempt from the private-address checks (for local mirrors).' },
  { section: 'import_filtering_opts', name: 'disallowed_hosts', type: 'list', default: '',
    help: 'Hosts refused (same matching as allowed_hosts); only used while allowed_hosts is empty.' },
  { section: 'import_filtering_opts', name: 'allowed_ports', type: 'list', default: '80,443', check: portListCheck,
    help: 'Ports the server may download from; a URL without a port counts as 80 (http) or 443 (https). When set, disallowed_ports is ignored.' },
  { section: 'import_filtering_opts', name: 'disallowed_ports', type: 'list', default: '', check: portListCheck,
    help: 'Ports refused; only used while allowed_ports is empty.' },
  { section: 'import_filtering_opts', name: 'max_redirects', type: 'int', default: '5', min: 0, max: 20,
    help: 'Glimpse only: redirects followed per download, each one checked like the first URL. 0 refuses every redirect.' },
  { section: 'import_filtering_opts', name: 'connect_timeout', type: 'float', default: '10', min: 0.001,
    help: 'Glimpse only: seconds to wait for DNS and the TCP/TLS connection of each hop.' },
  { section: 'import_filtering_opts', name: 'read_timeout', type: 'float', default: '60', min: 0.001,
    help: 'Glimpse only: seconds without any data (headers or body) before a download fails.' },
  { section: 'import_filtering_opts', name: 'total_timeout', type: 'float', default: '0', min: 0,
    help: 'Glimpse only: seconds a whole download may take, body included; 0 means no limit.' },

  // [image_import_opts], [image_conversion], [inject_metadata_properties]: import plugins
  { section: 'image_import_opts', name: 'image_import_plugins', type: 'list', default: '[]', sample: '[image_decompression, image_conversion]',
    check: importPluginsCheck,
    help: 'Plugins applied, in this order, to the data of each glance-direct, web-download and glance-download import: image_decompression, image_conversion, inject_image_metadata, no_op. Written as Glance writes it, in brackets; the brackets may be left out.' },
  { section: 'image_conversion', name: 'output_format', type: 'enum', choices: CONVERSION_OUTPUT_FORMATS, default: 'raw',
    help: 'Disk format the image_conversion plugin converts imported images to, with qemu-img.' },
  { section: 'image_conversion', name: 'conversion_timeout', type: 'int', default: '1800', min: 1,
    help: 'Glimpse only: seconds one qemu-img convert, or one decompression by image_decompression, may run (wall clock; the same in CPU seconds) before the import fails.' },
  { section: 'inject_metadata_properties', name: 'ignore_user_roles', type: 'list', default: 'admin',
    help: 'The inject_image_metadata plugin leaves images alone when the importing user has any of these roles.' },
  { section: 'inject_metadata_properties', name: 'inject', type: 'dict', default: '', sample: 'hw_vif_model:virtio, provider:example',
    check: injectCheck,
    help: 'Properties (key:value pairs) the inject_image_metadata plugin sets on imported images. Keys of at most 255 characters; os_glance* keys are dropped, as in Glance.' },
  // [key_manager] and [barbican]: image signature verification (castellan's options)
  { section: 'key_manager', name: 'backend', type: 'enum', choices: ['barbican'], default: 'barbican',
    help: 'Where the certificates named by img_signature_certificate_uuid are kept. Only barbican (castellan\'s default) is served.' },
  { section: 'barbican', name: 'barbican_endpoint', type: 'uri', schemes: ['http', 'https'], sample: 'https://barbican.example.com:9311',
    help: 'Barbican\'s base URL (without the API version). Unset: the caller\'s Keystone catalog entry of type key-manager.' },
  { section: 'barbican', name: 'barbican_api_version', type: 'string', sample: 'v1',
    help: 'Barbican API version in the URL. Unset: v1, the only version Barbican serves.' },
  { section: 'barbican', name: 'auth_endpoint', type: 'uri', schemes: ['http', 'https'], default: 'http://localhost/identity/v3',
    help: 'Keystone v3 URL where the caller\'s service catalog is read to find Barbican (when barbican_endpoint is unset).' },
  { section: 'barbican', name: 'barbican_endpoint_type', type: 'enum', choices: ['public', 'internal', 'admin'], default: 'public',
    help: 'Which catalog interface of the key-manager service to use.' },
  { section: 'barbican', name: 'barbican_region_name', type: 'string', sample: 'RegionOne',
    help: 'Which region\'s key-manager endpoint to use from the catalog. Unset: the first one.' },
  { section: 'barbican', name: 'verify_ssl', type: 'bool', default: 'true',
    help: 'Check Barbican\'s TLS certificate.' },
  { section: 'barbican', name: 'verify_ssl_path', type: 'path', sample: '/etc/ssl/certs/barbican-ca.pem',
    help: 'CA bundle to check Barbican\'s TLS certificate against (default: the system\'s).' },
  ...SERVER_TLS_OPTIONS,
  ...METRICS_OPTIONS,
  { section: 'DEFAULT', name: 'transport_url', type: 'string', secret: true, check: transportUrlCheck,
    sample: 'rabbit://glance:secret@rabbit1:5672,glance:secret@rabbit2:5672/openstack',
    help: 'The message broker notifications are published to, as oslo.messaging writes it: rabbit://user:password@host:port[,user:password@host:port…]/virtual_host, with ?ssl=1 for TLS. Several hosts are tried in turn.' },
  { section: 'DEFAULT', name: 'control_exchange', type: 'string', default: 'glance',
    help: 'The RabbitMQ exchange notifications are published to (a topic exchange).' },
  { section: 'DEFAULT', name: 'default_publisher_id', type: 'string', default: 'image.localhost',
    help: 'The publisher_id of every notification; usually image.<host name>.' },
  { section: 'DEFAULT', name: 'disabled_notifications', type: 'list', default: '',
    help: 'Notifications not to send: event types (image.create, task.success) or whole groups (image, image.member, task, metadef_namespace, metadef_object, metadef_property, metadef_resource_type, metadef_tag).' },
  { section: 'oslo_messaging_notifications', name: 'driver', type: 'list', default: '', check: driversCheck,
    help: 'How notifications are sent: messagingv2 (the message bus, oslo.messaging\'s 2.0 envelope, what consumers expect), messaging (the bus, without the envelope), log (written to the log), noop. Empty: no notifications (Glance\'s default).' },
  { section: 'oslo_messaging_notifications', name: 'transport_url', type: 'string', secret: true, check: transportUrlCheck,
    sample: 'rabbit://glance:secret@rabbit1:5672/notifications',
    help: 'A broker for notifications only; unset, [DEFAULT] transport_url is used.' },
  { section: 'oslo_messaging_notifications', name: 'topics', type: 'list', default: 'notifications',
    help: 'Topics notifications are published on; each is routed as <topic>.<priority> (notifications.info, notifications.error).' },
  { section: 'oslo_messaging_notifications', name: 'retry', type: 'int', default: '-1', min: -1,
    help: 'Accepted for compatibility. Glimpse keeps every notification in its outbox until the broker confirmed it, retrying without limit (-1 in oslo.messaging\'s terms); [glimpse_notifications] outbox_max_rows bounds what waits.' },
  { section: 'oslo_messaging_rabbit', name: 'amqp_durable_queues', type: 'bool', default: 'false',
    help: 'Declare the exchange and the notification queues durable (they survive a broker restart). Must match what consumers declare.' },
  { section: 'oslo_messaging_rabbit', name: 'amqp_auto_delete', type: 'bool', default: 'false',
    help: 'Declare the exchange and the notification queues auto-delete. Must match what consumers declare.' },
  { section: 'oslo_messaging_rabbit', name: 'rabbit_ha_queues', type: 'bool', default: 'false',
    help: 'Declare the notification queues with x-ha-policy: all (classic mirrored queues).' },
  { section: 'oslo_messaging_rabbit', name: 'rabbit_quorum_queue', type: 'bool', default: 'false',
    help: 'Declare the notification queues as quorum queues (x-queue-type: quorum); the exchange and queues are then durable.' },
  { section: 'oslo_messaging_rabbit', name: 'ssl', type: 'bool', default: 'false',
    help: 'Connect to the broker with TLS.' },
  { section: 'oslo_messaging_rabbit', name: 'ssl_ca_file', type: 'path', sample: '/etc/ssl/certs/rabbit-ca.pem',
    help: 'CA bundle to check the broker\'s certificate against (default: the system\'s).' },
  { section: 'oslo_messaging_rabbit', name: 'ssl_cert_file', type: 'path', sample: '/etc/glance/rabbit-client.pem',
    help: 'Client certificate for TLS.' },
  { section: 'oslo_messaging_rabbit', name: 'ssl_key_file', type: 'path', sample: '/etc/glance/rabbit-client.key',
    help: 'Private key of ssl_cert_file.' },
  { section: 'oslo_messaging_rabbit', name: 'heartbeat_timeout_threshold', type: 'int', default: '60', min: 0,
    help: 'Seconds without traffic after which the broker connection is considered dead (AMQP heartbeats every half of it); 0 turns heartbeats off.' },
  { section: 'oslo_messaging_rabbit', name: 'rabbit_retry_interval', type: 'int', default: '1', min: 1,
    help: 'Seconds before the first reconnection attempt after the broker was lost; each further attempt waits twice as long, up to rabbit_interval_max.' },
  { section: 'oslo_messaging_rabbit', name: 'rabbit_interval_max', type: 'int', default: '30', min: 1,
    help: 'Longest wait, in seconds, between reconnection attempts.' },
  { section: 'glimpse_notifications', name: 'outbox_max_rows', type: 'int', default: '1000000', min: 1,
    help: 'Notifications the outbox may hold while the broker is unreachable. Beyond it, new notifications are dropped and each drop is logged as an error; API requests are never refused for it.' },
  { section: 'glimpse_notifications', name: 'relay_lease', type: 'int', default: '15', min: 2, max: 3600,
    help: 'Seconds the publishing node holds the relay lease without renewing it: after a node dies, another takes over publishing within this time. A batch the broker has not confirmed within a third of it is given up (and published again later), so no node still publishes once another may hold the lease.' },
  // Keystone unified limits (issue 16; decision 0021)
  { section: 'DEFAULT', name: 'use_keystone_limits', type: 'bool', default: 'false',
    help: 'Enforce the per-project limits registered in Keystone (image_size_total, image_stage_total, image_count_total, image_count_uploading; sizes in MiB) instead of user_storage_quota, and report them at GET /v2/info/usage. Needs the [oslo_limit] options.' },
  { section: 'oslo_limit', name: 'endpoint_id', type: 'string', sample: '0123456789abcdef0123456789abcdef',
    help: 'Id of this image service\'s endpoint in Keystone; the limits registered for its service and region apply. Unset: the endpoint is looked up by endpoint_service_type / endpoint_service_name, endpoint_region_name and endpoint_interface.' },
  { section: 'oslo_limit', name: 'endpoint_service_name', type: 'string', sample: 'glance',
    help: 'Service name to look the endpoint up by when endpoint_id is unset.' },
  { section: 'oslo_limit', name: 'endpoint_service_type', type: 'string', sample: 'image',
    help: 'Service type to look the endpoint up by when endpoint_id is unset.' },
  { section: 'oslo_limit', name: 'endpoint_region_name', type: 'string', sample: 'RegionOne',
    help: 'Region of the endpoint to look up when endpoint_id is unset.' },
  { section: 'oslo_limit', name: 'endpoint_interface', type: 'enum', default: 'public',
    choices: ['public', 'publicURL', 'internal', 'internalURL', 'admin', 'adminURL'],
    help: 'Interface of the endpoint to look up when endpoint_id is unset.' },
  { section: 'oslo_limit', name: 'auth_url', type: 'uri', schemes: ['http', 'https'], sample: 'http://127.0.0.1:5000/v3',
    help: 'Keystone endpoint the limits are read from (a /v3 suffix is optional).' },
  { section: 'oslo_limit', name: 'region_name', type: 'string', sample: 'RegionOne',
    help: 'Region of the identity service (accepted as in Glance\'s install guide; Glimpse talks to auth_url itself).' },
  { section: 'oslo_limit', name: 'auth_type', type: 'enum', choices: ['password', 'v3password'], default: 'password',
    help: 'How Glimpse authenticates to read the limits; only password authentication is supported.' },
  { section: 'oslo_limit', name: 'username', type: 'string', sample: 'glance', help: 'User that reads the limits (it needs the reader role on the system, see docs/operations.md).' },
  { section: 'oslo_limit', name: 'password', type: 'string', sample: 'secret', secret: true, help: 'Password of that user.' },
  { section: 'oslo_limit', name: 'user_domain_name', type: 'string', default: 'Default', help: 'Domain of that user.' },
  { section: 'oslo_limit', name: 'user_domain_id', type: 'string', sample: 'default', help: 'Domain id of that user (instead of user_domain_name).' },
  { section: 'oslo_limit', name: 'system_scope', type: 'string', sample: 'all',
    help: 'Scope the token to the system (`all`), as Glance\'s documentation recommends; unset: scoped to project_name.' },
  { section: 'oslo_limit', name: 'project_name', type: 'string', sample: 'service', help: 'Project the token is scoped to when system_scope is unset.' },
  { section: 'oslo_limit', name: 'project_domain_name', type: 'string', default: 'Default', help: 'Domain of project_name.' },
  { section: 'oslo_limit', name: 'cafile', type: 'path', sample: '/etc/glimpse/tls/keystone-ca.crt',
    help: 'PEM CA certificates Keystone\'s HTTPS certificate is checked against when reading the limits, instead of the ones Node.js trusts.' },
  { section: 'oslo_limit', name: 'insecure', type: 'bool', default: 'false',
    help: 'Do not check Keystone\'s HTTPS certificate when reading the limits. For test setups only: anyone on the path can then read the password and change the limits Glimpse enforces.' },
  { section: 'oslo_limit', name: 'certfile', type: 'path', sample: '/etc/glimpse/tls/glimpse-client.crt',
    help: 'PEM client certificate presented to Keystone when reading the limits, when Keystone requires one (with keyfile).' },
  { section: 'oslo_limit', name: 'keyfile', type: 'path', sample: '/etc/glimpse/tls/glimpse-client.key',
    help: 'PEM private key of certfile.' },
  { section: 'oslo_limit', name: 'project_domain_id', type: 'string', sample: 'default', help: 'Domain id of project_name (instead of project_domain_name).' },
  { section: 'glimpse_quotas', name: 'limits_cache_time', type: 'int', default: '10', min: 0, max: 3600,
    help: 'Seconds the limits read from Keystone are reused before Keystone is asked again (a changed limit takes effect at most this late). 0 asks on every check.' },
  { section: 'glimpse_quotas', name: 'reservation_lease', type: 'int', default: '60', min: 5, max: 3600,
    help: 'Seconds a quota reservation outlives its process: a node renews its reservations every third of this, and the recovery sweep releases those of a node that stopped.' },
  { section: 'glimpse_transfers', name: 'buffer_budget', type: 'size', default: '256MB',
    help: 'Memory, in bytes with an optional KB, MB or GB suffix (powers of 1024), that the transfers of one API process may hold in buffers together. Each upload, stage, import or download reserves 2 MB of it while it runs; when it is used up, new transfers wait, then get 503 with Retry-After. 0 means no limit.' },
  { section: 'glimpse_transfers', name: 'budget_wait', type: 'int', default: '5', min: 0, max: 3600,
    help: 'Seconds a new transfer waits for room in buffer_budget before it is refused with 503; also the Retry-After the refusal carries (at least 1).' },
];

export function sectionDef(name: string): SectionDef | undefined {
  return SECTIONS.find((s) => s.name === name);
}

export function optionsOf(section: string): OptionDef[] {
  return OPTIONS.filter((o) => o.section === section);
}

export function optionDef(section: string, name: string): OptionDef | undefined {
  return OPTIONS.find((o) => o.section === section && o.name === name);
}

/** Whether `[section] name` is a Glance option that Glimpse recognises but ignores for now. */
export function isNotUsedYet(section: SectionDef, name: string): boolean {
  return section.notUsedYet === true || (section.unsupported ?? []).includes(name)
    || (section.unsupportedPrefixes ?? []).some((p) => name.startsWith(p));
}