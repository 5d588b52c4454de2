// Task repository port. The implementation is src/db/task-repository.ts; its contract suite is
// test/contract/task-repository.test.ts (all three SQL dialects).
import type { Task, TaskLease, TaskStatus, TaskType } from '../domain/task.ts';
import type { Emit } from './events.ts';

/** Notifications of a task change, written in its transaction (ports/events.ts). */
export interface TaskEmit {
  emit?: Emit<Task>;
}

export type TaskSortKey = 'created_at' | 'updated_at' | 'id' | 'status' | 'type' | 'expires_at' | 'owner';

export interface TaskListQuery {
  /** undefined = every owner (admin); otherwise only this project's tasks. */
  owner?: string;
  status?: TaskStatus;
  type?: TaskType;
  sortKey: TaskSortKey;
  sortDir: 'asc' | 'desc';
  limit: number;
  /** The task the previous page ended with. */
  marker?: Task;
  /** Tasks whose expires_at is before this are left out (expired). */
  now: Date;
}

/** A claimed task: the task and the lease this worker now holds. */
export interface ClaimedTask {
  task: Task;
  lease: TaskLease;
}

export interface TaskRepository {
  create(task: Task, options?: TaskEmit): Promise<Task>;
  /** A task by id, unless deleted or expired before `now`. */
  get(id: string, now: Date): Promise<Task | undefined>;
  /** Tasks as the tasks API lists them: internal tasks (domain/task.ts internalTaskTypes) are left out. */
  list(query: TaskListQuery): Promise<Task[]>;
  /** The image's tasks, newest first, unless deleted, expired or internal; `owner` restricts to one project. */
  listForImage(imageId: string, now: Date, owner?: string): Promise<Task[]>;

  /**
   * Takes one runnable task for `worker`: a pending task without a live lease, or a processing task
   * whose lease expired before `now` (its worker died). Compare-and-set on the lease columns, so of
   * several workers exactly one gets a task. The task becomes processing, attempts grows by one.
   */
  claim(worker: string, now: Date, leaseUntil: Date, preferId?: string, options?: TaskEmit): Promise<ClaimedTask | undefined>;
  /**
   * Extends the lease and marks the task alive (updated_at = now, which the import lock's staleness
   * rule reads); false when `worker` no longer holds it (another worker took the task over).
   */
  renew(id: string, worker: string, now: Date, leaseUntil: Date): Promise<boolean>;
  /** Hands an unfinished task back (e.g. on shutdown): pending again, so another worker may claim it at once. */
  release(id: string, worker: string): Promise<void>;
  /**
   * Records the outcome and drops the lease, only while `worker` holds it (false otherwise). Without
   * a worker (`null`), only a task that is not processing changes (a pending task failed before it ran).
   */
  finish(id: string, worker: string | null, outcome: {
    status: Extract<TaskStatus, 'success' | 'failure'>;
    result: Record<string, unknown> | null;
    message: string;
    expiresAt: Date;
    now: Date;
  }, options?: TaskEmit): Promise<boolean>;
  /** Stores the task's result so far (progress), while `worker` holds it. */
  saveResult(id: string, worker: string, result: Record<string, unknown>, now: Date): Promise<boolean>;
}
