// The tasks API use cases (GET/POST /v2/tasks, GET /v2/tasks/{id}, GET /v2/images/{id}/tasks).
// Every /v2/tasks route is first gated by tasks_api_access (admin by default), then by its own rule,
// as in Glance. A non-admin (when an operator opens the API) sees only its project's tasks.
import { badRequest, notFound } from '../domain/errors.ts';
import type { Task, TaskStatus, TaskType } from '../domain/task.ts';
import { isInternalTask, taskStatuses } from '../domain/task.ts';
import type { RequestContext } from '../ports/context.ts';
import type { Authorizer } from '../ports/policy.ts';
import type { RemoteFetcher } from '../ports/fetch.ts';
import type { TaskRepository, TaskSortKey } from '../ports/tasks.ts';
import type { ImageAccess } from './image-access.ts';

export interface TaskServiceDeps {
  tasks: TaskRepository;
  policy: Authorizer;
  access: ImageAccess;
  fetcher?: RemoteFetcher;
  limitParamDefault: number;
  apiLimitMax: number;
  onTaskCreated?: (taskId: string) => void;
  now?: () => Date;
  newId?: () => string;
}

export interface TaskListRequest {
  limit?: number;
  marker?: string;
  sortKey?: string;
  sortDir?: string;
  status?: string;
  type?: string;
}

const SORT_KEYS: readonly TaskSortKey[] = ['created_at', 'updated_at', 'id', 'status', 'type', 'owner'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function taskNotFound(id: string) {
  return notFound('Task with the given ID {id} was not found', { id }, 'task.not_found');
}

export class TaskService {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: TaskServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => crypto.randomUUID());
  }

  /** tasks_api_access, then the route's own rule. */
  authorizeRoute(ctx: RequestContext, rule?: string): void {
    const target = { project_id: ctx.projectId, owner: ctx.projectId };
    this.deps.policy.enforce('tasks_api_access', target, ctx);
    if (rule) this.deps.policy.enforce(rule, target, ctx);
  }

  /** POST /v2/tasks (type import): the legacy import of `import_from` into a new image. */
  async createTask(ctx: RequestContext, type: unknown, input: unknown): Promise<Task> {
    this.authorizeRoute(ctx, 'add_task');
    if (type !== 'import') throw badRequest('Invalid type value: {type}', { type: String(type) }, 'task.bad_type');
    if (input === undefined || input === null) throw badRequest("Task 'input' is required", {}, 'task.no_input');
    if (typeof input !== 'object' || Array.isArray(input)) throw badRequest("Task 'input' must be an object", {}, 'task.bad_input');
    const given = input as Record<string, unknown>;
    for (const field of ['import_from', 'import_from_format', 'image_properties']) {
      if (given[field] === undefined) throw badRequest("Input does not contain '{field}' field", { field }, 'task.bad_input');
    }
    const uri = given.import_from;
    if (typeof uri !== 'string' || !this.deps.fetcher?.allows(uri)) {
      throw badRequest('URI for legacy import task does not pass filtering: {uri}', { uri: String(uri) }, 'task.uri_filtered');
    }
    const properties = given.image_properties;
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
      throw badRequest("Task 'image_properties' must be an object", {}, 'task.bad_input');
    }
    const now = this.now();
    const task: Task = {
      id: this.newId(), type: 'import', status: 'pending', owner: ctx.projectId ?? '', imageId: this.newId(),
      requestId: ctx.requestId, userId: ctx.userId, input: { ...given }, result: null, message: '',
      expiresAt: null, createdAt: now, updatedAt: now, deleted: false, deletedAt: null,
    };
    await this.deps.tasks.create(task);
    this.deps.onTaskCreated?.(task.id);
    return task;
  }

  async getTask(ctx: RequestContext, id: string): Promise<Task> {
    this.authorizeRoute(ctx, 'get_task');
    const task = await this.deps.tasks.get(id, this.now());
    if (!task || isInternalTask(task) || (!ctx.isAdmin && task.owner !== ctx.projectId)) throw taskNotFound(id);
    return task;
  }

  async getTasks(ctx: RequestContext, request: TaskListRequest): Promise<{ tasks: Task[]; limit: number }> {
    this.authorizeRoute(ctx, 'get_tasks');
    const sortKey = (request.sortKey ?? 'created_at') as TaskSortKey;
    if (!SORT_KEYS.includes(sortKey)) throw badRequest('Sort key supplied was not valid.', {}, 'task.bad_sort_key');
    const sortDir = request.sortDir ?? 'desc';
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw badRequest('Invalid sort direction: {dir}', { dir: sortDir }, 'task.bad_sort_dir');
    }
    if (request.status !== undefined && !(taskStatuses as readonly string[]).includes(request.status)) {
      throw badRequest('Invalid status value: {status}', { status: request.status }, 'task.bad_status');
    }
    if (request.type !== undefined && request.type !== 'import') {
      throw badRequest('Invalid type value: {type}', { type: request.type }, 'task.bad_type');
    }
    const limit = Math.min(request.limit ?? this.deps.limitParamDefault, this.deps.apiLimitMax);
    const now = this.now();
    let marker: Task | undefined;
    if (request.marker !== undefined) {
      if (!UUID.test(request.marker)) throw badRequest('Invalid marker format', {}, 'task.bad_marker');
      marker = await this.deps.tasks.get(request.marker, now);
      if (!marker || isInternalTask(marker) || (!ctx.isAdmin && marker.owner !== ctx.projectId)) {
        throw badRequest('Invalid marker. Task {id} could not be found.', { id: request.marker }, 'task.bad_marker');
      }
    }
    const tasks = limit === 0 ? [] : await this.deps.tasks.list({
      owner: ctx.isAdmin ? undefined : ctx.projectId ?? '', status: request.status as TaskStatus | undefined,
      type: request.type as TaskType | undefined, sortKey, sortDir, limit, marker, now,
    });
    return { tasks, limit };
  }

  /** GET /v2/images/{id}/tasks: whoever may see the image; admins see every task, others their project's. */
  async getImageTasks(ctx: RequestContext, imageId: string): Promise<Task[]> {
    await this.deps.access.loadFor(ctx, imageId, 'get_image');
    return this.deps.tasks.listForImage(imageId, this.now(), ctx.isAdmin ? undefined : ctx.projectId ?? '');
  }
}
