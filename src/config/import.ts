// `[DEFAULT] enabled_import_methods / node_staging_uri / worker_self_reference_url`,
// `[os_glance_staging_store]` and `[task]` → GlimpseConfig.imageImport and .tasks.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importMethodList } from './schema.ts';
import type { Settings } from './settings.ts';
import type { GlimpseConfig } from './types.ts';

/** The staging directory when neither option names one (relative to the working directory). */
const DEFAULT_STAGING_DIR = './data/staging';

export function resolveImport(s: Settings, cwd: string): GlimpseConfig['imageImport'] {
  const storeDir = s.optionalString('os_glance_staging_store', 'filesystem_store_datadir');
  const uri = s.optionalString('DEFAULT', 'node_staging_uri');
  const stagingDir = storeDir !== undefined ? resolve(cwd, storeDir)
    : uri !== undefined ? fileURLToPath(uri) : resolve(cwd, DEFAULT_STAGING_DIR);
  const selfReferenceUrl = s.optionalString('DEFAULT', 'worker_self_reference_url');
  return {
    methods: [...new Set(importMethodList(s.list('DEFAULT', 'enabled_import_methods')))],
    stagingDir,
    ...(selfReferenceUrl === undefined ? {} : { selfReferenceUrl }),
  };
}

export function resolveTasks(s: Settings): GlimpseConfig['tasks'] {
  return {
    timeToLiveHours: s.number('task', 'task_time_to_live'),
    runWorkerInApi: s.boolean('task', 'run_worker_in_api'),
    leaseSeconds: s.number('task', 'lease_duration'),
    pollIntervalSeconds: s.number('task', 'poll_interval'),
    recoveryIntervalSeconds: s.number('task', 'recovery_interval'),
  };
}
