// Turns validated settings (Glance option names) into GlimpseConfig: resolves paths, stores,
// authentication and logging, and checks the rules that span several options.
// Relative paths (data directories, cache, healthcheck file) are relative to the working directory,
// as they are for Glance; the policy file is looked up beside the config file, as oslo.policy does.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

import { ConfigError } from './errors.ts';
import { KNOWN_FLAVOR_SUFFIXES, parseFlavor } from './flavor.ts';
import { resolveImportPlugins } from './import-plugins.ts';
import type { Settings } from './settings.ts';
import { resolveStores } from './stores.ts';
import { resolveImport, resolveTasks } from './import.ts';
import { resolveImageCache } from './cache.ts';
import { resolveNotifications } from './notifications.ts';
import type { GlimpseConfig, ImportFilteringConfig, KeystoneAuthConfig, KeystoneLimitsConfig } from './types.ts';
import { readableFile, tlsClient } from './tls.ts';

export interface ResolveContext {
  cwd: string;
  /** Absolute path of the config file, if one was read. */
  file: string | undefined;
  warnings: string[];
}

export function resolveConfig(s: Settings, ctx: ResolveContext): GlimpseConfig {
  const path = (section: string, name: string): string | undefined => {
    const value = s.optionalString(section, name);
    return value === undefined ? undefined : resolve(ctx.cwd, value);
  };
  const apiLimitMax = s.number('DEFAULT', 'api_limit_max');
  const limitParamDefault = s.number('DEFAULT', 'limit_param_default');
  if (limitParamDefault > apiLimitMax) {
    ctx.warnings.push(`[DEFAULT] limit_param_default (${limitParamDefault}) is larger than api_limit_max (${apiLimitMax}); `
      + 'pages are capped at api_limit_max');
  }
  if (s.isSet('paste_deploy', 'config_file')) {
    ctx.warnings.push('[paste_deploy] config_file is ignored: Glimpse has no paste pipeline file');
  }
  const config: GlimpseConfig = {
    bindHost: s.string('DEFAULT', 'bind_host'),
    bindPort: s.number('DEFAULT', 'bind_port'),
    workers: s.number('DEFAULT', 'workers'),
    gracefulShutdownTimeout: s.number('DEFAULT', 'graceful_shutdown_timeout'),
    clientSocketTimeout: s.number('DEFAULT', 'client_socket_timeout'),
    httpKeepalive: s.boolean('DEFAULT', 'http_keepalive'),
    publicEndpoint: s.optionalString('DEFAULT', 'public_endpoint'),
    tls: resolveServerTls(s, ctx),
    metrics: resolveMetrics(s, ctx),
    imageSizeCap: s.number('DEFAULT', 'image_size_cap'),
    userStorageQuota: s.number('DEFAULT', 'user_storage_quota'),
    keystoneLimits: s.boolean('DEFAULT', 'use_keystone_limits') ? resolveKeystoneLimits(s, ctx.cwd) : undefined,
    quotaReservationLease: s.number('glimpse_quotas', 'reservation_lease'),
    transfers: {
      bufferBudget: s.number('glimpse_transfers', 'buffer_budget'),
      budgetWaitSeconds: s.number('glimpse_transfers', 'budget_wait'),
    },
    notifications: resolveNotifications(s, ctx.warnings),
    apiLimitMax,
    limitParamDefault,
    showImageDirectUrl: s.boolean('DEFAULT', 'show_image_direct_url'),
    showMultipleLocations: s.boolean('DEFAULT', 'show_multiple_locations'),
    delayedDelete: s.boolean('DEFAULT', 'delayed_delete'),
    scrubber: {
      scrubTimeSeconds: s.number('DEFAULT', 'scrub_time'),
      wakeupTimeSeconds: s.number('DEFAULT', 'wakeup_time'),
      poolSize: s.number('DEFAULT', 'scrub_pool_size'),
    },
    enableV1Api: s.boolean('DEFAULT', 'enable_v1_api'),
    enableV2Api: s.boolean('DEFAULT', 'enable_v2_api'),
    hashingAlgorithm: s.string('DEFAULT', 'hashing_algorithm'),
    imageMemberQuota: s.number('DEFAULT', 'image_member_quota'),
    imagePropertyQuota: s.number('DEFAULT', 'image_property_quota'),
    imageTagQuota: s.number('DEFAULT', 'image_tag_quota'),
    imageLocationQuota: s.number('DEFAULT', 'image_location_quota'),
    maxRequestIdLength: s.number('DEFAULT', 'max_request_id_length'),
    imageCacheDir: path('DEFAULT', 'image_cache_dir'),
    imageCache: resolveImageCache(s, path('DEFAULT', 'image_cache_dir')),
    imageFormat: {
      diskFormats: s.list('image_format', 'disk_formats'),
      containerFormats: s.list('image_format', 'container_formats'),
      requireFormatMatch: s.boolean('image_format', 'require_image_format_match'),
      vmdkAllowedTypes: s.list('image_format', 'vmdk_allowed_types'),
      gptSafetyChecksNonfatal: s.list('image_format', 'gpt_safety_checks_nonfatal'),
    },
    database: { connection: s.string('database', 'connection') },
    stores: resolveStores(s, ctx),
    auth: resolveAuth(s, ctx.warnings, ctx.cwd),
    propertyProtection: {
      file: besideConfigIfRelative(ctx, s.optionalString('DEFAULT', 'property_protection_file')),
      ruleFormat: s.string('DEFAULT', 'property_protection_rule_format') as 'roles' | 'policies',
    },
    policy: { policyFile: resolvePolicyFile(s, ctx) },
    imageSchemaFile: besideConfig(ctx, 'schema-image.json'),
    healthcheck: { disableByFilePath: path('healthcheck', 'disable_by_file_path'), detailed: s.boolean('healthcheck', 'detailed') },
    unusableStoreAtStart: s.string('DEFAULT', 'unusable_store_at_start') as 'warn' | 'refuse',
    importFiltering: resolveImportFiltering(s),
    log: resolveLog(s, ctx.cwd, path('DEFAULT', 'log_dir')),
    importPlugins: resolveImportPlugins(s),
    imageImport: resolveImport(s, ctx.cwd),
    tasks: resolveTasks(s),
    keyManager: {
      backend: 'barbican',
      barbican: {
        endpoint: s.optionalString('barbican', 'barbican_endpoint'),
        apiVersion: s.optionalString('barbican', 'barbican_api_version') ?? 'v1',
        authEndpoint: s.string('barbican', 'auth_endpoint'),
        endpointType: s.string('barbican', 'barbican_endpoint_type'),
        regionName: s.optionalString('barbican', 'barbican_region_name'),
        verifySsl: s.boolean('barbican', 'verify_ssl'),
        verifySslPath: path('barbican', 'verify_ssl_path'),
      },
    },
  };
  if (ctx.file !== undefined) config.sourceFile = ctx.file;
  if (!config.enableV1Api && !config.enableV2Api) {
    throw new ConfigError('[DEFAULT] enable_v1_api and enable_v2_api are both false: no API would be served',
      { section: 'DEFAULT', option: 'enable_v2_api' });
  }
  return config;
}

