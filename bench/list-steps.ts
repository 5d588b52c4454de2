// `npx tsx bench/list-steps.ts`: the image list's SQLite work per page, counted instead of timed.
// For every case of list-cases.ts (each persona, filter, sort key and limit) and each catalogue
// size (BENCH_LIST_SIZES, default 1k, 10k, 100k images of seed.ts) it runs the page query the
// lister builds — the first page, the page after its last image (page 2, with a marker) and page
// 10 (after the first nine pages) —
// in the sqlite3 shell with `.stats on` and reports SQLite's "Virtual Machine Steps" (the rows and
// index entries the query touched) and "Fullscan Steps" / "Sort Operations". These counts do not
// depend on what else runs on the machine, so they show whether a page costs the page (the same
// steps at 1k, 10k and 100k) where the CPU-seconds of `npm run bench:metadata` are noisy. Needs
// the `sqlite3` command. BENCH_LIST_STEPS_DIR keeps the seeded databases between runs.
// BENCH_LIST_STEPS_URL=postgresql://…/test or mysql://…/test counts on that server instead, in
// databases list_steps_<size> (kept, and reused, when BENCH_LIST_STEPS_DIR is set): PostgreSQL's
// shared buffers touched (EXPLAIN ANALYZE, BUFFERS) and MariaDB's Handler_read_* calls per page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import { openDatabase, type Database } from '../src/db/connect.ts';
import type { Dialect } from '../src/db/url.ts';
import { pageQuery, SqlImageLister } from '../src/db/image-lister.ts';
import { visibilityBranches } from '../src/db/image-list-sql.ts';
import type { Image } from '../src/domain/image.ts';
import type { ImageListQuery } from '../src/ports/repositories.ts';
import { parseListQuery } from '../src/http/v2/list-query.ts';
import { listCases, type ListCase } from './list-cases.ts';
import { seedImages } from './seed.ts';

export function listQuery(c: ListCase, marker: Image | undefined): ImageListQuery {
  const { limit, markerId: _m, ...request } = parseListQuery([...new URLSearchParams(c.query)]);
  return { ...request, viewer: { projectId: c.persona.project, isAdmin: c.persona.admin }, limit: limit ?? 25, marker };
}

/** A SQL literal for the sqlite3 shell, bound the way connect.ts binds it for better-sqlite3. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Date) return literal(value.toISOString());
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

function inline(sqlText: string, parameters: readonly unknown[]): string {
  let i = 0;
  return sqlText.replace(/\?/g, () => literal(parameters[i++]));
}

/** The deep page: after DEEP - 1 full pages (the cost of a page must not grow with its number). */
const DEEP = 10;

interface Steps { vm: number; fullscan: number; sorts: number; rows: number }

/** Runs the statements in one sqlite3 shell (read-only) and returns each one's counters. */
function measure(file: string, statements: string[]): Steps[] {
  const script = ['.stats on', '.mode list', ...statements.flatMap((s, i) => [`.print ###${i}`, `${s};`])].join('\n');
  const out = execFileSync('sqlite3', ['-readonly', file], { input: script, maxBuffer: 256 * 2 ** 20 }).toString();
  return out.split(/^###\d+\n/m).slice(1).map((part) => {
    const n = (label: string) => Number(new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(part)?.[1] ?? NaN);
    const rows = part.split('\n').findIndex((line) => line.startsWith('Memory Used:'));
    return { vm: n('Virtual Machine Steps'), fullscan: n('Fullscan Steps'), sorts: n('Sort Operations'), rows };
  });
}

/** The last image of the first `pages` pages: the marker of page `pages + 1`. */
async function markerAfter(database: Database, c: ListCase, pages: number): Promise<Image | undefined> {
  const query = listQuery(c, undefined);
  const page = await new SqlImageLister(database).list({ ...query, limit: query.limit * pages });
  return page.at(-1);
}

