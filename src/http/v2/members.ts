// /v2/images/{id}/members routes.
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../domain/errors.ts';
import { readJsonObject, rejectBody } from '../body.ts';
import type { RouteTable } from '../routes.ts';
import { noContent } from '../reply.ts';
import type { V2Context } from './router.ts';
import { memberView } from './views.ts';

type Params = { id: string };
type MemberParams = { id: string; member: string };

export function memberRoutes(routes: RouteTable, v2: V2Context): void {
  const { members } = v2.services;

  routes.add('GET', '/v2/images/:id/members', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    rejectBody(request);
    const list = await members.getMembers(request.ctx, request.params.id);
    return reply.send({ members: list.map(memberView), schema: '/v2/schemas/members' });
  });

  routes.add('POST', '/v2/images/:id/members', async (request: FastifyRequest<{ Params: Params }>, reply) => {
    const body = await readJsonObject(request);
    if (!('member' in body)) throw badRequest('Member to be added not specified', {}, 'member.missing');
    const memberId = body.member;
    if (memberId === '' || memberId === null) throw badRequest("Member can't be empty", {}, 'member.empty');
    if (typeof memberId !== 'string') throw badRequest('Member must be a string.', {}, 'member.not_string');
    const member = await members.addMember(request.ctx, request.params.id, memberId);
    return reply.send(memberView(member));
  });

  routes.add('GET', '/v2/images/:id/members/:member', async (request: FastifyRequest<{ Params: MemberParams }>, reply) => {
    rejectBody(request);
    return reply.send(memberView(await members.getMember(request.ctx, request.params.id, request.params.member)));
  });

  routes.add('PUT', '/v2/images/:id/members/:member', async (request: FastifyRequest<{ Params: MemberParams }>, reply) => {
    const body = await readJsonObject(request);
    if (!('status' in body)) throw badRequest('Status not specified', {}, 'member.status_missing');
    const member = await members.modifyMember(request.ctx, request.params.id, request.params.member, String(body.status));
    return reply.send(memberView(member));
  });

  routes.add('DELETE', '/v2/images/:id/members/:member', async (request: FastifyRequest<{ Params: MemberParams }>, reply) => {
    rejectBody(request);
    await members.deleteMember(request.ctx, request.params.id, request.params.member);
    return noContent(reply, false);
  });
}