function resolveAuth(s: Settings, warnings: string[], cwd: string): GlimpseConfig['auth'] {
  const parsed = parseFlavor(s.optionalString('paste_deploy', 'flavor') ?? '');
  if ('problem' in parsed) throw new Error('flavor passed validation but does not parse (schema bug)');
  for (const suffix of parsed.suffixes) {
    if (!KNOWN_FLAVOR_SUFFIXES.includes(suffix)) {
      warnings.push(`[paste_deploy] flavor: suffix "+${suffix}" is not one Glance defines (${KNOWN_FLAVOR_SUFFIXES.join(', ')})`);
    }
  }
  const auth: GlimpseConfig['auth'] = {
    flavor: parsed.flavor, flavorSuffixes: parsed.suffixes,
    allowAnonymousAccess: s.boolean('DEFAULT', 'allow_anonymous_access'),
  };
  if (parsed.flavor === 'keystone') auth.keystone = resolveKeystone(s, cwd);
  return auth;
}

/** [keystone_authtoken] for the keystone flavor: the service credentials must all be there. */
function resolveKeystone(s: Settings, cwd: string): KeystoneAuthConfig {
  const need = (name: string): string => {
    const value = s.optionalString('keystone_authtoken', name);
    if (value === undefined || value === '') {
      throw new ConfigError(`[keystone_authtoken] ${name} must be set when [paste_deploy] flavor = keystone`,
        { section: 'keystone_authtoken', option: name });
    }
    return value;
  };
  const base = need('auth_url').replace(/\/+$/, '');
  const authUrl = base.endsWith('/v3') ? base : `${base}/v3`;
  return {
    authUrl,
    wwwAuthenticateUri: s.optionalString('keystone_authtoken', 'www_authenticate_uri') ?? authUrl,
    username: need('username'),
    password: need('password'),
    projectName: need('project_name'),
    userDomainName: s.string('keystone_authtoken', 'user_domain_name'),
    projectDomainName: s.string('keystone_authtoken', 'project_domain_name'),
    tokenCacheTime: s.number('keystone_authtoken', 'token_cache_time'),
    timeout: s.number('keystone_authtoken', 'http_connect_timeout'),
    serviceTokenRoles: s.list('keystone_authtoken', 'service_token_roles').map((r) => r.toLowerCase()),
    serviceTokenRolesRequired: s.boolean('keystone_authtoken', 'service_token_roles_required'),
    tls: tlsClient(s, cwd, 'keystone_authtoken', { ca: 'cafile', insecure: 'insecure', cert: 'certfile', key: 'keyfile' }),
  };
}

