// SQL building blocks of the image list (image-lister.ts): visibility scopes, filters, tags, the
// sort order and the keyset predicate. Every function returns a Kysely expression over the
// `images` table of the query it is used in; nothing here filters or sorts in JavaScript.
//
// Tag and property tests are correlated EXISTS probes of the child table's primary key (image_id,
// value) / (image_id, name) for each row the index walk reaches, so a page costs the page (divided
// by the share of images that match), whatever the size of the catalogue. `id IN (SELECT image_id
// …)`, used before, made SQLite build the list of every matching image first (a LIST SUBQUERY over
// all images tagged `bench`: CPU per request grew 1.6× from 1k to 3k images); it was faster only for
// tags and values few images carry (decision 0016). "Shared with me" starts from the viewer's
// memberships (image-lister.ts).
//
// Null ordering (one rule on every dialect): NULL is the smallest value of a sort key, so NULLs
// come first in ascending and last in descending order. MariaDB/MySQL and SQLite order NULLs
// that way natively; PostgreSQL (NULL largest by default) gets explicit NULLS FIRST / NULLS LAST.
// The keyset predicate follows the same rule; because the marker's values are known when the
// query is built, each NULL case becomes a plain IS [NOT] NULL / comparison term instead of a
// CASE expression, which keeps the comparisons sargable.
import { sql, type Expression, type ExpressionBuilder, type OrderByModifiers, type SqlBool } from 'kysely';
import type { Image } from '../domain/image.ts';
import type { ImageColumn, ImageListQuery, ListFilter, SortDir, SortKey } from '../ports/repositories.ts';
import type { Dialect } from './url.ts';
import type { Schema } from './schema.ts';

export type ImagesEb = ExpressionBuilder<Schema, 'images'>;
export type Predicate = (eb: ImagesEb) => Expression<SqlBool>;

/** One branch of the visible set: `scope` over images, and for "shared with me" the memberships. */
export interface VisibilityBranch {
  scope: Predicate;
  /** Columns `scope` holds equal to one value (or NULL): what an index range may start with. */
  equal: ('owner' | 'visibility')[];
  /** Only images this project is a member of, with this member status ('all': any). */
  viaMembers?: { project: string; status: ImageListQuery['memberStatus'] };
  /** The owner-NULL branch: `owner IS NULL`, which SQLite misjudges (list-index-hints.ts). */
  ownerNull?: true;
}

/** Statuses that never appear in a list (spec/v2.md §2.3). */
export const unlistedStatuses = ['deleted', 'killed', 'pending_delete'] as const;

// ---- visibility -----------------------------------------------------------------------------

/**
 * The viewer's visible set as a list of mutually exclusive branches (an image matches at most
 * one), so the lister may run them as one OR or as a UNION ALL of separately indexed scans.
 * The "shared with me" branch names its memberships in `viaMembers` instead of testing them in
 * `scope`: the lister then reads it starting from the viewer's image_members rows (see
 * image-lister.ts), so its cost follows the viewer's memberships, not the number of shared images.
 *
 * Non-admin viewer with project p (Glance's _select_images_query plus the owner-NULL DB rule):
 *   readable = owner = p | owner IS NULL | others' public or community | others' shared where p is
 *   a member whose status matches memberStatus ('all' = any status).
 *   - visibility undefined: readable minus others' community images (own and owner-NULL community
 *     stay: the owner-NULL image belongs to everyone, so it is treated like an own image);
 *   - 'all': readable (adds every community image);
 *   - a concrete visibility: readable ∩ visibility = v; hence 'public'/'community' = all images of
 *     that visibility, 'private' = own + owner-NULL private, 'shared' = own + owner-NULL shared +
 *     shared with p per memberStatus. Private images never match through membership.
 *   A viewer without a project (projectId null) owns nothing and is nobody's member.
 * Admin (Glance's admin branch; memberStatus has no effect for admins, as in Glance):
 *   - undefined: every image except community images owned by another project;
 *   - 'all': every image; a concrete visibility: every image of that visibility.
 */
