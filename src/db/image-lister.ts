// ImageLister over Kysely (SQLite, PostgreSQL, MariaDB/MySQL): one page of the image list with
// visibility, filters, tags, order and the keyset marker applied in SQL (image-list-sql.ts), then
// the page's properties, tags and locations loaded by hydrate() in the same read snapshot.
//
// Query shape. A non-admin's visible set is up to five disjoint branches (own, owner NULL, others'
// public, others' community, shared with the viewer). As one OR, a list sorted by created_at walks
// ix_images_created_at_id and filters row by row, which costs ~1/(visible fraction) rows per row
// returned (and the whole table when fewer than `limit` rows are visible); MariaDB instead
// index-merges every branch and sorts all of it. So a multi-branch list runs as
//   SELECT * FROM (SELECT * FROM (<branch 1> ORDER BY s LIMIT n) b0 UNION ALL …) v ORDER BY s LIMIT n
// where the own, owner-NULL, public and community branches are each an ordered range of their own
// index — (owner, os_hidden, S, created_at, id), (visibility, os_hidden, S, created_at, id) for the
// sort key S (migration 0009, decision 0016) — that stops after n rows past the marker, and the
// outer query merges at most 5n rows (PostgreSQL: Merge Append). On MariaDB each branch names the
// indexes it must not use, on SQLite the owner-NULL branch the one it must walk
// (list-index-hints.ts). The branches are
// disjoint, so UNION ALL needs no de-duplication. Each branch is wrapped in a derived table
// because SQLite allows ORDER BY and LIMIT only on the last member of a compound SELECT.
// "Shared with me" starts from the viewer's memberships instead:
//   FROM (SELECT image_id FROM image_members WHERE member = :p AND status = :s) s
//        CROSS JOIN images WHERE images.id = s.image_id AND … ORDER BY … LIMIT n
// an index range of image_members (member, status, image_id), one primary-key probe per
// membership and a sort of what matched: its cost follows the viewer's memberships, whatever the
// size of the catalogue. Walking (visibility, created_at, id) for it instead (what SQLite chose for
// `id IN (subquery)`) reads every shared image of the cloud until n of them are the viewer's: for
// a viewer with no memberships, all of them (100k images: 90k VM steps, 224 page reads, against 16
// and 7). SQLite keeps the left table of a CROSS JOIN as the outer loop; PostgreSQL and MariaDB
// plan it as an inner join by their statistics. The derived table has only `image_id`, so the
// unqualified column names of the other predicates still name images' columns.
// Measured (page of 25, created_at desc; 10k images with 6 % visible / 50k with 0.3 % visible):
//   PostgreSQL  UNION 2.7 / 2.4 ms (≈1 ms of it planning)   OR 2.9 / 6.1 ms (5 ms filtering 8k rows)
//   MariaDB     UNION 3.9 / 4.7 ms                           OR 17 / 46 ms (index_merge + filesort)
//   SQLite      UNION 1.2 / 1.6 ms                           OR 0.6 / 7.6 ms
// The OR grows with the table, the UNION with the page. Admin lists (one branch) stay one query.
// After a marker a branch may run as two walks (a descending nullable sort key: the rows after the
// marker's value, then the NULLs; see keysetParts), each one more member of the UNION ALL.
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Image } from '../domain/image.ts';
import type { ImageListQuery, ImageLister } from '../ports/repositories.ts';
import type { Database } from './connect.ts';
import { hydrate, readTransaction } from './image-repository.ts';
import { toNumber, type ImageRow } from './image-mapper.ts';
import {
  commonPredicates, keysetParts, normalizeSort, orderItems, unlistedStatuses, visibilityBranches,
  type ImagesEb, type Predicate, type SortTerm, type VisibilityBranch,
} from './image-list-sql.ts';
import type { Schema } from './schema.ts';
import type { Dialect } from './url.ts';
import { listIndexHints, sqliteIndexedBy } from './list-index-hints.ts';

function ordered<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>, sort: SortTerm[], dialect: Dialect) {
  let out = qb;
  for (const [expression, modifiers] of orderItems(sort, dialect)) out = out.orderBy(expression, modifiers);
  return out;
}