/** [oslo_limit] for use_keystone_limits: credentials, and an endpoint id or enough to look one up. */
function resolveKeystoneLimits(s: Settings, cwd: string): KeystoneLimitsConfig {
  const optional = (name: string): string | undefined => {
    const value = s.optionalString('oslo_limit', name);
    return value === undefined || value === '' ? undefined : value;
  };
  const need = (name: string): string => {
    const value = optional(name);
    if (value === undefined) {
      throw new ConfigError(`[oslo_limit] ${name} must be set when [DEFAULT] use_keystone_limits = true`,
        { section: 'oslo_limit', option: name });
    }
    return value;
  };
  const base = need('auth_url').replace(/\/+$/, '');
  const config: KeystoneLimitsConfig = {
    authUrl: base.endsWith('/v3') ? base : `${base}/v3`,
    username: need('username'),
    password: need('password'),
    userDomainName: s.string('oslo_limit', 'user_domain_name'),
    userDomainId: optional('user_domain_id'),
    systemScope: optional('system_scope'),
    projectName: optional('project_name'),
    projectDomainName: s.string('oslo_limit', 'project_domain_name'),
    projectDomainId: optional('project_domain_id'),
    endpointId: optional('endpoint_id'),
    endpointServiceName: optional('endpoint_service_name'),
    endpointServiceType: optional('endpoint_service_type'),
    endpointRegionName: optional('endpoint_region_name'),
    endpointInterface: s.string('oslo_limit', 'endpoint_interface').replace(/URL$/, ''),
    cacheSeconds: s.number('glimpse_quotas', 'limits_cache_time'),
    timeout: 10,
    tls: tlsClient(s, cwd, 'oslo_limit', { ca: 'cafile', insecure: 'insecure', cert: 'certfile', key: 'keyfile' }),
  };
  if (config.systemScope === undefined && config.projectName === undefined) {
    throw new ConfigError('[oslo_limit] system_scope or project_name must be set when [DEFAULT] use_keystone_limits = true',
      { section: 'oslo_limit', option: 'system_scope' });
  }
  if (!config.endpointId && !config.endpointServiceName && !config.endpointServiceType) {
    throw new ConfigError('[oslo_limit] endpoint_id, endpoint_service_type or endpoint_service_name must be set when '
      + '[DEFAULT] use_keystone_limits = true', { section: 'oslo_limit', option: 'endpoint_id' });
  }
  return config;
}

/** A relative path is relative to the config file's directory (else the working directory), as Glance finds such files. */
function besideConfigIfRelative(ctx: ResolveContext, given: string | undefined): string | undefined {
  if (given === undefined || given === '') return undefined;
  return isAbsolute(given) ? given : resolve(ctx.file === undefined ? ctx.cwd : dirname(ctx.file), given);
}

/** A file Glance looks for in the config directory (schema-image.json), if it exists there. */
function besideConfig(ctx: ResolveContext, name: string): string | undefined {
  if (ctx.file === undefined) return undefined;
  const path = join(dirname(ctx.file), name);
  return existsSync(path) ? path : undefined;
}

