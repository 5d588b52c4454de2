// Persona matrix: every v2 image route × persona × image visibility, with the status code Glance
// 25.1 answers under its default (secure RBAC) policies. The table was derived by playing the matrix
// against the reference Glance (REF_GLANCE_URL); with REF_GLANCE_URL set it is checked there too.
//
// Personas (test/helpers/persona-matrix.ts):
//   admin       role `admin` only, in a project of its own
//   owner       member+reader of the project owning the image
//   ownerReader reader only, owning project
//   other       member+reader of an unrelated project
//   pending     member+reader of a project that is a member of the image, status pending
//   accepted    the same, status accepted
//   memberOnly  role `member` WITHOUT `reader`, owning project (no role implication in Glance: cannot
//               list, 404 on GET, yet may download and modify — spec §9.1)
//   anonymous   no identity headers
// Fixture image (fresh per route, and again after any request that may have changed it): owned by the
// owner project, created `shared` (public ones by admin) with tag `t1`, data uploaded (queued for
// PUT /file, deactivated for reactivate), members pending + accepted added, then switched to the
// column's visibility — so private/community/public images keep member rows that Glance ignores.
// Columns are that visibility, except POST /v2/images (the visibility asked for in the body).
// GET /v2/images lists `?owner=<owner>` and says whether the fixture is listed.
// `{accepted}` is the accepted member's project; tag routes PUT `t2`, DELETE `t1`; PATCH replaces /name;
// PUT member sets `rejected`; POST members adds a fresh project.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { personas, routes, Target, visibilities, type Persona, type Route, type RouteName, type Visibility }
  from '../helpers/persona-matrix.ts';

type Code = number | string;
/** [private, shared, community, public], or one code when visibility plays no part. */
type Row = readonly [Code, Code, Code, Code] | Code;

const L = '200 listed';
const U = '200 unlisted';
/** The usual answers of a write route (image-level policy: admin or member of the owner project). */
const write = (ok: Code) => ({
  //            private shared community public
  admin:       [ok,     ok,    ok,       ok],
  owner:       [ok,     ok,    ok,       ok],
  ownerReader: [403,    403,   403,      403],
  other:       [404,    404,   403,      403],
  pending:     [404,    403,   403,      403],
  accepted:    [404,    403,   403,      403],
  // GLIMPSE DIFFERS: Glimpse answers 404 in all four columns (it requires `reader` to see the image)
  memberOnly:  [ok,     ok,    ok,       ok],
  anonymous:   401,
} as const);

