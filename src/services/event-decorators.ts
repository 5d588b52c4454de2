// Glance sends image.create / image.update on every add and save of an image, image.member.* on
// every member change and task.* on every task transition, whichever code path made them. These
// decorators give the repository ports those defaults (an explicit `emit` option wins), so no use
// case, task step or recovery sweep can change state without its notification.
import type { Image, ImageMember } from '../domain/image.ts';
import { internalTaskTypes, type Task } from '../domain/task.ts';
import type { ImageRepository, MemberRepository } from '../ports/repositories.ts';
import type { TaskRepository } from '../ports/tasks.ts';
import { deletedFields, memberPayload, taskPayload } from './notification-payloads.ts';
import { imageEmit, type Notifier } from './notifier.ts';

export function imagesWithEvents<R extends ImageRepository>(repo: R, notifier: Notifier | undefined): R {
  if (!notifier?.enabled) return repo;
  const created = imageEmit(notifier, 'image.create');
  const updated = imageEmit(notifier);
  return {
    ...repo,
    create: (image: Image, options?: Parameters<R['create']>[1]) => repo.create(image, { emit: options?.emit ?? created }),
    update: (image: Image, options: Parameters<R['update']>[1]) => repo.update(image, { ...options, emit: options.emit ?? updated }),
  };
}

export function membersWithEvents(repo: MemberRepository, notifier: Notifier | undefined): MemberRepository {
  if (!notifier?.enabled) return repo;
  const event = (type: string, extra: (m: ImageMember) => Record<string, unknown> = () => ({})) =>
    notifier.emit<ImageMember>((m) => [{ eventType: type, subject: m.imageId, payload: { ...memberPayload(m), ...extra(m) } }]);
  return {
    get: (imageId, memberId) => repo.get(imageId, memberId),
    list: (imageId) => repo.list(imageId),
    listForMember: (memberId) => repo.listForMember(memberId),
    add: (member, options) => repo.add(member, { emit: options?.emit ?? event('image.member.create') }),
    update: (member, options) => repo.update(member, { emit: options?.emit ?? event('image.member.update') }),
    remove: (imageId, memberId, options) => repo.remove(imageId, memberId,
      { emit: options?.emit ?? event('image.member.delete', () => deletedFields(new Date())) }),
  };
}

/** task.create and task.run when a task is added, task.processing when a worker takes it, task.success / task.failure. */
export function tasksWithEvents(repo: TaskRepository, notifier: Notifier | undefined): TaskRepository {
  if (!notifier?.enabled) return repo;
  const event = (...types: string[]) => notifier.emit<Task>((task) => internalTaskTypes.includes(task.type) ? []
    : types.map((type) => ({ eventType: type, subject: task.imageId ?? task.id, payload: taskPayload(task) })));
  const wrapped: TaskRepository = Object.create(repo) as TaskRepository;
  wrapped.create = (task, options) => repo.create(task, { emit: options?.emit ?? event('task.create', 'task.run') });
  wrapped.claim = (worker, now, leaseUntil, preferId, options) =>
    repo.claim(worker, now, leaseUntil, preferId, { emit: options?.emit ?? event('task.processing') });
  wrapped.finish = (id, worker, outcome, options) => repo.finish(id, worker, outcome,
    { emit: options?.emit ?? event(outcome.status === 'success' ? 'task.success' : 'task.failure') });
  return wrapped;
}