export function visibilityBranches(query: Pick<ImageListQuery, 'viewer' | 'visibility' | 'memberStatus'>): VisibilityBranch[] {
  const { viewer: { projectId: project, isAdmin }, visibility, memberStatus } = query;
  if (isAdmin) {
    if (visibility === 'all') return [{ scope: (eb) => eb.and([]), equal: [] }];
    if (visibility !== undefined) return [{ scope: (eb) => eb('visibility', '=', visibility), equal: ['visibility'] }];
    return [{ equal: [], scope: (eb) => eb.or([
      eb('visibility', '<>', 'community'),
      eb('owner', 'is', null),
      ...(project === null ? [] : [eb('owner', '=', project)]),
    ]) }];
  }
  const concrete = visibility !== undefined && visibility !== 'all' ? visibility : undefined;
  const restrict = (eb: ImagesEb) => (concrete === undefined ? [] : [eb('visibility', '=', concrete)]);
  const others = (eb: ImagesEb) => (project === null ? eb('owner', 'is not', null) : eb('owner', '<>', project));
  const open: ('public' | 'community')[] = visibility === undefined ? ['public']
    : visibility === 'all' ? ['public', 'community']
      : concrete === 'public' || concrete === 'community' ? [concrete] : [];

  const branches: VisibilityBranch[] = [];
  const ownEqual: VisibilityBranch['equal'] = concrete === undefined ? ['owner'] : ['owner', 'visibility'];
  if (project !== null) branches.push({ scope: (eb) => eb.and([eb('owner', '=', project), ...restrict(eb)]), equal: ownEqual });
  branches.push({ scope: (eb) => eb.and([eb('owner', 'is', null), ...restrict(eb)]), equal: ownEqual, ownerNull: true });
  // One branch per open visibility: `visibility IN (a, b)` is two ranges, whose union no index
  // delivers in sort order.
  for (const v of open) branches.push({ scope: (eb) => eb.and([others(eb), eb('visibility', '=', v)]), equal: ['visibility'] });
  if (project !== null && (concrete === undefined || concrete === 'shared')) {
    branches.push({
      scope: (eb) => eb.and([others(eb), eb('visibility', '=', 'shared')]),
      equal: ['visibility'],
      viaMembers: { project, status: memberStatus },
    });
  }
  return branches;
}

// ---- filters --------------------------------------------------------------------------------

type ColumnKind = 'text' | 'bool' | 'int' | 'timestamp';

/**
 * Value domains of the filterable columns. Out-of-domain values are settled here (they match no
 * row, or every non-NULL row for a range bound beyond the domain) instead of reaching the
 * database, where each dialect would react differently (PostgreSQL rejects 2^31 for an INTEGER
 * parameter and 'abc' for a BIGINT one, MariaDB casts '12abc' to 12, SQLite compares text with
 * numbers by type).
 */
const columnKinds: Record<ImageColumn, ColumnKind> = {
  id: 'text', name: 'text', status: 'text', visibility: 'text', owner: 'text', disk_format: 'text',
  container_format: 'text', checksum: 'text', os_hash_algo: 'text', os_hash_value: 'text',
  protected: 'bool', os_hidden: 'bool',
  size: 'int', virtual_size: 'int', min_disk: 'int', min_ram: 'int',
  created_at: 'timestamp', updated_at: 'timestamp',
};

const INT32 = { lo: -(2 ** 31), hi: 2 ** 31 - 1 };
const SAFE = { lo: Number.MIN_SAFE_INTEGER, hi: Number.MAX_SAFE_INTEGER };
/** MariaDB's DATETIME range; four-digit years also keep SQLite's ISO-8601 text in time order. */
const TIMES = { lo: Date.UTC(1000, 0, 1), hi: Date.UTC(9999, 11, 31, 23, 59, 59, 999) };

function numericRange(column: ImageColumn): { lo: number; hi: number } {
  if (columnKinds[column] === 'timestamp') return TIMES;
  return column === 'min_disk' || column === 'min_ram' ? INT32 : SAFE;
}

