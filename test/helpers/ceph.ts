// The real Ceph cluster for rbd tests: the one scripts/ceph.sh starts. Tests read the variables it
// prints (CEPH_CONF, CEPH_USER, CEPH_KEYRING, CEPH_POOL, CEPH_POOL2) and skip visibly when they are
// unset. With CEPH_CONF set, a missing librbd binding is a failure, not a skip.
import { execFileSync } from 'node:child_process';

import { loadLibrbd } from '../../src/stores/rbd/librbd.ts';
import { RbdStoreDriver, type RbdStoreDriverOptions } from '../../src/stores/rbd/rbd-driver.ts';

export interface CephTestEnv { conf: string; user: string; pool: string; pool2: string }

export function cephTestEnv(env = process.env): CephTestEnv | undefined {
  const { CEPH_CONF: conf, CEPH_USER: user, CEPH_POOL: pool } = env;
  if (!conf || !user || !pool) return undefined;
  return { conf, user, pool, pool2: env.CEPH_POOL2 || pool };
}

export const SKIP_RBD = 'no Ceph: set CEPH_CONF, CEPH_USER, CEPH_POOL (eval "$(scripts/ceph.sh start)")';

export function rbdTestDriver(env: CephTestEnv, options: Partial<RbdStoreDriverOptions> = {}): RbdStoreDriver {
  const lib = loadLibrbd();
  if (typeof lib === 'string') throw new Error(`CEPH_CONF is set but ${lib}`);
  return new RbdStoreDriver({ id: 'ceph', pool: env.pool, user: env.user, confFile: env.conf, chunkSize: 1024 * 1024,
    connectTimeout: 30, thinProvisioning: false, ...options });
}

/** The rbd command line as the tests' client (`rbd -c $CEPH_CONF --id $CEPH_USER …`); stdout. */
export function rbd(env: CephTestEnv, ...args: string[]): string {
  return execFileSync('rbd', ['-c', env.conf, '--id', env.user, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** rbd's JSON output (`--format json`). */
export function rbdJson<T>(env: CephTestEnv, ...args: string[]): T {
  return JSON.parse(rbd(env, ...args, '--format', 'json')) as T;
}

/** Names of the images in `pool` and in its trash. */
export function poolImages(env: CephTestEnv, pool = env.pool): string[] {
  const images = rbdJson<string[]>(env, 'ls', pool);
  const trash = rbdJson<Array<{ name: string }>>(env, 'trash', 'ls', pool).map((t) => `trash:${t.name}`);
  return [...images, ...trash].sort();
}
