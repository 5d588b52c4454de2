// The image-list requests that `npm run bench` times per catalogue size and that
// test/contract/image-list-plans.test.ts EXPLAINs on every dialect: each branch of the visibility
// logic (persona) and the filters, sort keys and limits clients send, over the catalogue of seed.ts.
import { CALLER, OWNER_OF_MANY } from './seed.ts';

export interface Persona {
  /** The caller's project; null = a token without a project. */
  project: string | null;
  admin: boolean;
}

export const personas = {
  admin: { project: CALLER, admin: true },
  owner: { project: OWNER_OF_MANY, admin: false },
  member: { project: CALLER, admin: false },
  anonymous: { project: null, admin: false },
} satisfies Record<string, Persona>;

export interface ListCase {
  /** Short label: persona, then what the query adds. */
  label: string;
  persona: Persona;
  /** The query string of GET /v2/images (without `?`). */
  query: string;
}

const c = (label: string, persona: Persona, query: string): ListCase => ({ label, persona, query });
const { admin, owner, member, anonymous } = personas;

export const listCases: ListCase[] = [
  // Each branch of the visible set (image-list-sql.ts visibilityBranches).
  c('admin', admin, 'limit=25'),
  c('owner of many', owner, 'limit=25'),
  c('member', member, 'limit=25'),
  c('shared', member, 'limit=25&visibility=shared'),
  c('public', member, 'limit=25&visibility=public'),
  c('community', member, 'limit=25&visibility=community'),
  c('all', member, 'limit=25&visibility=all'),
  c('anonymous', anonymous, 'limit=25'),
  // Filters.
  c('member status=active', member, 'limit=25&status=active'),
  c('admin status=queued', admin, 'limit=25&status=queued'),
  c('member name=', member, 'limit=25&name=image-000503'),
  c('admin owner=', admin, `limit=25&owner=${OWNER_OF_MANY}`),
  c('member visibility=private', member, 'limit=25&visibility=private'),
  c('member tag=bench', member, 'limit=25&tag=bench'),
  c('member os_distro=ubuntu', member, 'limit=25&os_distro=ubuntu'),
  c('member member_status=all', member, 'limit=25&member_status=all'),
  c('member os_hidden=true', member, 'limit=25&os_hidden=true'),
  c('admin os_hidden=true', admin, 'limit=25&os_hidden=true'),
  // Sort keys (created_at and id are appended) and the large page.
  c('admin sort updated_at', admin, 'limit=25&sort_key=updated_at'),
  c('admin sort name asc', admin, 'limit=25&sort_key=name&sort_dir=asc'),
  c('admin sort size', admin, 'limit=25&sort_key=size'),
  c('admin sort status', admin, 'limit=25&sort_key=status'),
  c('member sort updated_at', member, 'limit=25&sort_key=updated_at'),
  c('member sort name asc', member, 'limit=25&sort=name:asc'),
  c('member sort size', member, 'limit=25&sort_key=size'),
  c('member sort status', member, 'limit=25&sort_key=status'),
  c('owner of many sort name', owner, 'limit=25&sort_key=name'),
  c('admin limit=200', admin, 'limit=200'),
  c('member limit=200', member, 'limit=200'),
];

/** The trusted-auth headers of a persona. */
export function personaHeaders(persona: Persona): Record<string, string> {
  return {
    'x-identity-status': 'Confirmed', 'x-user-id': 'u',
    'x-roles': persona.admin ? 'admin,member,reader' : 'member,reader',
    ...(persona.project === null ? {} : { 'x-tenant-id': persona.project }),
  };
}