const expected: Record<RouteName, Record<Persona, Row>> = {
  'GET /v2/images': {
    //            private shared community public
    admin:       [L,      L,     U,        L],
    owner:       [L,      L,     L,        L],
    ownerReader: [L,      L,     L,        L],
    other:       [U,      U,     U,        L],
    pending:     [U,      U,     U,        L],
    accepted:    [U,      L,     U,        L],
    memberOnly:  403,
    anonymous:   401,
  },
  'POST /v2/images': {
    admin:       [201,    201,   201,      201],
    owner:       [201,    201,   201,      403],
    ownerReader: 403,
    other:       [201,    201,   201,      403],
    pending:     [201,    201,   201,      403],
    accepted:    [201,    201,   201,      403],
    memberOnly:  [201,    201,   201,      403],
    anonymous:   401,
  },
  'GET /v2/images/{id}': {
    admin:       200,
    owner:       200,
    ownerReader: 200,
    other:       [404,    404,   200,      200],
    pending:     [404,    200,   200,      200],
    accepted:    [404,    200,   200,      200],
    memberOnly:  404,
    anonymous:   401,
  },
  'PATCH /v2/images/{id}': write(200), // GLIMPSE DIFFERS: memberOnly row (see write)
  'DELETE /v2/images/{id}': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'POST /v2/images/{id}/actions/deactivate': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'POST /v2/images/{id}/actions/reactivate': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'PUT /v2/images/{id}/file': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'PUT /v2/images/{id}/tags/{tag}': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'DELETE /v2/images/{id}/tags/{tag}': write(204), // GLIMPSE DIFFERS: memberOnly row (see write)
  'GET /v2/images/{id}/file': {
    admin:       200,
    owner:       200,
    ownerReader: 403,
    other:       [404,    404,   200,      200],
    pending:     [404,    200,   200,      200],
    accepted:    [404,    200,   200,      200],
    // GLIMPSE DIFFERS: Glimpse answers 404 in all four columns
    memberOnly:  [200,    200,   200,      200],
    anonymous:   401,
  },
  'GET /v2/images/{id}/members': {
    //            private shared community public
    admin:       [403,    200,   403,      403],
    owner:       [403,    200,   403,      403],
    ownerReader: [403,    200,   403,      403],
    other:       [404,    404,   403,      403],
    pending:     [404,    200,   403,      403],
    accepted:    [404,    200,   403,      403],
    // GLIMPSE DIFFERS: Glimpse answers 404 for private, community and public
    memberOnly:  [403,    404,   403,      403],
    anonymous:   401,
  },
  'POST /v2/images/{id}/members': {
    admin:       [403,    200,   403,      403],
    owner:       [403,    200,   403,      403],
    ownerReader: 403,
    other:       [404,    404,   403,      403],
    pending:     [404,    403,   403,      403],
    accepted:    [404,    403,   403,      403],
    // GLIMPSE DIFFERS: Glimpse answers 404 for private, community and public
    memberOnly:  [403,    404,   403,      403],
    anonymous:   401,
  },
  'GET /v2/images/{id}/members/{accepted}': {
    admin:       [404,    200,   404,      404],
    owner:       [404,    200,   404,      404],
    ownerReader: [404,    200,   404,      404],
    other:       404,
    pending:     404,
    accepted:    [404,    200,   404,      404],
    memberOnly:  404,
    anonymous:   401,
  },
  'PUT /v2/images/{id}/members/{accepted}': {
    admin:       [403,    200,   403,      403],
    owner:       403,
    ownerReader: 403,
    other:       [404,    404,   403,      403],
    pending:     [404,    404,   403,      403],
    accepted:    [404,    200,   403,      403],
    // GLIMPSE DIFFERS: Glimpse answers 404 for private, community and public
    memberOnly:  [403,    404,   403,      403],
    anonymous:   401,
  },
  'DELETE /v2/images/{id}/members/{accepted}': {
    admin:       [403,    204,   403,      403],
    owner:       [403,    204,   403,      403],
    ownerReader: 403,
    other:       [404,    404,   403,      403],
    // GLIMPSE DIFFERS: Glimpse answers 403 for shared (policy delete_member before the member lookup)
    pending:     [404,    404,   403,      403],
    accepted:    [404,    403,   403,      403],
    // GLIMPSE DIFFERS: Glimpse answers 404 for private, community and public
    memberOnly:  [403,    404,   403,      403],
    anonymous:   401,
  },
  'GET /v2/schemas/image': {
    admin:       200,
    owner:       200,
    ownerReader: 200,
    other:       200,
    pending:     200,
    accepted:    200,
    memberOnly:  200,
    anonymous:   401,
  },
};

interface Cell { route: RouteName; persona: Persona; visibility: Visibility | null; code: Code }

/** One cell per persona and visibility; a route whose rows are all single codes has no visibility column. */
function cells(): Cell[] {
  const out: Cell[] = [];
  for (const route of Object.keys(routes) as RouteName[]) {
    const rows = expected[route];
    const perVisibility = personas.some((p) => typeof rows[p] === 'object');
    for (const persona of personas) {
      const row = rows[persona];
      if (!perVisibility) out.push({ route, persona, visibility: null, code: row as Code });
      else visibilities.forEach((visibility, i) => out.push({ route, persona, visibility,
        code: typeof row === 'object' ? row[i]! : row }));
    }
  }
  return out;
}

function matrix(target: () => Target) {
  for (const route of Object.keys(routes) as RouteName[]) {
    describe(route, () => {
      for (const cell of cells().filter((c) => c.route === route)) {
        test(`${route} × ${cell.persona} × ${cell.visibility ?? '-'} → ${cell.code}`, async () => {
          const t = target();
          const { value, res } = await t.play(route, routes[route] as Route, cell.persona, cell.visibility ?? 'shared');
          assert.equal(value, cell.code, `${t.name} answered ${res.status}: ${res.body.slice(0, 300)}`);
        });
      }
    });
  }
}

const reference = process.env.REF_GLANCE_URL?.replace(/\/+$/, '');

describe('persona matrix: Glimpse', () => {
  let app: TestApp;
  let target: Target;
  const store = `${process.env.TMPDIR ?? '/tmp'}/glimpse-persona-matrix-${process.pid}`;
  before(async () => {
    app = await startTestApp({ GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file', GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
      GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: store });
    await app.app.listen({ host: '127.0.0.1', port: 0 });
    target = new Target('Glimpse', `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`);
  });
  after(async () => { await app.close(); rmSync(store, { recursive: true, force: true }); });
  matrix(() => target);
});

describe('persona matrix: reference Glance', { skip: reference ? false : 'REF_GLANCE_URL not set' }, () => {
  const target = new Target('reference Glance', reference ?? '');
  matrix(() => target);
});
