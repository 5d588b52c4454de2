// Interoperable import's state on the image (Glance's reserved os_glance_ properties) and its
// methods: shared by the request side (services/image-import.ts) and the task side
// (tasks/image-import.ts, tasks/legacy-import.ts).

/** Image properties the import keeps its state in (all in the reserved os_glance_ namespace). */
export const IMPORT_PROPS = {
  lock: 'os_glance_import_task',
  importing: 'os_glance_importing_to_stores',
  failed: 'os_glance_failed_import',
  stageHost: 'os_glance_stage_host',
  /** Glimpse: why the last import of the image failed (Glance keeps no reason on the image). */
  error: 'os_glance_import_error',
} as const;

export type ImportMethod = 'glance-direct' | 'web-download' | 'copy-image' | 'glance-download';
