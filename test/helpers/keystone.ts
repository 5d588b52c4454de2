// The real Keystone of the integration tests (../shared/tools/keystone.sh start, or one provisioned
// alike: glance/secret in project service, admin/admin in project admin, demoN-member/-reader/
// demo1-admin with password secret in projects demoN). GLIMPSE_TEST_KEYSTONE_URL names it
// (e.g. http://127.0.0.1:5000/v3); tests skip, visibly, without it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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

/** The clouds.yaml keystone.sh writes (admin, glance, demo1-member, …). */
export const keystoneClouds = '/tmp/keystone/clouds.yaml';
/** keystone.sh prints the clients' OS_* variables; found beside the project (as in CI) or named by env. */
export const keystoneSh = process.env.GLIMPSE_TEST_KEYSTONE_SH
  ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'tools', 'keystone.sh');
/** Why the tests that drive the real openstack/glance clients through Keystone cannot run here, or false. */
export const keystoneClientsSkip: string | false = keystoneSkip
  || (!existsSync(keystoneSh) ? `${keystoneSh} missing (set GLIMPSE_TEST_KEYSTONE_SH)`
    : !existsSync('/usr/bin/openstack') || !existsSync('/usr/bin/glance') ? 'openstack/glance clients not installed'
      : !existsSync(keystoneClouds) ? `${keystoneClouds} missing (run keystone.sh start)` : false);
