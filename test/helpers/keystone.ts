// The real Keystone of the integration tests (../shared/tools/keystone.sh start, or one provisioned
// alike: glance/secret in project service, admin/admin in project admin, demoN-member/-reader/
// demo1-admin with password secret in projects demoN). GLIMPSE_TEST_KEYSTONE_URL names it
// (e.g. http://127.0.0.1:5000/v3); tests skip, visibly, without it.
import assert from 'node:assert/strict';

export const keystoneUrl = process.env.GLIMPSE_TEST_KEYSTONE_URL?.replace(/\/+$/, '');
export const keystoneSkip: string | false = keystoneUrl ? false : 'GLIMPSE_TEST_KEYSTONE_URL not set';

/** A project-scoped token of `user` (and the project's id). */
export async function login(user: string, project: string, password = 'secret') {
  const res = await fetch(`${keystoneUrl}/auth/tokens?nocatalog`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: 'Default' } } } },
      scope: { project: { name: project, domain: { name: 'Default' } } } } }),
  });
  assert.equal(res.status, 201, `login ${user}`);
  const body = await res.json() as { token: { project: { id: string } } };
  return { token: res.headers.get('x-subject-token')!, projectId: body.token.project.id };
}

/** GLIMPSE_* settings of an API that validates tokens with `authUrl` as the glance service user. */
export function keystoneEnv(authUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GLIMPSE_PASTE_DEPLOY__FLAVOR: 'keystone',
    GLIMPSE_KEYSTONE_AUTHTOKEN__AUTH_URL: authUrl,
    GLIMPSE_KEYSTONE_AUTHTOKEN__USERNAME: 'glance',
    GLIMPSE_KEYSTONE_AUTHTOKEN__PASSWORD: 'secret',
    GLIMPSE_KEYSTONE_AUTHTOKEN__PROJECT_NAME: 'service',
    GLIMPSE_KEYSTONE_AUTHTOKEN__HTTP_CONNECT_TIMEOUT: '2',
    ...extra,
  };
}