/** As given (relative → beside the config file, else the working directory); unset → policy.yaml beside the config file if present. */
function resolvePolicyFile(s: Settings, ctx: ResolveContext): string | undefined {
  const base = ctx.file === undefined ? ctx.cwd : dirname(ctx.file);
  const given = s.optionalString('oslo_policy', 'policy_file');
  if (given === undefined) {
    const beside = join(base, 'policy.yaml');
    return ctx.file !== undefined && existsSync(beside) ? beside : undefined;
  }
  const path = isAbsolute(given) ? given : resolve(base, given);
  if (!existsSync(path)) {
    ctx.warnings.push(`[oslo_policy] policy_file ${path} does not exist; the built-in policy defaults apply`);
  }
  return path;
}

/** `[import_filtering_opts]`; host names are compared case-insensitively, so they are kept lowercased. */
function resolveImportFiltering(s: Settings): ImportFilteringConfig {
  const section = 'import_filtering_opts';
  const lower = (name: string) => s.list(section, name).map((v) => v.toLowerCase());
  const ports = (name: string) => s.list(section, name).map(Number);
  const ms = (name: string) => Math.round(s.number(section, name) * 1000);
  return {
    allowedSchemes: lower('allowed_schemes'),
    disallowedSchemes: lower('disallowed_schemes'),
    allowedHosts: lower('allowed_hosts'),
    disallowedHosts: lower('disallowed_hosts'),
    allowedPorts: ports('allowed_ports'),
    disallowedPorts: ports('disallowed_ports'),
    maxRedirects: s.number(section, 'max_redirects'),
    connectTimeoutMs: ms('connect_timeout'),
    readTimeoutMs: ms('read_timeout'),
    totalTimeoutMs: ms('total_timeout'),
  };
}

/** oslo.log's options: level, JSON or text, file (relative to log_dir), syslog. */
function resolveLog(s: Settings, cwd: string, dir: string | undefined): GlimpseConfig['log'] {
  const useJson = s.get('DEFAULT', 'use_json');
  const log: GlimpseConfig['log'] = {
    level: s.boolean('DEFAULT', 'debug') ? 'debug' : 'info',
    format: useJson === undefined ? 'auto' : useJson === true ? 'json' : 'text',
  };
  const file = s.optionalString('DEFAULT', 'log_file');
  if (file !== undefined && file !== '') log.file = resolve(dir ?? cwd, file);
  if (dir !== undefined) log.dir = dir;
  if (s.boolean('DEFAULT', 'use_syslog')) log.syslogFacility = s.string('DEFAULT', 'syslog_log_facility');
  return log;
}

/** cert_file + key_file (both or neither), ca_file only with them; each must be a readable file. */
function resolveServerTls(s: Settings, ctx: ResolveContext): GlimpseConfig['tls'] {
  const file = (name: string) => readableFile(s, ctx.cwd, 'DEFAULT', name);
  const certFile = file('cert_file');
  const keyFile = file('key_file');
  const caFile = file('ca_file');
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) {
      throw new ConfigError('[DEFAULT] ca_file needs cert_file and key_file: client certificates are only asked for over HTTPS',
        { section: 'DEFAULT', option: 'ca_file' });
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined ? 'cert_file' : 'key_file';
    throw new ConfigError(`[DEFAULT] ${missing} must be set too: HTTPS needs both cert_file and key_file`,
      { section: 'DEFAULT', option: missing });
  }
  return { certFile, keyFile, ...(caFile !== undefined ? { caFile } : {}) };
}

function resolveMetrics(s: Settings, ctx: ResolveContext): GlimpseConfig['metrics'] {
  const enabled = s.boolean('metrics', 'enabled');
  const bindPort = s.get('metrics', 'bind_port') as number | undefined;
  if (!enabled && bindPort !== undefined) ctx.warnings.push('[metrics] bind_port is ignored while [metrics] enabled is false');
  if (enabled && bindPort === undefined && s.number('DEFAULT', 'workers') > 1) {
    ctx.warnings.push('[metrics] with workers > 1 and no bind_port: each scrape of /metrics on the API port sees only '
      + 'the worker that answered; set [metrics] bind_port to have the main process add up every worker');
  }
  return { enabled, bindHost: s.string('metrics', 'bind_host'), ...(bindPort !== undefined ? { bindPort } : {}) };
}
