// Store configuration in either of glance_store's two forms:
// - multi-store: `[DEFAULT] enabled_backends = id:type, …`, `[glance_store] default_backend = id`,
//   and one `[id]` section per backend;
// - legacy single store: `[glance_store] stores / default_store / filesystem_store_datadir`,
//   resolved to one backend with id `file`.
// file, swift, s3, http and rbd stores have a driver. A store type without one (cinder, vmware) is
// fatal when it would receive new image data (the default backend or default_store) and a warning
// otherwise, so a config that also lists, say, an rbd backend still starts and serves the others.
import { resolve } from 'node:path';

import { ConfigError } from './errors.ts';
import { normalizeSectionName } from './ini.ts';
import { KNOWN_STORE_TYPES, SUPPORTED_STORE_TYPES, optionDef, sectionDef } from './schema.ts';
import type { Settings } from './settings.ts';
import type { BackendConfig, GlimpseConfig } from './types.ts';
import { resolveRbd, resolveS3, resolveSwift } from './store-drivers.ts';

interface StoreContext {
  cwd: string;
  warnings: string[];
}

/** Prefix glance_store reserves for its internal stores (staging, tasks). */
const RESERVED_PREFIX = 'os_glance_';

export function resolveStores(s: Settings, ctx: StoreContext): GlimpseConfig['stores'] {
  const enabled = s.optionalDict('DEFAULT', 'enabled_backends');
  return enabled !== undefined && Object.keys(enabled).length > 0 ? multiStore(s, enabled, ctx) : singleStore(s, ctx);
}

function checkBackendIds(enabled: Record<string, string>): void {
  const bad = (problem: string) => new ConfigError(`invalid value for [DEFAULT] enabled_backends: ${problem}`,
    { section: 'DEFAULT', option: 'enabled_backends' });
  const sections = new Map<string, string>();
  for (const [id, type] of Object.entries(enabled)) {
    // Ids travel in URLs (/v2/stores/{id}/…) and comma-separated headers.
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw bad(`backend id "${id}" may contain only letters, digits, "_", "." and "-"`);
    if (id.startsWith(RESERVED_PREFIX)) throw bad(`backend id "${id}" uses the prefix "${RESERVED_PREFIX}" reserved for internal stores`);
    const section = normalizeSectionName(id);
    if (id === 'DEFAULT' || sectionDef(section)) throw bad(`backend id "${id}" is the name of the [${section}] section`);
    const twin = sections.get(section);
    if (twin !== undefined) throw bad(`backend ids "${twin}" and "${id}" differ only in case, so they would share one section`);
    sections.set(section, id);
    if (!KNOWN_STORE_TYPES.includes(type)) {
      throw bad(`store type "${type}" of backend "${id}" is not one of: ${KNOWN_STORE_TYPES.join(', ')}`);
    }
  }
}

