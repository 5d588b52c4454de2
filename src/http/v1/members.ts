// /v1/images/{id}/members and /v1/shared-images/{member} (spec/v1.md §3.9).
import type { FastifyRequest } from 'fastify';
import { DomainError, badRequest } from '../../domain/errors.ts';
import { msg } from '../../i18n/message.ts';
import { LegacyMemberService } from '../../services/legacy-members.ts';
import { readJson } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import type { V1Options } from './router.ts';
import { legacyMemberView, sharedImageView } from './views.ts';

type Params = { id: string };
type MemberParams = { id: string; member: string };

/** `{"member": {"can_share": x}}` → x coerced by truthiness; any other body means "not given". */
function canShareOf(body: unknown): boolean | undefined {
  const member = (body as { member?: unknown } | undefined)?.member;
  if (!member || typeof member !== 'object' || !('can_share' in member)) return undefined;
  return Boolean((member as { can_share: unknown }).can_share);
}

export function memberRoutes(routes: RouteTable, v1: V1Options): void {
  const { members } = v1;

  routes.add('GET', '/v1/images/:id/members', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const list = await members.getMembers(request.ctx, request.params.id);
    return reply.send({ members: list.map(legacyMemberView) });
  });

  routes.add('PUT', '/v1/images/:id/members', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const body = await readJson(request);
    if (body === null || typeof body !== 'object') throw badRequest('Malformed JSON in request body.', {}, 'request.malformed_json');
    const record = body as Record<string, unknown>;
    const entries = 'memberships' in record ? record.memberships : [record];
    if (!Array.isArray(entries)) {
      throw badRequest('Invalid membership association: {entry}', { entry: JSON.stringify(entries) }, 'v1.bad_membership');
    }
    await members.replaceMembers(request.ctx, request.params.id, LegacyMemberService.checkEntries(entries));
    return reply.code(204).send();
  });

  routes.add('GET', '/v1/images/:id/members/:member', async () => {
    throw new DomainError('MethodNotAllowed', 'http.method_not_allowed',
      msg('The method {method} is not allowed for this resource.', { method: 'GET' }));
  });

  routes.add('PUT', '/v1/images/:id/members/:member', async (request: FastifyRequest<{ Params: MemberParams }>, reply) => {
    let body: unknown;
    try {
      body = await readJson(request);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'request.malformed_json') throw error;
    }
    await members.addMember(request.ctx, request.params.id, request.params.member, canShareOf(body));
    return reply.code(204).send();
  });

  routes.add('DELETE', '/v1/images/:id/members/:member', async (request: FastifyRequest<{ Params: MemberParams }>, reply) => {
    await members.deleteMember(request.ctx, request.params.id, request.params.member);
    return reply.code(204).send();
  });

  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    routes.add(method, '/v1/shared-images/:member', async (request: FastifyRequest<{ Params: { member: string } }>, reply) => {
      const list = await members.sharedImages(request.ctx, request.params.member);
      return reply.send({ shared_images: list.map(sharedImageView) });
    });
  }
}
