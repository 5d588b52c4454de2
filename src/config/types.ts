// The resolved, validated configuration that the rest of Glimpse receives.
// The loader (config/load.ts) maps Glance's option names in glance-api.conf onto this shape;
// nothing outside config/ parses INI text or reads GLIMPSE_* variables.

import type { ImportPluginName } from './import-plugins.ts';

export type AuthFlavor = 'noauth' | 'trusted-auth' | 'keystone';

export interface BackendConfig {
  /** Store id as operators name it (`fast` in `enabled_backends = fast:file`); `file` in legacy single-store form. */
  id: string;
  /** Driver type: file, http, swift, s3, rbd, cinder, vmware (cinder and vmware have no driver: the loader
   *  refuses them for the default backend and warns about them for the others). */
  type: string;
  description?: string;
  weight: number;
  /** Raw options of the backend's section, Glance names (`filesystem_store_datadir`, …), for the driver to read. */
  options: Record<string, string>;
  /** For type=file: absolute data directory. */
  filesystemStoreDatadir?: string;
  /** For type=swift. */
  swift?: SwiftBackendConfig;
  /** For type=s3. */
  s3?: S3BackendConfig;
  /** For type=rbd. */
  rbd?: RbdBackendConfig;
}

/** An rbd backend (glance_store's rbd_store_* options). */
export interface RbdBackendConfig {
  /** rbd_store_pool */
  pool: string;
  /** rbd_store_user: the client name without `client.`; undefined = librados' default (admin). */
  user?: string;
  /** rbd_store_ceph_conf; '' = librados' search path (/etc/ceph/ceph.conf …). */
  confFile: string;
  /** rbd_store_chunk_size in bytes (a power of two: the object size). */
  chunkSize: number;
  /** rados_connect_timeout in seconds; < 0 keeps librados' defaults. */
  connectTimeout: number;
  /** rbd_thin_provisioning: all-zero chunks are not written (they read back as zeros). */
  thinProvisioning: boolean;
}

/** Outbound TLS of one client (Keystone, Swift, S3): whom to trust, and the client certificate to present. */
export interface TlsClientConfig {
  /** PEM CA bundle trusted instead of Node.js's; unset = Node.js's (and NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  /** Skip certificate checks (test setups). */
  insecure: boolean;
  certFile?: string;
  keyFile?: string;
}

/** A swift backend: the credentials the driver authenticates with, and where and how it stores. */
export interface SwiftBackendConfig extends SwiftCredentials {
  /** Set when the credentials come from swift_store_config_file: locations are swift+config://<reference>/…. */
  reference?: string;
  endpointType: string;
  serviceType: string;
  container: string;
  multipleContainersSeed: number;
  createContainerOnPut: boolean;
  /** Bytes. */
  largeObjectSize: number;
  /** Bytes. */
  largeObjectChunkSize: number;
  /** swift_store_cacert / swift_store_auth_insecure. */
  tls: TlsClientConfig;
}

export interface S3BackendConfig {
  host: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  createBucketOnPut: boolean;
  bucketUrlFormat: 'auto' | 'path' | 'virtual';
  /** Bytes. */
  largeObjectSize: number;
  /** Bytes. */
  largeObjectChunkSize: number;
  threadPools: number;
  region: string;
  /** s3_store_cacert. */
  tls: TlsClientConfig;
}

export interface KeystoneAuthConfig {
  /** Identity v3 base URL, always ending in /v3. */
  authUrl: string;
  /** Sent to clients in `WWW-Authenticate: Keystone uri="…"`. */
  wwwAuthenticateUri: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  /** Seconds; 0 = no cache. */
  tokenCacheTime: number;
  /** Seconds. */
  timeout: number;
  serviceTokenRoles: string[];
  serviceTokenRolesRequired: boolean;
  /** cafile, insecure, certfile, keyfile. */
  tls: TlsClientConfig;
}

/** `[import_filtering_opts]`: what the outbound fetcher (src/net/) may download from, and its limits. */
export interface ImportFilteringConfig {
  allowedSchemes: string[];
  disallowedSchemes: string[];
  allowedHosts: string[];
  disallowedHosts: string[];
  allowedPorts: number[];
  disallowedPorts: number[];
  /** Glimpse only: redirects followed per fetch. */
  maxRedirects: number;
  /** Glimpse only, milliseconds: DNS + connect of each hop. */
  connectTimeoutMs: number;
  /** Glimpse only, milliseconds without data (headers or body). */
  readTimeoutMs: number;
  /** Glimpse only, milliseconds for a whole fetch; 0 = no limit. */
  totalTimeoutMs: number;
}

