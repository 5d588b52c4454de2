// The image list's plan contract (decision 0016), on every dialect: for each persona, filter, sort
// key and limit clients send (bench/list-cases.ts, the same requests `npm run bench` times), the
// query the lister runs — first page and a page after a marker — is an index walk bounded by the
// page: EXPLAIN shows an index of images, no full scan and no sort of images rows
// (test/helpers/query-plans.ts says exactly what counts). The catalogue is bench/seed.ts's, 3,000
// images; PostgreSQL and MariaDB get ANALYZE (their autovacuum / persistent statistics would),
// SQLite none (Glimpse never runs ANALYZE there). The last test drops an index and expects the
// contract to catch it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { pageQuery } from '../../src/db/image-lister.ts';
import { visibilityBranches } from '../../src/db/image-list-sql.ts';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { listIndexName } from '../../src/db/migrations/0009-list-walk-indexes.ts';
import type { Image } from '../../src/domain/image.ts';
import type { ImageListQuery } from '../../src/ports/repositories.ts';
import { parseListQuery } from '../../src/http/v2/list-query.ts';
import { listCases, type ListCase } from '../../bench/list-cases.ts';
import { seedImages } from '../../bench/seed.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { explain } from '../helpers/query-plans.ts';
import type { Database } from '../../src/db/connect.ts';

const IMAGES = 3000;
const print = process.env.GLIMPSE_PRINT_PLANS === '1';

function listQuery(c: ListCase, marker: Image | undefined): ImageListQuery {
  const { limit, markerId: _m, ...request } = parseListQuery([...new URLSearchParams(c.query)]);
  return { ...request, viewer: { projectId: c.persona.project, isAdmin: c.persona.admin }, limit: limit ?? 25, marker };
}

async function verdict(database: Database, c: ListCase, marker: Image | undefined) {
  const query = listQuery(c, marker);
  return explain(database, pageQuery(database.db, database.dialect, query, visibilityBranches(query)).compile());
}

forEachDatabase('image list plans', (getDb, target) => {
  let marker: Image;

  before(async () => {
    await seedImages(target.url(), '/nonexistent', 0, IMAGES);
    const db = getDb();
    if (db.dialect === 'postgres') await sql`ANALYZE`.execute(db.db);
    if (db.dialect === 'mysql') {
      await sql`ANALYZE TABLE images, image_members, image_tags, image_properties, image_locations`.execute(db.db);
    }
    const row = await db.db.selectFrom('images').select('id').where('name', '=', 'image-001503').executeTakeFirstOrThrow();
    marker = (await new SqlImageRepository(db).get(row.id))!;
  });

  for (const c of listCases) {
    test(`${c.label} (${c.query}) walks an index, first page and after a marker`, async () => {
      for (const m of [undefined, marker]) {
        const v = await verdict(getDb(), c, m);
        if (print) console.log(`--- ${target.dialect} ${c.label} ${m ? 'marker' : ''}\n${v.text}\n${v.problems.join('\n')}`);
        const where = `${c.label}${m ? ' after a marker' : ''} on ${target.dialect}:\n${v.text}`;
        assert.deepEqual(v.problems, [], where);
        assert.ok(v.indexes.length > 0, `no index of images used: ${where}`);
      }
    });
  }

  test('the contract fails when an index it relies on is missing', async () => {
    const db = getDb();
    const name = listIndexName('all', 'name');
    const c = listCases.find((x) => x.label === 'admin sort name asc')!;
    assert.deepEqual((await verdict(db, c, marker)).problems, []);
    const drop = db.db.schema.dropIndex(name);
    await (db.dialect === 'mysql' ? drop.on('images') : drop).execute();
    const v = await verdict(db, c, marker);
    assert.notDeepEqual(v.problems, [], `still bounded without ${name}:\n${v.text}`);
  });
});