/** An exact-match value in the column's domain, or undefined when no stored value can equal it. */
function exactValue(column: ImageColumn, value: string | number | boolean): string | number | boolean | Date | undefined {
  switch (columnKinds[column]) {
    case 'text':
      return String(value);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 1 || value === 0) return value === 1;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      return undefined;
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : NaN;
      const { lo, hi } = numericRange(column);
      return Number.isInteger(n) && n >= lo && n <= hi ? n : undefined;
    }
    case 'timestamp': {
      if (typeof value === 'boolean') return undefined;
      const ms = new Date(value).getTime();
      return ms >= TIMES.lo && ms <= TIMES.hi ? new Date(ms) : undefined;
    }
  }
}

function inFilter(eb: ImagesEb, column: ImageColumn, values: (string | number | boolean | null)[]): Expression<SqlBool> {
  const terms: Expression<SqlBool>[] = [];
  if (values.includes(null)) terms.push(eb(column, 'is', null));
  const distinct = new Map<string, string | number | boolean | Date>();
  for (const v of values) {
    const x = v === null ? undefined : exactValue(column, v);
    if (x !== undefined) distinct.set(x instanceof Date ? x.toISOString() : String(x), x);
  }
  const bound = [...distinct.values()];
  if (bound.length === 1) terms.push(eb(column, '=', bound[0] as never));
  else if (bound.length > 1) terms.push(eb(column, 'in', bound as never));
  return eb.or(terms);
}

const operators = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
type CompareOp = keyof typeof operators;

/**
 * `column op value` on a numeric or timestamp column. A bound outside the column's domain (or a
 * fraction on an integer column) is rewritten to the equivalent predicate with an in-domain bound.
 */
function compareFilter(eb: ImagesEb, column: ImageColumn, op: CompareOp, value: number | Date): Expression<SqlBool> {
  const kind = columnKinds[column];
  if (kind !== 'int' && kind !== 'timestamp') {
    throw new TypeError(`A range filter needs a numeric or timestamp column, not ${column}`);
  }
  if ((kind === 'timestamp') !== (value instanceof Date)) {
    throw new TypeError(`A range filter on ${column} needs a ${kind === 'timestamp' ? 'Date' : 'number'}`);
  }
  let v = value instanceof Date ? value.getTime() : value;
  const notNull = eb(column, 'is not', null);
  if (Number.isNaN(v)) return eb.or([]);
  if (kind === 'int' && !Number.isInteger(v)) {
    if (op === 'eq') return eb.or([]);
    if (op === 'neq') return notNull;
    [op, v] = op === 'gt' || op === 'gte' ? ['gte', Math.ceil(v)] : ['lte', Math.floor(v)];
  }
  const { lo, hi } = numericRange(column);
  if (v < lo || v > hi) {
    const below = v < lo;
    switch (op) {
      case 'eq': return eb.or([]);
      case 'neq': return notNull;
      case 'gt': case 'gte': return below ? notNull : eb.or([]);
      case 'lt': case 'lte': return below ? eb.or([]) : notNull;
    }
  }
  return eb(column, operators[op], (kind === 'timestamp' ? new Date(v) : v) as never);
}

/** Glance renders a NULL property value as "", so `name=` also matches NULL values. */
function propertyFilter(eb: ImagesEb, name: string, value: string): Expression<SqlBool> {
  return eb.exists(eb.selectFrom('image_properties as p').select('p.image_id')
    .whereRef('p.image_id', '=', 'images.id')
    .where('p.name', '=', name)
    .where((p) => (value === '' ? p.or([p('p.value', '=', ''), p('p.value', 'is', null)]) : p('p.value', '=', value))));
}

export function filterPredicate(eb: ImagesEb, filter: ListFilter): Expression<SqlBool> {
  switch (filter.kind) {
    case 'in': return inFilter(eb, filter.column, filter.values);
    case 'compare': return compareFilter(eb, filter.column, filter.op, filter.value);
    case 'property': return propertyFilter(eb, filter.name, filter.value);
  }
}

/** One semi-join per distinct tag: every tag must be present. */
export function tagPredicates(eb: ImagesEb, tags: string[]): Expression<SqlBool>[] {
  return [...new Set(tags)].map((tag) => eb.exists(eb.selectFrom('image_tags as t').select('t.image_id')
    .whereRef('t.image_id', '=', 'images.id').where('t.value', '=', tag)));
}