/** Notifications: `[oslo_messaging_notifications]`, `[oslo_messaging_rabbit]` and `[DEFAULT]`'s messaging options. */
export interface NotificationsConfig {
  /** `driver` (oslo.messaging's names); empty or only noop = no notifications. */
  drivers: ('messagingv2' | 'messaging' | 'log' | 'noop')[];
  /** The broker URL (`[oslo_messaging_notifications] transport_url`, else `[DEFAULT] transport_url`). */
  transportUrl?: string;
  topics: string[];
  /** `control_exchange`: the exchange notifications are published to (Glance: glance). */
  exchange: string;
  publisherId: string;
  disabled: string[];
  rabbit: {
    durable: boolean;
    autoDelete: boolean;
    haQueues: boolean;
    quorumQueue: boolean;
    ssl: boolean;
    sslCaFile?: string;
    sslCertFile?: string;
    sslKeyFile?: string;
    heartbeatSeconds: number;
    retryIntervalSeconds: number;
    retryMaxSeconds: number;
  };
  /** Glimpse only: rows the outbox may hold; new notifications are dropped (and logged) beyond it. */
  outboxMaxRows: number;
  /** Glimpse only: seconds the relay's lease lasts without renewal (how soon another node takes over). */
  relayLeaseSeconds: number;
}

export interface GlimpseConfig {
  /** Path of the config file the values came from, if any. */
  sourceFile?: string;
  bindHost: string;
  bindPort: number;
  /** Worker processes; 0 and 1 both mean a single serving process (Glance: 0 = no child processes). */
  workers: number;
  /** Seconds a stopping process waits for in-flight requests (oslo.service's graceful_shutdown_timeout). */
  gracefulShutdownTimeout: number;
  /** Seconds a client connection may stay silent (also in the middle of a request body); 0 = no limit. */
  clientSocketTimeout: number;
  /** false: every response closes its connection (Glance's http_keepalive). */
  httpKeepalive: boolean;
  publicEndpoint?: string;
  /** `cert_file` / `key_file` / `ca_file`: the API serves HTTPS (client certificates required with a CA). */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /** `[metrics]`: Prometheus endpoint, on the API port or on a listener of its own (bindPort set). */
  metrics: { enabled: boolean; bindHost: string; bindPort?: number };
  imageSizeCap: number;
  /** Bytes; 0 = unlimited. Parsed from Glance's `user_storage_quota` (B/KB/MB/GB/TB suffixes). */
  userStorageQuota: number;
  /** `use_keystone_limits` with `[oslo_limit]` and `[glimpse_quotas]`, resolved when it is on (decision 0021). */
  keystoneLimits?: KeystoneLimitsConfig;
  /** `[glimpse_quotas] reservation_lease`, seconds. */
  quotaReservationLease: number;
  /** `[glimpse_transfers]`: the process-wide budget for transfer buffers (bytes, 0 = none) and the wait for room. */
  transfers: { bufferBudget: number; budgetWaitSeconds: number };
  notifications: NotificationsConfig;
  apiLimitMax: number;
  limitParamDefault: number;
  showImageDirectUrl: boolean;
  showMultipleLocations: boolean;
  delayedDelete: boolean;
  /** `glimpse scrubber`: removing the data of `pending_delete` images (delayed_delete). */
  scrubber: {
    scrubTimeSeconds: number;
    wakeupTimeSeconds: number;
    poolSize: number;
  };
  enableV1Api: boolean;
  enableV2Api: boolean;
  hashingAlgorithm: string;
  imageMemberQuota: number;
  imagePropertyQuota: number;
  imageTagQuota: number;
  imageLocationQuota: number;
  maxRequestIdLength: number;
  /** Glance's `image_cache_dir`; the image cache and its API are on when set. */
  imageCacheDir?: string;
  /** The image cache (src/cache/), resolved when `image_cache_dir` is set. */
  imageCache?: ImageCacheConfig;
  /** `[image_format]`: the values allowed in `disk_format` / `container_format`. */
  imageFormat: {
    diskFormats: string[];
    containerFormats: string[];
    requireFormatMatch: boolean;
    vmdkAllowedTypes: string[];
    gptSafetyChecksNonfatal: string[];
  };
  database: {
    /** SQLAlchemy-style URL as written by the operator. */
    connection: string;
  };
  stores: {
    /** true when `enabled_backends` is set (multi-store API features and versions). */
    multiStore: boolean;
    defaultBackend: string;
    backends: BackendConfig[];
  };
  auth: {
    flavor: AuthFlavor;
    /** `+cachemanagement` (or any other `+suffix`) present in `[paste_deploy] flavor`. */
    flavorSuffixes: string[];
    /** `[DEFAULT] allow_anonymous_access`: no credentials → anonymous caller instead of 401. */
    allowAnonymousAccess: boolean;
    /** `[keystone_authtoken]`, resolved when the flavor is keystone. */
    keystone?: KeystoneAuthConfig;
  };
  propertyProtection: {
    file?: string;
    ruleFormat: 'roles' | 'policies';
  };
  policy: {
    policyFile?: string;
  };
  /** `schema-image.json` beside the config file: the operator's extra image properties (as in Glance). */
  imageSchemaFile?: string;
  healthcheck: {
    /** oslo.middleware `disable_by_file_path`: when this file exists, /healthcheck answers 503. */
    disableByFilePath?: string;
    /** oslo.middleware `detailed`: report each part (database, stores, task worker) instead of a bare OK. */
    detailed: boolean;
  };
  /** What `glimpse serve` does when its default store is unusable at start (`unusable_store_at_start`). */
  unusableStoreAtStart: 'warn' | 'refuse';
  importFiltering: ImportFilteringConfig;
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
    /** `use_json`: true → json, false → text, unset → auto (text on a terminal, JSON otherwise). */
    format: 'auto' | 'text' | 'json';
    /** Absolute `log_file` (joined to `log_dir` when relative). */
    file?: string;
    /** Absolute `log_dir`; without `file`, the log goes to `<dir>/<command name>.log`. */
    dir?: string;
    /** `use_syslog`: the syslog facility (`LOG_USER`…) of the messages. */
    syslogFacility?: string;
  };
  /** `[image_import_opts] image_import_plugins` (in order) and the plugins' own options. */
  importPlugins: {
    plugins: ImportPluginName[];
    conversion: { outputFormat: string; timeoutSeconds: number };
    inject: { ignoreUserRoles: string[]; properties: Record<string, string> };
  };
  /** Interoperable image import (issue 8). */
  imageImport: {
    /** `enabled_import_methods`. */
    methods: string[];
    /** Absolute directory of the staging area (shared by every node). */
    stagingDir: string;
    /** `worker_self_reference_url`, recorded as os_glance_stage_host. */
    selfReferenceUrl?: string;
  };
  /** `[key_manager]` / `[barbican]`: where the certificates of signed images are read (castellan's options). */
  keyManager: {
    backend: 'barbican';
    barbican: {
      endpoint?: string;
      apiVersion: string;
      authEndpoint: string;
      endpointType: string;
      regionName?: string;
      verifySsl: boolean;
      verifySslPath?: string;
    };
  };
  /** `[task]`: the task engine. */
  tasks: {
    timeToLiveHours: number;
    runWorkerInApi: boolean;
    leaseSeconds: number;
    pollIntervalSeconds: number;
    /** Seconds between recovery sweeps (tasks/recovery.ts). */
    recoveryIntervalSeconds: number;
  };
}

