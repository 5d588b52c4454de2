// The input of a `v1_copy_from` task (Images API v1 x-glance-api-copy-from): the copy, and the
// caller it is done for. The worker that runs it (tasks/v1-copy-from.ts, on any node) acts as that
// caller, so the copy is authorized as the request was; no token is kept.
import type { Task } from '../domain/task.ts';
import type { Identity, RequestContext } from '../ports/context.ts';

/** A copy-from: where the data is, and what the copied data must be. */
export interface CopyFrom {
  url: string;
  expectedSize?: number;
  expectedMd5?: string;
  storeId?: string;
}

export function copyFromTaskInput(ctx: RequestContext, copy: CopyFrom): Record<string, unknown> {
  return {
    url: copy.url, expected_size: copy.expectedSize, expected_md5: copy.expectedMd5, store: copy.storeId,
    caller: { user_id: ctx.userId, project_id: ctx.projectId, roles: ctx.roles, is_admin: ctx.isAdmin,
      user_domain_id: ctx.userDomainId ?? null, project_domain_id: ctx.projectDomainId ?? null },
  };
}

export function copyFromOfTask(task: Task): { copy: CopyFrom; caller: Identity & { isAdmin: boolean } } {
  const input = task.input ?? {};
  const caller = (typeof input.caller === 'object' && input.caller !== null ? input.caller : {}) as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' ? v : undefined;
  const size = input.expected_size;
  return {
    copy: { url: String(input.url), expectedSize: typeof size === 'number' ? size : undefined,
      expectedMd5: text(input.expected_md5), storeId: text(input.store) },
    caller: {
      userId: text(caller.user_id) ?? task.userId, projectId: text(caller.project_id) ?? task.owner,
      roles: Array.isArray(caller.roles) ? caller.roles.filter((r): r is string => typeof r === 'string') : [],
      userDomainId: text(caller.user_domain_id) ?? null, projectDomainId: text(caller.project_domain_id) ?? null,
      serviceRoles: [], authenticated: true, isAdmin: caller.is_admin === true,
    },
  };
}