function multiStore(s: Settings, enabled: Record<string, string>, ctx: StoreContext): GlimpseConfig['stores'] {
  checkBackendIds(enabled);
  const ids = Object.keys(enabled);
  const defaultBackend = s.optionalString('glance_store', 'default_backend');
  if (defaultBackend === undefined) {
    throw new ConfigError(`[glance_store] default_backend must be set when [DEFAULT] enabled_backends is set (to one of: ${ids.join(', ')})`,
      { section: 'glance_store', option: 'default_backend' });
  }
  if (!ids.includes(defaultBackend)) {
    throw new ConfigError(`invalid value for [glance_store] default_backend: "${defaultBackend}" is not one of the ids in `
      + `[DEFAULT] enabled_backends (${ids.join(', ')})`, { section: 'glance_store', option: 'default_backend' });
  }
  for (const legacy of ['stores', 'default_store', 'filesystem_store_datadir']) {
    if (s.isSet('glance_store', legacy)) {
      ctx.warnings.push(`[glance_store] ${legacy} is ignored because [DEFAULT] enabled_backends is set`);
    }
  }

  const backends = ids.map((id): BackendConfig => {
    const type = enabled[id]!;
    const section = normalizeSectionName(id);
    const backend: BackendConfig = { id, type, weight: s.number(section, 'weight'), options: s.raw(section) };
    const description = s.optionalString(section, 'store_description');
    if (description !== undefined) backend.description = description;
    if (type === 'file') {
      const dir = s.optionalString(section, 'filesystem_store_datadir');
      if (dir === undefined) {
        throw new ConfigError(`[${section}] filesystem_store_datadir must be set: "${id}" is a file backend`,
          { section, option: 'filesystem_store_datadir' });
      }
      backend.filesystemStoreDatadir = resolve(ctx.cwd, dir);
    } else if (type === 'swift') {
      backend.swift = resolveSwift(s, section, ctx);
    } else if (type === 's3') {
      backend.s3 = resolveS3(s, section, ctx);
    } else if (type === 'rbd') {
      backend.rbd = resolveRbd(s, section, ctx);
    } else if (!SUPPORTED_STORE_TYPES.includes(type)) {
      if (id === defaultBackend) {
        throw new ConfigError(`store type "${type}" of the default backend "${id}" is not supported yet (${SUPPORTED_LIST}); `
          + 'choose another backend as [glance_store] default_backend', { section: 'glance_store', option: 'default_backend' });
      }
      ctx.warnings.push(`store type "${type}" of backend "${id}" is not supported yet (${SUPPORTED_LIST}); `
        + 'the backend is unavailable');
    }
    if (type === 'http' && id === defaultBackend) {
      ctx.warnings.push(`the default backend "${id}" is an http store, which is read-only: uploads will be refused (410)`);
    }
    return backend;
  });
  return { multiStore: true, defaultBackend, backends };
}

function singleStore(s: Settings, ctx: StoreContext): GlimpseConfig['stores'] {
  if (s.isSet('glance_store', 'default_backend')) {
    ctx.warnings.push('[glance_store] default_backend is ignored because [DEFAULT] enabled_backends is not set');
  }
  const defaultType = storeType(s.string('glance_store', 'default_store'));
  if (defaultType === undefined || !SUPPORTED_STORE_TYPES.includes(defaultType)) {
    throw new ConfigError(`store type "${s.string('glance_store', 'default_store')}" ([glance_store] default_store) is not supported yet `
      + `(${SUPPORTED_LIST})`, { section: 'glance_store', option: 'default_store' });
  }
  const types = optionDef('glance_store', 'default_store')?.choices ?? [];
  const stores = s.list('glance_store', 'stores');
  const loaded: string[] = [];
  for (const store of stores) {
    if (!types.includes(store)) {
      throw new ConfigError(`invalid value for [glance_store] stores: "${store}" is not one of: ${types.join(', ')}`,
        { section: 'glance_store', option: 'stores' });
    }
    const type = storeType(store);
    if (type === undefined || !SUPPORTED_STORE_TYPES.includes(type)) {
      ctx.warnings.push(`[glance_store] stores: store type "${store}" is not supported yet; ignored`);
    } else if (!loaded.includes(type)) {
      loaded.push(type);
    }
  }
  if (!loaded.includes(defaultType)) {
    throw new ConfigError(`[glance_store] stores must include "${defaultType}", the default store`, { section: 'glance_store', option: 'stores' });
  }
  // One backend per store type, with the type as its id (glance_store's single-store form).
  const backends = loaded.map((type): BackendConfig => {
    const backend: BackendConfig = { id: type, type, weight: 0, options: s.raw('glance_store') };
    if (type === 'file') backend.filesystemStoreDatadir = resolve(ctx.cwd, s.string('glance_store', 'filesystem_store_datadir'));
    if (type === 'swift') backend.swift = resolveSwift(s, 'glance_store', ctx);
    if (type === 's3') backend.s3 = resolveS3(s, 'glance_store', ctx);
    if (type === 'rbd') backend.rbd = resolveRbd(s, 'glance_store', ctx);
    return backend;
  });
  return { multiStore: false, defaultBackend: defaultType, backends };
}

const SUPPORTED_LIST = `supported: ${SUPPORTED_STORE_TYPES.join(', ')}`;

/** glance_store's scheme-style aliases in `stores` / `default_store` → the driver type. */
function storeType(name: string): string | undefined {
  if (name === 'file' || name === 'filesystem') return 'file';
  if (name === 'http' || name === 'https') return 'http';
  if (name.startsWith('swift')) return 'swift';
  if (name === 's3' || name === 'rbd') return name;
  return undefined;
}
