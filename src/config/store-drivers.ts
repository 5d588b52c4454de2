// Resolves the swift, s3 and rbd options of one store section (`[glance_store]` or `[<backend id>]`)
// into the drivers' typed settings, including glance_store's Swift reference file
// (swift_store_config_file + default_swift_reference). Credentials never appear in messages.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './errors.ts';
import { parseIni } from './ini.ts';
import type { Settings } from './settings.ts';
import { tlsClient } from './tls.ts';
import type { RbdBackendConfig, S3BackendConfig, SwiftBackendConfig } from './types.ts';

const MB = 1024 * 1024;

interface Ctx {
  cwd: string;
  warnings: string[];
}

function required(section: string, option: string, value: string | undefined, type: string): string {
  if (value === undefined || value === '') {
    throw new ConfigError(`[${section}] ${option} must be set for a ${type} store`, { section, option });
  }
  return value;
}

export function resolveSwift(s: Settings, section: string, ctx: Ctx): SwiftBackendConfig {
  const file = s.optionalString(section, 'swift_store_config_file');
  const common = {
    region: s.optionalString(section, 'swift_store_region'),
    endpoint: s.optionalString(section, 'swift_store_endpoint'),
    endpointType: s.string(section, 'swift_store_endpoint_type'),
    serviceType: s.string(section, 'swift_store_service_type'),
    container: s.string(section, 'swift_store_container'),
    multipleContainersSeed: s.number(section, 'swift_store_multiple_containers_seed'),
    createContainerOnPut: s.boolean(section, 'swift_store_create_container_on_put'),
    largeObjectSize: s.number(section, 'swift_store_large_object_size') * MB,
    largeObjectChunkSize: s.number(section, 'swift_store_large_object_chunk_size') * MB,
    tls: tlsClient(s, ctx.cwd, section, { ca: 'swift_store_cacert', insecure: 'swift_store_auth_insecure' }),
  };
  if (file !== undefined) {
    const reference = s.string(section, 'default_swift_reference');
    return { ...common, ...readReference(resolve(ctx.cwd, file), reference, section), reference };
  }
  const authVersion = s.string(section, 'swift_store_auth_version');
  return {
    ...common,
    authVersion: authVersion === '1' ? '1' : '3',
    authAddress: required(section, 'swift_store_auth_address', s.optionalString(section, 'swift_store_auth_address'), 'swift'),
    user: required(section, 'swift_store_user', s.optionalString(section, 'swift_store_user'), 'swift'),
    key: required(section, 'swift_store_key', s.optionalString(section, 'swift_store_key'), 'swift'),
  };
}

/** One `[reference]` of glance_store's Swift account file (glance-swift.conf). */
function readReference(path: string, reference: string, section: string) {
  const option = 'swift_store_config_file';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`[${section}] ${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { section, option });
  }
  const doc = parseIni(text, path);
  const entries = doc.sections.filter((sec) => sec.name === reference).flatMap((sec) => sec.entries);
  if (entries.length === 0) {
    throw new ConfigError(`[${section}] default_swift_reference: ${path} has no section [${reference}]`,
      { section, option: 'default_swift_reference' });
  }
  const get = (key: string) => entries.filter((e) => e.key === key).at(-1)?.value;
  const need = (key: string) => {
    const value = get(key);
    if (!value) throw new ConfigError(`${path} [${reference}]: ${key} must be set`, { section, option });
    return value;
  };
  const domainIdDefault = (id: string | undefined, name: string | undefined) => (id ?? (name ? undefined : 'default'));
  return {
    authVersion: (get('auth_version') ?? '2') === '1' ? '1' as const : '3' as const,
    authAddress: need('auth_address'),
    user: need('user'),
    key: need('key'),
    userDomainId: domainIdDefault(get('user_domain_id'), get('user_domain_name')),
    userDomainName: get('user_domain_name'),
    projectDomainId: domainIdDefault(get('project_domain_id'), get('project_domain_name')),
    projectDomainName: get('project_domain_name'),
  };
}

export function resolveS3(s: Settings, section: string, ctx: Ctx): S3BackendConfig {
  const host = required(section, 's3_store_host', s.optionalString(section, 's3_store_host'), 's3');
  return {
    host,
    accessKey: required(section, 's3_store_access_key', s.optionalString(section, 's3_store_access_key'), 's3'),
    secretKey: required(section, 's3_store_secret_key', s.optionalString(section, 's3_store_secret_key'), 's3'),
    bucket: required(section, 's3_store_bucket', s.optionalString(section, 's3_store_bucket'), 's3'),
    createBucketOnPut: s.boolean(section, 's3_store_create_bucket_on_put'),
    bucketUrlFormat: s.string(section, 's3_store_bucket_url_format') as S3BackendConfig['bucketUrlFormat'],
    largeObjectSize: s.number(section, 's3_store_large_object_size') * MB,
    largeObjectChunkSize: s.number(section, 's3_store_large_object_chunk_size') * MB,
    threadPools: s.number(section, 's3_store_thread_pools'),
    region: s.optionalString(section, 's3_store_region') ?? regionOfHost(host),
    tls: tlsClient(s, ctx.cwd, section, { ca: 's3_store_cacert' }),
  };
}

/** glance_store's rule: an AWS regional host names its region; anything else is signed for us-east-1. */
function regionOfHost(host: string): string {
  const name = host.replace(/^https?:\/\//i, '').split(/[/:]/)[0]!.toLowerCase();
  return /^s3[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(name)?.[1] ?? 'us-east-1';
}

export function resolveRbd(s: Settings, section: string, ctx: Ctx): RbdBackendConfig {
  const chunkMb = s.number(section, 'rbd_store_chunk_size');
  if ((chunkMb & (chunkMb - 1)) !== 0) {
    ctx.warnings.push(`[${section}] rbd_store_chunk_size = ${chunkMb} is not a power of two; RBD objects of ${2 ** Math.floor(Math.log2(chunkMb))} MB are used`);
  }
  const conf = s.string(section, 'rbd_store_ceph_conf');
  return {
    pool: s.string(section, 'rbd_store_pool'),
    user: s.optionalString(section, 'rbd_store_user'),
    confFile: conf === '' ? '' : resolve(ctx.cwd, conf),
    chunkSize: chunkMb * MB,
    connectTimeout: s.number(section, 'rados_connect_timeout'),
    thinProvisioning: s.boolean(section, 'rbd_thin_provisioning'),
  };
}
