// EXPLAIN of a compiled query on SQLite, PostgreSQL or MariaDB/MySQL, reduced to what the list's
// plan contract asks (decision 0016): how each table of the image list is read, and whether rows
// of `images` reach a sort. A plan is "bounded" when
//   - no table of the image list (images, image_members, image_tags, image_properties) is read
//     whole (SQLite `SCAN t` without an index, PostgreSQL Seq Scan, MariaDB type ALL);
//   - no sort takes rows read from an images index range or walk (SQLite USE TEMP B-TREE FOR
//     ORDER BY beside such a SEARCH/SCAN, PostgreSQL Sort/Incremental Sort over one without a
//     Limit in between, MariaDB "Using filesort" in its select), except rows reached by primary-key
//     probes from the viewer's image_members rows ("shared with me": bounded by memberships);
//   - no subquery over image_tags / image_properties is materialized whole (SQLite LIST SUBQUERY,
//     MariaDB MATERIALIZED, PostgreSQL Hash over them): those are probed per row instead.
// The outer merge of a UNION ALL of limited branches is a sort of at most branches × limit rows and
// is not counted.
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../../src/db/connect.ts';

/** One read of `images` through a secondary index: which index, and the conditions that bound it. */
export interface ImagesWalk {
  index: string;
  /** SQLite: the constraint list of the SEARCH; PostgreSQL: Index Cond; MariaDB: the access type. */
  bound: string;
}

export interface PlanVerdict {
  /** Human-readable problems; empty = bounded. */
  problems: string[];
  /** Indexes of `images` the plan reads (for messages and index-use assertions). */
  indexes: string[];
  /** Every read of `images` through a secondary index, in plan order. */
  walks: ImagesWalk[];
  /** The raw plan, for messages. */
  text: string;
}

const listTables = new Set(['images', 'image_members', 'image_tags', 'image_properties', 'm', 't', 'p']);
const childTables = new Set(['image_tags', 'image_properties', 't', 'p']);

async function rows(db: Kysely<unknown>, text: string, parameters: readonly unknown[]): Promise<Record<string, unknown>[]> {
  return (await db.executeQuery(CompiledQuery.raw(text, [...parameters]))).rows as Record<string, unknown>[];
}

// ---- SQLite ---------------------------------------------------------------------------------

interface SqliteNode { id: number; parent: number; detail: string }

function sqliteVerdict(nodes: SqliteNode[]): PlanVerdict {
  const problems: string[] = [];
  const indexes = new Set<string>();
  const walks: ImagesWalk[] = [];
  const access = /^(SCAN|SEARCH) (\S+)(?: AS \S+)?(?: USING (?:COVERING |PRIMARY KEY )?INDEX (\S+))?(?: \((.*)\))?/;
  for (const node of nodes) {
    const m = access.exec(node.detail);
    if (m === null) continue;
    const table = m[2]!;
    if (table === 'images' && m[3] !== undefined && !m[3].startsWith('sqlite_autoindex')) {
      indexes.add(m[3]);
      walks.push({ index: m[3], bound: m[4] ?? '' });
    }
    if (listTables.has(table) && m[1] === 'SCAN' && m[3] === undefined && !/USING (ROWID|INTEGER PRIMARY KEY)/.test(node.detail)) {
      problems.push(`full scan: ${node.detail}`);
    }
  }
  for (const list of nodes.filter((n) => /^LIST SUBQUERY/.test(n.detail))) {
    for (const child of nodes.filter((n) => n.parent === list.id && /^(SCAN|SEARCH) (t|p|image_tags|image_properties)\b/.test(n.detail))) {
      problems.push(`materialized child table: ${child.detail}`);
    }
  }
  for (const sort of nodes.filter((n) => /USE TEMP B-TREE FOR (RIGHT PART OF )?ORDER BY/.test(n.detail))) {
    const siblings = nodes.filter((n) => n.parent === sort.parent && n !== sort).map((n) => n.detail);
    const images = siblings.filter((d) => /^(SCAN|SEARCH) images\b/.test(d));
    const fromMembers = siblings.some((d) => /^(SCAN|SEARCH) m\b/.test(d));
    for (const d of images) {
      const pkProbe = /sqlite_autoindex_images_1 \(id=\?\)/.test(d);
      if (!(pkProbe && fromMembers)) problems.push(`sort of images rows: ${d}`);
    }
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = (n: SqliteNode): number => (byId.has(n.parent) ? 1 + depth(byId.get(n.parent)!) : 0);
  return { problems, indexes: [...indexes], walks, text: nodes.map((n) => `${'  '.repeat(depth(n))}${n.detail}`).join('\n') };
}

// ---- PostgreSQL -----------------------------------------------------------------------------

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Alias'?: string;
  'Index Cond'?: string;
  Plans?: PgNode[];
}