// ---- order and keyset -----------------------------------------------------------------------

export interface SortTerm {
  key: SortKey;
  dir: SortDir;
}

const nullableKeys: ReadonlySet<SortKey> = new Set(['name', 'size', 'disk_format', 'container_format']);

const markerValue: Record<SortKey, (image: Image) => string | number | Date | null> = {
  name: (i) => i.name,
  status: (i) => i.status,
  container_format: (i) => i.containerFormat,
  disk_format: (i) => i.diskFormat,
  size: (i) => i.size,
  id: (i) => i.id,
  created_at: (i) => i.createdAt,
  updated_at: (i) => i.updatedAt,
};

/**
 * The effective sort: each key once (a repeated key cannot change the order), then Glance's
 * tie-breakers created_at and id where missing (spec/v2.md §4.1), in the callers' one direction
 * (desc when they gave several). Ending with id makes the order total; created_at before it is
 * Glance's order and what the list indexes hold (migration 0009).
 */
export function normalizeSort(sort: SortTerm[]): SortTerm[] {
  const out: SortTerm[] = [];
  for (const term of sort) if (!out.some((t) => t.key === term.key)) out.push(term);
  const dirs = new Set(out.map((t) => t.dir));
  const dir: SortDir = dirs.size === 1 ? [...dirs][0]! : 'desc';
  for (const key of ['created_at', 'id'] as const) if (!out.some((t) => t.key === key)) out.push({ key, dir });
  return out;
}

/** ORDER BY items for `sort` with the NULL-smallest rule; columns are unqualified (they also order a derived table). */
export function orderItems(sort: SortTerm[], dialect: Dialect): [Expression<unknown>, OrderByModifiers][] {
  return sort.map(({ key, dir }): [Expression<unknown>, OrderByModifiers] => {
    if (dialect !== 'postgres' || !nullableKeys.has(key)) return [sql.ref(key), dir];
    return [sql.ref(key), dir === 'asc' ? (ob) => ob.asc().nullsFirst() : (ob) => ob.desc().nullsLast()];
  });
}

/**
 * Rows strictly after `marker` in `sort` order (NULL smallest), in the expanded form
 *   (k1 ≻ m1) OR (k1 ≐ m1 AND k2 ≻ m2) OR …
 * where ≐ is `= m` or `IS NULL` and ≻ is "after m in this key's direction". A redundant bound on
 * k1 alone (k1 >= m1 ascending, k1 <= m1 descending) is ANDed in front so every dialect can use
 * an index on k1 as a range instead of filtering the OR row by row.
 */
export function keysetPredicate(eb: ImagesEb, sort: SortTerm[], marker: Image): Expression<SqlBool> {
  const first = sort[0]!;
  const values = sort.map(({ key }) => markerValue[key](marker));
  const same = (key: SortKey, m: string | number | Date | null) => (m === null ? eb(key, 'is', null) : eb(key, '=', m as never));
  const after = (key: SortKey, dir: SortDir, m: string | number | Date | null): Expression<SqlBool> | undefined => {
    if (dir === 'asc') return m === null ? eb(key, 'is not', null) : eb(key, '>', m as never);
    if (m === null) return undefined; // descending, NULL last: nothing sorts after NULL on this key
    return nullableKeys.has(key) ? eb.or([eb(key, '<', m as never), eb(key, 'is', null)]) : eb(key, '<', m as never);
  };
  const terms: Expression<SqlBool>[] = [];
  sort.forEach(({ key, dir }, i) => {
    const step = after(key, dir, values[i]!);
    if (step !== undefined) terms.push(eb.and([...sort.slice(0, i).map((s, j) => same(s.key, values[j]!)), step]));
  });
  const m1 = values[0]!;
  let lead: Expression<SqlBool> | undefined;
  if (first.dir === 'asc') lead = m1 === null ? undefined : eb(first.key, '>=', m1 as never);
  else if (m1 === null) lead = eb(first.key, 'is', null);
  else lead = nullableKeys.has(first.key) ? eb.or([eb(first.key, '<=', m1 as never), eb(first.key, 'is', null)]) : eb(first.key, '<=', m1 as never);
  return eb.and([...(lead === undefined ? [] : [lead]), eb.or(terms)]);
}

