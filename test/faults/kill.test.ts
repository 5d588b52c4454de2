// Fault injection (decision 0015): `glimpse serve` processes killed with SIGKILL at random moments
// (fixed seed; GLIMPSE_FAULT_SEED replays another) during uploads, stages and web-download imports.
// After the recovery interval: no image in a transfer status without a live owner, stores holding
// only live images' data, every active image reading back whole, and a fresh transfer of every
// interrupted image succeeding. On SQLite (one node, restarted) and PostgreSQL (one node restarted;
// two nodes, one killed: the survivor recovers and its own transfers are never touched).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { privatePostgresSchema } from '../helpers/postgres-schema.ts';
import {
  checkStores, kill, launch, prng, redo, restart, settle, startCluster, withoutLiveOwner, type Kind, type Transfer,
} from './harness.ts';

const SEED = Number(process.env.GLIMPSE_FAULT_SEED ?? 0xfa17);
const ROUNDS = 2;
/** Per round on the node that is killed: 10 uploads, 5 stages, 3 imports (20 / 10 / 6 in all). */
const VICTIM_LOAD: Kind[] = [...Array<Kind>(10).fill('upload'), ...Array<Kind>(5).fill('stage'), ...Array<Kind>(3).fill('import')];
const SURVIVOR_LOAD: Kind[] = ['upload', 'upload', 'stage', 'import'];

async function scenario(databaseUrl: string, twoNodes: boolean): Promise<void> {
  const rnd = prng(SEED + (twoNodes ? 1 : 0));
  const cluster = await startCluster(databaseUrl, twoNodes ? ['victim', 'survivor'] : ['victim']);
  try {
    const all: Transfer[] = [];
    const survivors: Transfer[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const launched = await Promise.all(VICTIM_LOAD.map((kind) => launch(cluster, 'victim', kind, rnd)));
      const spared = twoNodes ? await Promise.all(SURVIVOR_LOAD.map((kind) => launch(cluster, 'survivor', kind, rnd))) : [];
      // A random moment, but no later than the first upload or stage to end: how long the creates
      // took before the delay starts must not let every transfer finish before the kill.
      const firstEnded = Promise.race(launched.filter((l) => l.transfer.kind !== 'import').map((l) => l.done));
      await Promise.race([new Promise((r) => setTimeout(r, 100 + rnd() * 1200)), firstEnded]);
      await kill(cluster, 'victim');
      await Promise.all([...launched, ...spared].map((l) => l.done));
      all.push(...launched.map((l) => l.transfer), ...spared.map((l) => l.transfer));
      survivors.push(...spared.map((l) => l.transfer));
      if (twoNodes) {
        // The survivor alone ends what the victim left.
        await settle(cluster.db);
        assert.deepEqual(await withoutLiveOwner(cluster.db), []);
      }
      await restart(cluster, 'victim');
    }
    const base = cluster.nodes.get(twoNodes ? 'survivor' : 'victim')!.url;
    await settle(cluster.db);
    assert.deepEqual(await withoutLiveOwner(cluster.db), []);
    await checkStores(cluster, all, base);
    // The survivor's own transfers ran to the end while the victim's were recovered around them.
    for (const t of survivors) {
      assert.ok(t.outcome === 204 || t.outcome === 202, `survivor ${t.kind} ${t.id}: ${String(t.outcome)}`);
    }
    const interrupted = all.filter((t) => t.outcome !== 204 && t.outcome !== 202).length;
    const redone = await redo(cluster, all, base);
    await settle(cluster.db);
    await checkStores(cluster, all, base);
    assert.ok(interrupted > 0 && redone > 0, `the kills interrupted transfers (${interrupted} interrupted, ${redone} redone)`);
  } finally {
    await cluster.close();
  }
}

test('SQLite, one node killed and restarted during uploads, stages and imports', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-faults-db-'));
  try {
    await scenario(`sqlite:///${join(dir, 'glimpse.db')}`, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const pgUrl = process.env.GLIMPSE_TEST_POSTGRES_URL;
for (const twoNodes of [false, true]) {
  const name = twoNodes ? 'PostgreSQL, two nodes: one killed, the other recovers and keeps its own transfers'
    : 'PostgreSQL, one node killed and restarted during uploads, stages and imports';
  test(name, { timeout: 600_000, skip: pgUrl ? false : 'GLIMPSE_TEST_POSTGRES_URL not set' }, async () => {
    const db = await privatePostgresSchema(pgUrl!);
    try {
      await scenario(db.url, twoNodes);
    } finally {
      await db.drop();
    }
  });
}
