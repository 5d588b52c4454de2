// The Task entity: an asynchronous job (image import) that any node's worker may run.
// Status moves pending → processing → success | failure (pending → failure too); a finished task
// expires `task_time_to_live` hours after it finished and then disappears from listings.

export const taskStatuses = ['pending', 'processing', 'success', 'failure'] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/**
 * `import`: the legacy tasks API import; `api_image_import`: interoperable import (POST /import);
 * `location_import`: a location added through the 2.17 locations API (POST /locations), read and
 * hashed before the image goes active; `v1_copy_from`: the copy of Images API v1's
 * x-glance-api-copy-from (Glimpse's own, internal).
 */
export const taskTypes = ['import', 'api_image_import', 'location_import', 'v1_copy_from'] as const;
export type TaskType = (typeof taskTypes)[number];

/**
 * Tasks Glimpse runs for itself through the task engine (for leases and takeover), which Glance
 * runs in-process: the tasks API never shows them (Glance's task schema knows no such type).
 */
export const internalTaskTypes: readonly TaskType[] = ['v1_copy_from'];

export function isInternalTask(task: Pick<Task, 'type'>): boolean {
  return internalTaskTypes.includes(task.type);
}

export interface Task {
  id: string;
  type: TaskType;
  status: TaskStatus;
  /** Project that owns the task (the caller's project). */
  owner: string;
  imageId: string | null;
  requestId: string | null;
  userId: string | null;
  input: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  /** Why the task failed (or a note on success); '' when there is nothing to say. */
  message: string;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deleted: boolean;
  deletedAt: Date | null;
}

/** The worker's hold on a running task (columns beside the task, never shown by the API). */
export interface TaskLease {
  owner: string;
  expiresAt: Date;
  /** How many times a worker has claimed the task (1 on the first run). */
  attempts: number;
}

export function isFinished(status: TaskStatus): boolean {
  return status === 'success' || status === 'failure';
}