/** How the Swift store authenticates (the swift_store_* options of one store; stores/swift/swift-auth.ts). */
export interface SwiftCredentials {
  /** `1` (tempauth/swauth) or `3` (Keystone v3; `2` is read as 3, Keystone no longer serves v2.0). */
  authVersion: '1' | '3';
  /** tempauth: the auth URL (…/auth/v1.0); Keystone: the identity URL (…/v3). */
  authAddress: string;
  /** tempauth `account:user`; Keystone `project:user` (glance_store's form). */
  user: string;
  key: string;
  userDomainId?: string;
  userDomainName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
  /** Keystone catalog filters. */
  region?: string;
  /** glance_store spelling: publicURL, internalURL or adminURL. */
  endpointType?: string;
  serviceType?: string;
  /** swift_store_endpoint: use this storage URL instead of the one auth returns. */
  endpoint?: string;
}

export interface ImageCacheConfig {
  dir: string;
  maxSize: number;
  stallTimeSeconds: number;
  prefetcherIntervalSeconds: number;
  /** This node's name in the shared cache metadata (worker_self_reference_url or http://<hostname>:<port>). */
  node: string;
}

/** `[oslo_limit]`: where Glimpse reads the unified limits of its endpoint, and as whom. */
export interface KeystoneLimitsConfig {
  /** Keystone v3 base URL (ends in /v3). */
  authUrl: string;
  username: string;
  password: string;
  userDomainName: string;
  userDomainId?: string;
  /** `all`: a system-scoped token; undefined: scoped to projectName. */
  systemScope?: string;
  projectName?: string;
  projectDomainName: string;
  projectDomainId?: string;
  endpointId?: string;
  endpointServiceName?: string;
  endpointServiceType?: string;
  endpointRegionName?: string;
  /** public / internal / admin (a legacy `URL` suffix removed). */
  endpointInterface: string;
  /** Seconds limits are reused; 0 = ask Keystone on every check. */
  cacheSeconds: number;
  /** Seconds to wait for Keystone. */
  timeout: number;
  /** cafile, insecure, certfile, keyfile (keystoneauth's names). */
  tls: TlsClientConfig;
}
