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
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../src/db/connect.ts';
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

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_LIST_SIZES ?? '1000,10000,100000').split(',').map(Number).filter((n) => n > 0);
  const keep = process.env.BENCH_LIST_STEPS_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'glimpse-list-steps-'));
  mkdirSync(dir, { recursive: true });
  const results = new Map<string, Steps[][]>(); // case label → [size][first page, page 2]
  try {
    for (const size of sizes) {
      const file = join(dir, `list-${size}.db`);
      if (!existsSync(file)) await seedImages(`sqlite:///${file}`, '/nonexistent', 0, size);
      const database = await openDatabase(`sqlite:///${file}`);
      const statements: string[] = [];
      try {
        for (const c of listCases) {
          for (const m of [undefined, await markerAfter(database, c, 1), await markerAfter(database, c, DEEP - 1)]) {
            const query = listQuery(c, m);
            const compiled = pageQuery(database.db, 'sqlite', query, visibilityBranches(query)).compile();
            statements.push(inline(compiled.sql, compiled.parameters));
          }
        }
      } finally {
        await database.close();
      }
      const steps = measure(file, statements);
      listCases.forEach((c, i) => {
        const perSize = results.get(c.label) ?? [];
        perSize.push(steps.slice(3 * i, 3 * i + 3));
        results.set(c.label, perSize);
      });
    }
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  const head = ['case', ...sizes.map((s) => `${s}: VM steps p1 / p2 / p${DEEP}`), 'max ratio over 1st size', 'fullscan, sorts'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  let worst = 0;
  let deepest = 0;
  for (const c of listCases) {
    const perSize = results.get(c.label)!;
    const base = perSize[0]!;
    const ratio = Math.max(1, ...perSize.slice(1).flatMap((s) => s.slice(0, 2).map((x, page) => x.vm / base[page]!.vm)));
    worst = Math.max(worst, ratio);
    deepest = Math.max(deepest, ...perSize.slice(1).map((s) => s[2]!.vm / s[1]!.vm));
    const flags = perSize.flatMap((s) => s.map((x) => `${x.fullscan}/${x.sorts}`)).join(' ');
    console.log(`| ${c.label} | ${perSize.map((s) => s.map((x) => x.vm).join(' / ')).join(' | ')} | ${ratio.toFixed(2)}× | ${flags} |`);
  }
  console.log(`\nworst VM-step ratio over ${sizes[0]} images: ${worst.toFixed(2)}×; worst page ${DEEP} ÷ page 2: ${deepest.toFixed(2)}×`);
}

if (process.argv[1]?.endsWith("list-steps.ts")) await main();