/** Work counters of one statement on PostgreSQL: shared buffers the plan touched (hit + read). */
async function pgBuffers(database: Database, compiled: CompiledQuery): Promise<Steps> {
  const explain = CompiledQuery.raw(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${compiled.sql}`, [...compiled.parameters]);
  let plan: Record<string, unknown> = {};
  for (let i = 0; i < 2; i++) { // the second run is the warm one
    const rows = (await database.db.executeQuery(explain)).rows as Record<string, unknown>[];
    const cell = Object.values(rows[0]!)[0];
    plan = ((typeof cell === 'string' ? JSON.parse(cell) : cell) as { Plan: Record<string, unknown> }[])[0]!.Plan;
  }
  let sorts = 0;
  let fullscan = 0;
  const visit = (n: Record<string, unknown>) => {
    if (n['Node Type'] === 'Sort') sorts++;
    if (n['Node Type'] === 'Seq Scan') fullscan++;
    for (const child of (n.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit(plan);
  return { vm: Number(plan['Shared Hit Blocks'] ?? 0) + Number(plan['Shared Read Blocks'] ?? 0), fullscan, sorts, rows: 0 };
}

/** Work counters of one statement on MariaDB/MySQL: the Handler_read_* calls (index and row reads). */
async function mysqlHandlerReads(database: Database, compiled: CompiledQuery): Promise<Steps> {
  return database.db.connection().execute(async (conn) => {
    const reads = async () => {
      const rows = (await conn.executeQuery(CompiledQuery.raw("SHOW SESSION STATUS LIKE 'Handler_read%'"))).rows as { Variable_name: string; Value: string }[];
      return rows.reduce((sum, r) => sum + Number(r.Value), 0);
    };
    const sorts = async () => {
      const rows = (await conn.executeQuery(CompiledQuery.raw("SHOW SESSION STATUS LIKE 'Sort_rows'"))).rows as { Value: string }[];
      return Number(rows[0]?.Value ?? 0);
    };
    await conn.executeQuery(compiled); // warm
    const [r0, s0] = [await reads(), await sorts()];
    await conn.executeQuery(compiled);
    const [r1, s1] = [await reads(), await sorts()];
    return { vm: r1 - r0, fullscan: 0, sorts: s1 - s0, rows: 0 };
  });
}

/** A database per catalogue size on the server of `base` (PostgreSQL or MariaDB/MySQL), named list_steps_<size>. */
async function serverDatabase(base: string, size: number): Promise<{ url: string; fresh: boolean; drop(): Promise<void> }> {
  const name = `list_steps_${size}`;
  const admin = await openDatabase(base, { maxPoolSize: 1 });
  const exists = admin.dialect === 'postgres'
    ? (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`.execute(admin.db)).rows[0]!.n > 0
    : (await sql<{ n: number }>`SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = ${name}`.execute(admin.db)).rows[0]!.n > 0;
  if (!exists) await sql`CREATE DATABASE ${sql.id(name)}`.execute(admin.db);
  await admin.close();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(), fresh: !exists,
    async drop() {
      const again = await openDatabase(base, { maxPoolSize: 1 });
      try {
        await sql`DROP DATABASE ${sql.id(name)}`.execute(again.db);
      } finally {
        await again.close();
      }
    },
  };
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_LIST_SIZES ?? '1000,10000,100000').split(',').map(Number).filter((n) => n > 0);
  const server = process.env.BENCH_LIST_STEPS_URL;
  const keep = process.env.BENCH_LIST_STEPS_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'glimpse-list-steps-'));
  mkdirSync(dir, { recursive: true });
  const results = new Map<string, Steps[][]>(); // case label → [size][page 1, 2, DEEP]
  let dialect: Dialect = 'sqlite';
  try {
    for (const size of sizes) {
      let url = `sqlite:///${join(dir, `list-${size}.db`)}`;
      let drop: (() => Promise<void>) | undefined;
      if (server !== undefined) {
        const made = await serverDatabase(server, size);
        url = made.url;
        drop = keep === undefined ? made.drop : undefined;
        if (made.fresh) await seedImages(url, '/nonexistent', 0, size);
      } else if (!existsSync(join(dir, `list-${size}.db`))) {
        await seedImages(url, '/nonexistent', 0, size);
      }
      const database = await openDatabase(url);
      dialect = database.dialect;
      const steps: Steps[] = [];
      try {
        if (dialect === 'postgres') await sql`ANALYZE`.execute(database.db);
        if (dialect === 'mysql') await sql`ANALYZE TABLE images, image_members, image_tags, image_properties`.execute(database.db);
        const statements: CompiledQuery[] = [];
        for (const c of listCases) {
          for (const m of [undefined, await markerAfter(database, c, 1), await markerAfter(database, c, DEEP - 1)]) {
            const query = listQuery(c, m);
            statements.push(pageQuery(database.db, dialect, query, visibilityBranches(query)).compile());
          }
        }
        if (dialect === 'sqlite') steps.push(...measure(join(dir, `list-${size}.db`), statements.map((q) => inline(q.sql, q.parameters))));
        else for (const q of statements) steps.push(await (dialect === 'postgres' ? pgBuffers(database, q) : mysqlHandlerReads(database, q)));
      } finally {
        await database.close();
        await drop?.();
      }
      listCases.forEach((c, i) => {
        const perSize = results.get(c.label) ?? [];
        perSize.push(steps.slice(3 * i, 3 * i + 3));
        results.set(c.label, perSize);
      });
    }
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  const unit = { sqlite: 'VM steps', postgres: 'buffers', mysql: 'handler reads' }[dialect];
  console.log(`${dialect}: ${unit} per page query; fullscans/sorts (PostgreSQL: Seq Scan / Sort nodes, MariaDB: rows sorted) per page\n`);
  const head = ['case', ...sizes.map((s) => `${s}: p1 / p2 / p${DEEP}`), 'max ratio over 1st size (p1, p2)', 'fullscans/sorts'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  let worst = 0;
  let deepest = 0;
  for (const c of listCases) {
    const perSize = results.get(c.label)!;
    const base = perSize[0]!;
    const ratio = Math.max(1, ...perSize.slice(1).flatMap((s) => s.slice(0, 2).map((x, page) => x.vm / Math.max(1, base[page]!.vm))));
    worst = Math.max(worst, ratio);
    deepest = Math.max(deepest, ...perSize.slice(1).map((s) => s[2]!.vm / Math.max(1, s[1]!.vm)));
    const flags = perSize.flatMap((s) => s.map((x) => `${x.fullscan}/${x.sorts}`)).join(' ');
    console.log(`| ${c.label} | ${perSize.map((s) => s.map((x) => x.vm).join(' / ')).join(' | ')} | ${ratio.toFixed(2)}× | ${flags} |`);
  }
  console.log(`\nworst ratio over ${sizes[0]} images: ${worst.toFixed(2)}×; worst page ${DEEP} ÷ page 2 (larger sizes): ${deepest.toFixed(2)}×`);
}

if (process.argv[1]?.endsWith('list-steps.ts')) await main();
