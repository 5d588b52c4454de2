// /v2/tasks and /v2/images/{id}/tasks: parse → TaskService → view (Glance's wire form).
import type { FastifyRequest } from 'fastify';
import { DomainError, badRequest } from '../../domain/errors.ts';
import type { Task } from '../../domain/task.ts';
import { msg } from '../../i18n/message.ts';
import { publicTaskInput } from '../../services/import-input.ts';
import type { TaskService } from '../../services/tasks.ts';
import { readJsonObject, rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { queryPairs } from '../query.ts';
import type { V2Context } from './router.ts';
import { isoSeconds } from './views.ts';

type Params = { id: string };

export function taskView(task: Task, full = true): Record<string, unknown> {
  const view: Record<string, unknown> = { id: task.id, type: task.type, status: task.status, owner: task.owner };
  if (full) {
    Object.assign(view, { input: publicTaskInput(task) ?? {}, result: task.result, message: task.message });
    // List entries (Glance's task stub, 25.1 and master alike) leave these out.
    if (task.imageId !== null) view.image_id = task.imageId;
    if (task.requestId !== null) view.request_id = task.requestId;
    if (task.userId !== null) view.user_id = task.userId;
  }
  if (task.expiresAt !== null) view.expires_at = isoSeconds(task.expiresAt);
  Object.assign(view, {
    created_at: isoSeconds(task.createdAt), updated_at: isoSeconds(task.updatedAt),
    self: `/v2/tasks/${task.id}`, schema: '/v2/schemas/task',
  });
  return view;
}

/** Python's datetime.isoformat() of a naive UTC time: microseconds, no zone (GET /v2/images/{id}/tasks). */
function pythonIso(date: Date | null): string | null {
  return date === null ? null : `${date.toISOString().slice(0, 23)}000`;
}

/** GET /v2/images/{id}/tasks renders the database rows as they are (spec/v2.md §5.8). */
export function imageTaskView(task: Task): Record<string, unknown> {
  return {
    id: task.id, type: task.type, status: task.status, owner: task.owner, expires_at: pythonIso(task.expiresAt),
    created_at: pythonIso(task.createdAt), updated_at: pythonIso(task.updatedAt), deleted_at: pythonIso(task.deletedAt),
    deleted: task.deleted, image_id: task.imageId, request_id: task.requestId, user_id: task.userId,
    input: publicTaskInput(task), result: task.result, message: task.message,
  };
}

function intParam(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw badRequest('{name} param must be an integer', { name }, 'task.bad_limit');
  return Number(value);
}

export function taskRoutes(routes: RouteTable, v2: V2Context, tasks: TaskService): void {
  routes.add('POST', '/v2/tasks', async (request, reply) => {
    const body = await readJsonObject(request);
    for (const key of Object.keys(body)) {
      if (!['type', 'input'].includes(key)) {
        throw new DomainError('Forbidden', 'task.read_only', msg("Attribute '{name}' is read-only.", { name: key }));
      }
    }
    if (body.type === undefined) {
      tasks.authorizeRoute(request.ctx);
      throw badRequest("Task 'type' is required", {}, 'task.no_type');
    }
    if (body.input !== undefined && body.input !== null && typeof body.input === 'object' && !Array.isArray(body.input)) {
      const properties = (body.input as Record<string, unknown>).image_properties;
      if (properties && typeof properties === 'object' && !Array.isArray(properties)) {
        tasks.authorizeRoute(request.ctx);
        v2.imageValidator.validate(properties as Record<string, unknown>);
      }
    }
    const task = await tasks.createTask(request.ctx, body.type, body.input);
    reply.code(201).header('location', `${v2.baseUrl(request)}/v2/tasks/${task.id}`);
    return reply.send(taskView(task));
  });

  routes.add('GET', '/v2/tasks', async (request, reply) => {
    rejectBody(request);
    const pairs = queryPairs(request);
    const query = new Map(pairs);
    const { tasks: page, limit } = await tasks.getTasks(request.ctx, {
      limit: query.has('limit') ? intParam(query.get('limit')!, 'limit') : undefined,
      marker: query.get('marker'), sortKey: query.get('sort_key'), sortDir: query.get('sort_dir'),
      status: query.get('status'), type: query.get('type'),
    });
    const keep = pairs.filter(([k]) => k !== 'marker');
    const first = new URLSearchParams(keep).toString();
    const body: Record<string, unknown> = {
      tasks: page.map((t) => taskView(t, false)),
      first: first ? `/v2/tasks?${first}` : '/v2/tasks',
      schema: '/v2/schemas/tasks',
    };
    const last = page.at(-1);
    if (last && page.length >= limit) body.next = `/v2/tasks?${new URLSearchParams([...keep, ['marker', last.id]]).toString()}`;
    return reply.send(body);
  });

  routes.add('GET', '/v2/tasks/:id', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    return reply.send(taskView(await tasks.getTask(request.ctx, request.params.id)));
  });

  // Glance routes DELETE to a 405 only after the tasks API access check.
  routes.add('DELETE', '/v2/tasks/:id', async (request) => {
    tasks.authorizeRoute(request.ctx);
    throw new DomainError('MethodNotAllowed', 'http.method_not_allowed',
      msg('The method {method} is not allowed for this resource.', { method: request.method }), { headers: { allow: 'GET' } });
  });

  routes.add('GET', '/v2/images/:id/tasks', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    const list = await tasks.getImageTasks(request.ctx, request.params.id);
    return reply.send({ tasks: list.map(imageTaskView) });
  });
}