/** The rows of one page: every branch filtered, ordered and limited on its own. */
export function pageQuery(db: Kysely<Schema>, dialect: Dialect, query: ImageListQuery, branches: VisibilityBranch[]) {
  const sort = normalizeSort(query.sort);
  // After a marker, each branch runs once per part of the keyset (keysetParts: one or two ranges).
  const partsOf = (b: VisibilityBranch): (Predicate | undefined)[] => (query.marker === undefined ? [undefined]
    : keysetParts(sort, query.marker, dialect === 'sqlite' || (dialect === 'postgres' && b.ownerNull !== true)));
  const predicates = ({ scope }: VisibilityBranch, after: Predicate | undefined) => (eb: ImagesEb) => eb.and([
    scope(eb),
    ...commonPredicates(eb, query),
    ...(after === undefined ? [] : [after(eb)]),
  ]);
  const branch = (b: VisibilityBranch, after: Predicate | undefined): SelectQueryBuilder<Schema, 'images', ImageRow> => {
    let qb: SelectQueryBuilder<Schema, 'images', ImageRow>;
    // MariaDB: `images AS images FORCE|IGNORE INDEX (…)`, SQLite: `images AS images INDEXED BY …`
    // (owner-NULL branch); see list-index-hints.ts.
    const hint = dialect === 'mysql' ? listIndexHints(b, query, sort) : undefined;
    const indexedBy = dialect === 'sqlite' ? sqliteIndexedBy(b, sort) : undefined;
    const images = indexedBy !== undefined ? sql<ImageRow>`images`.as<'images'>(sql`images INDEXED BY ${sql.id(indexedBy)}`)
      : hint === undefined ? 'images' as const
        : sql<ImageRow>`images`.as<'images'>(sql`images ${sql.raw(hint.hint)} INDEX (${sql.join(hint.indexes.map((i) => sql.id(i)))})`);
    if (b.viaMembers === undefined) {
      qb = (db.selectFrom(images as 'images') as SelectQueryBuilder<Schema, 'images', object>)
        .selectAll().where(predicates(b, after)) as SelectQueryBuilder<Schema, 'images', ImageRow>;
    } else {
      const { project, status } = b.viaMembers;
      const memberships = db.selectFrom('image_members as m').select('m.image_id')
        .where('m.member', '=', project)
        .$if(status !== 'all', (q) => q.where('m.status', '=', status));
      if (dialect === 'postgres') {
        // PostgreSQL plans a plain join by its statistics and took a hash join over every shared
        // image of the catalogue (1,000 rows read at 10k images for a page of 25) or a walk of
        // them probing memberships. A LATERAL subquery with LIMIT 1 (ids are unique) is neither
        // flattened into the join nor given the outer conditions: one primary-key probe per
        // membership. (With the conditions inside, it probed a (visibility, …) index with `id = ?`
        // as a filter on its range, from the marker on, once per membership.) The subquery is
        // named `images`, so the predicates (and the EXISTS probes' `images.id`) read its columns.
        qb = (db.selectFrom(memberships.as('s'))
          .crossJoinLateral((eb) => eb.selectFrom('images').selectAll()
            .whereRef('images.id', '=', 's.image_id').limit(1).as('images'))
          .selectAll('images') as unknown as SelectQueryBuilder<Schema, 'images', ImageRow>)
          .where(predicates(b, after));
      } else {
        // Typed as a query over images alone: `s` adds only image_id, which no predicate names.
        qb = db.selectFrom(memberships.as('s')).crossJoin(images as 'images').selectAll('images')
          .whereRef('images.id', '=', 's.image_id')
          .where((eb) => predicates(b, after)(eb as unknown as ImagesEb)) as unknown as SelectQueryBuilder<Schema, 'images', ImageRow>;
      }
    }
    return ordered(qb, sort, dialect).limit(query.limit);
  };
  const walks = branches.flatMap((b) => partsOf(b).map((after) => branch(b, after)));
  if (walks.length === 1) return walks[0]!;
  const members = walks.map((walk, i) => db.selectFrom(walk.as(`b${i}`)).selectAll());
  const union = members.slice(1).reduce((all, member) => all.unionAll(member), members[0]!);
  return ordered(db.selectFrom(union.as('visible')).selectAll(), sort, dialect).limit(query.limit);
}

export class SqlImageLister implements ImageLister {
  constructor(private readonly database: Database) {}

  async list(query: ImageListQuery): Promise<Image[]> {
    if (!(query.limit > 0)) return [];
    const branches = visibilityBranches(query);
    if (branches.length === 0) return [];
    return readTransaction(this.database).execute(async (trx) => {
      const limit = Math.min(Math.floor(query.limit), Number.MAX_SAFE_INTEGER);
      const rows = await pageQuery(trx, this.database.dialect, { ...query, limit }, branches).execute();
      return hydrate(trx, rows);
    });
  }

  /**
   * Bytes held for `owner`: SUM(size) over images not deleted (deleted = false, status neither
   * deleted nor killed — a killed image holds no data) that have a size. pending_delete images
   * count: their data still exists until the scrubber removes it. Served by (owner, created_at, id).
   */
  async storageUsed(owner: string): Promise<number> {
    const row = await this.database.db.selectFrom('images')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string | null>('size'), eb.lit(0)).as('used'))
      .where('owner', '=', owner)
      .where('deleted', '=', false)
      .where('status', 'not in', unlistedStatuses.filter((s) => s !== 'pending_delete'))
      .where('size', 'is not', null)
      .executeTakeFirstOrThrow();
    return toNumber(row.used ?? 0);
  }
}