/**
 * "After the marker" as disjoint parts, each a range that an index walk starts at the marker (or
 * at its beginning) and that the lister runs as a branch of its own, ordered and limited; their
 * union is keysetPredicate's set.
 *
 * On SQLite and PostgreSQL, when the keys share one direction and every key after the first is
 * NOT NULL (created_at and id, Glance's tie-breakers, always are), the parts are row-value
 * comparisons, which both dialects take as the start of an index range:
 *   m1 not NULL, ascending or k1 NOT NULL:  (k1, k2, …) ≻ (m1, m2, …)
 *   m1 not NULL, descending, k1 nullable:   (k1, k2, …) < (m1, m2, …);  k1 IS NULL (NULLs come last)
 *   m1 NULL, ascending:                     k1 IS NULL AND (k2, …) > (m2, …);  k1 IS NOT NULL
 *   m1 NULL, descending:                    k1 IS NULL AND (k2, …) < (m2, …)
 * A row comparison is decided by the first unequal pair; a NULL k1 there makes it NULL, and a NULL
 * k1 sorts before a non-NULL m1 ascending, which is why only the descending nullable case needs
 * the IS NULL part. With only k1 bounded (the expanded form's lead), a page after a marker read
 * every row before the marker that shares its k1: page n of a list sorted by status read the n − 1
 * pages before it (bench/list-steps.ts). Anything else — mixed directions, a nullable key after
 * the first, `allowRowValues` false — is the expanded form. The lister allows row values on SQLite
 * and PostgreSQL but not on MariaDB (whose range optimizer does not start at row values), and not
 * in PostgreSQL's owner-NULL branch: PostgreSQL estimates a row comparison from its first column
 * alone (`(status, …) < ('active', …)` as "status < 'active'", a few rows), and with that estimate
 * walked (os_hidden, status, created_at, id) from the marker to the end of the catalogue looking
 * for owner-NULL images instead of the owner index; the expanded form's lead (status <= 'active')
 * is estimated as what it is.
 */
export function keysetParts(sort: SortTerm[], marker: Image, allowRowValues: boolean): Predicate[] {
  const [first, ...rest] = sort;
  const values = sort.map(({ key }) => markerValue[key](marker));
  const rowValues = allowRowValues && first !== undefined
    && sort.every((s) => s.dir === first.dir) && rest.every((s) => !nullableKeys.has(s.key));
  if (!rowValues) return [(eb) => keysetPredicate(eb, sort, marker)];
  const after = first.dir === 'asc' ? sql.raw('>') : sql.raw('<');
  const row = (from: number) => sql<SqlBool>`(${sql.join(sort.slice(from).map(({ key }) => sql.ref(key)))}) ${after} (${sql.join(values.slice(from).map((v) => sql.val(v)))})`;
  const k1 = first.key;
  if (values[0] !== null) {
    return first.dir === 'asc' || !nullableKeys.has(k1) ? [() => row(0)] : [() => row(0), (eb) => eb(k1, 'is', null)];
  }
  const nullPart: Predicate = (eb) => eb.and([eb(k1, 'is', null), row(1)]);
  return first.dir === 'asc' ? [nullPart, (eb) => eb(k1, 'is not', null)] : [nullPart];
}

/** Everything but visibility and the keyset: list-wide exclusions, filters, tags and os_hidden. */
export function commonPredicates(eb: ImagesEb, query: ImageListQuery): Expression<SqlBool>[] {
  return [
    ...(query.includeDeleted === true ? [] : [eb('deleted', '=', false), eb('status', 'not in', [...unlistedStatuses])]),
    eb('os_hidden', '=', query.osHidden),
    ...query.filters.map((f) => filterPredicate(eb, f)),
    ...tagPredicates(eb, query.tags),
  ];
}