function pgVerdict(plan: PgNode): PlanVerdict {
  const problems: string[] = [];
  const indexes = new Set<string>();
  const walks: ImagesWalk[] = [];
  const describe = (n: PgNode) => `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`;
  const visit = (n: PgNode) => {
    const relation = n['Relation Name'];
    if (relation === 'images' && n['Index Name'] !== undefined && n['Index Name'] !== 'pk_images') {
      indexes.add(n['Index Name']);
      walks.push({ index: n['Index Name'], bound: n['Index Cond'] ?? '' });
    }
    if (relation !== undefined && listTables.has(relation) && n['Node Type'] === 'Seq Scan') problems.push(`full scan: ${describe(n)}`);
    if (n['Node Type'] === 'Hash' && below(n, () => true).some((d) => childTables.has(d['Relation Name'] ?? ''))) {
      problems.push(`materialized child table: ${below(n, () => true).map(describe).join(', ')}`);
    }
    if (n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort') {
      const reached = below(n, (d) => d['Node Type'] !== 'Limit');
      const fromMembers = reached.some((d) => d['Relation Name'] === 'image_members');
      for (const d of reached.filter((r) => r['Relation Name'] === 'images')) {
        const pkProbe = d['Index Name'] === 'pk_images';
        if (!(pkProbe && fromMembers)) problems.push(`sort of images rows: ${n['Node Type']} over ${describe(d)}`);
      }
    }
    for (const child of n.Plans ?? []) visit(child);
  };
  /** Descendants of n, not descending below nodes for which `descend` is false (they are included). */
  function below(n: PgNode, descend: (d: PgNode) => boolean): PgNode[] {
    const out: PgNode[] = [];
    for (const child of n.Plans ?? []) {
      out.push(child);
      if (descend(child)) out.push(...below(child, descend));
    }
    return out;
  }
  visit(plan);
  const lines: string[] = [];
  const print = (n: PgNode, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${describe(n)}`);
    for (const child of n.Plans ?? []) print(child, depth + 1);
  };
  print(plan, 0);
  return { problems, indexes: [...indexes], walks, text: lines.join('\n') };
}

// ---- MariaDB / MySQL ------------------------------------------------------------------------

interface MysqlRow { id: number | null; select_type: string; table: string | null; type: string | null; key: string | null; Extra: string | null }

function mysqlVerdict(plan: MysqlRow[]): PlanVerdict {
  const problems: string[] = [];
  const indexes = new Set<string>();
  const walks: ImagesWalk[] = [];
  for (const row of plan) {
    const table = row.table ?? '';
    if (table === 'images' && row.key !== null && row.key !== 'PRIMARY') {
      for (const k of row.key.split(',')) {
        indexes.add(k);
        walks.push({ index: k, bound: row.type ?? '' });
      }
    }
    if (listTables.has(table) && row.type === 'ALL') problems.push(`full scan: ${table} (type ALL)`);
    if (listTables.has(table) && row.type === 'index_merge') problems.push(`index merge: ${table} (${row.key})`);
    if (row.select_type === 'MATERIALIZED' && childTables.has(table)) problems.push(`materialized child table: ${table}`);
  }
  const ids = new Set(plan.map((r) => r.id));
  for (const id of ids) {
    const select = plan.filter((r) => r.id === id);
    if (!select.some((r) => /Using filesort/.test(r.Extra ?? ''))) continue;
    const fromMembers = select.some((r) => r.table === 'm');
    for (const r of select.filter((s) => s.table === 'images')) {
      const pkProbe = r.type === 'eq_ref' && r.key === 'PRIMARY';
      if (!(pkProbe && fromMembers)) problems.push(`sort of images rows: select ${id}, images ${r.type} ${r.key ?? ''}`);
    }
  }
  const text = plan.map((r) => `${r.id ?? '-'} ${r.select_type} ${r.table} ${r.type} ${r.key ?? ''} ${r.Extra ?? ''}`).join('\n');
  return { problems, indexes: [...indexes], walks, text };
}

/** EXPLAIN of `query` on `database`'s dialect, reduced to a verdict. */
export async function explain(database: Database, query: CompiledQuery): Promise<PlanVerdict> {
  const db = database.db as unknown as Kysely<unknown>;
  switch (database.dialect) {
    case 'sqlite':
      return sqliteVerdict((await rows(db, `EXPLAIN QUERY PLAN ${query.sql}`, query.parameters)) as unknown as SqliteNode[]);
    case 'postgres': {
      // A test catalogue is small enough that reading a branch whole and sorting it is the
      // cheapest plan; on a real one the walk is. The planner is told to avoid the whole-branch
      // methods, so the plan shows whether a walk exists for this query shape and these indexes
      // (without the index it still falls back to a sort, and the verdict says so).
      const [row] = await db.transaction().execute(async (trx) => {
        for (const setting of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort', 'enable_incremental_sort', 'enable_hashjoin', 'enable_mergejoin']) {
          await trx.executeQuery(CompiledQuery.raw(`SET LOCAL ${setting} = off`));
        }
        return rows(trx, `EXPLAIN (FORMAT JSON) ${query.sql}`, query.parameters);
      });
      const json = row!['QUERY PLAN'];
      const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as Array<{ Plan: PgNode }>;
      return pgVerdict(parsed[0]!.Plan);
    }
    case 'mysql':
      return mysqlVerdict((await rows(db, `EXPLAIN ${query.sql}`, query.parameters)) as unknown as MysqlRow[]);
  }
}
