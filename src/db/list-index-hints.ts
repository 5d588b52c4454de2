// MariaDB/MySQL only: which list index (migration 0009) one branch of the image list walks.
// Several indexes share each equality prefix — (owner, os_hidden, S, created_at, id) for the
// five sort keys S — so for `owner = :p AND os_hidden = false … ORDER BY created_at` all five
// offer the same `ref` range. When MariaDB estimates that range as (nearly) empty, it takes one of
// them at random and adds a filesort (seen in EXPLAIN with a marker, for the owner-NULL branch
// and for os_hidden=true); on a catalogue where the range is not empty after all, that sorts every
// row of it. Ignoring the indexes that cannot deliver the page's order left the walks, but with
// a marker MariaDB still took the equality prefix as a `ref` (os_hidden = 0) instead of the range
// that starts at the marker, and read the page's order from the end of the ref backwards, every
// row before the marker included: page 10 read 10 pages (Handler_read_prev 274 for a page of 25,
// bench/list-steps.ts). With one index named in FORCE INDEX it takes the range (key_len covering
// os_hidden, created_at, id). So each branch forces the one index that fits it best: its equality
// prefix all held by the branch and the filters (and, for a scoped branch, led by the branch's
// scope or by a column a filter holds equal), its sort column the page's first sort key — or held
// equal by a filter while the page sorts by created_at (status=queued walks (os_hidden, status,
// created_at, id)); more held columns win.
// PostgreSQL chooses among the same indexes correctly and gets no hints.
//
// SQLite only: the owner-NULL branch (`owner IS NULL`, no statistics) names the one index it walks
// with INDEXED BY. Left to itself SQLite rates `owner IS NULL` below a range of the sort key: with
// a marker (page 2 on) it walked (os_hidden, created_at, id) from the marker to the end of the
// catalogue looking for the (rare or absent) owner-NULL images — 680k VM steps a page at 100k
// images against 7k at 1k (bench/list-steps.ts) — and, with visibility=…, (visibility, …) indexes
// the same way. The owner indexes hold `owner IS NULL` as their equality prefix, so their walk
// from the marker reads the owner-NULL images only.
import type { ImageListQuery } from '../ports/repositories.ts';
import type { SortTerm, VisibilityBranch } from './image-list-sql.ts';
import {
  OWNER_VISIBILITY, listIndexName, listScopes, listSortKeys, type ListIndexSortKey,
} from './migrations/0009-list-walk-indexes.ts';

/** Columns a query holds equal to one value, as far as the list indexes care. */
function equalColumns(branch: VisibilityBranch, query: ImageListQuery): Set<string> {
  const equal = new Set<string>(['os_hidden', ...branch.equal]);
  for (const f of query.filters) {
    if (f.kind === 'in' && f.values.length === 1) equal.add(f.column);
  }
  return equal;
}

/** A MariaDB index hint for the images table of one branch. */
export interface MysqlIndexHint {
  hint: 'FORCE' | 'IGNORE';
  indexes: string[];
}

export function listIndexHints(branch: VisibilityBranch, query: ImageListQuery, sort: SortTerm[]): MysqlIndexHint | undefined {
  if (branch.viaMembers !== undefined) {
    // "Shared with me" starts from the viewer's memberships and probes images by primary key;
    // MariaDB otherwise starts from images when it expects few shared ones (os_hidden=true) or
    // builds a rowid filter from a whole images range (status=active).
    return { hint: 'IGNORE', indexes: [...listScopes.flatMap((scope) => listSortKeys.map((key) => listIndexName(scope, key))), OWNER_VISIBILITY, 'ix_images_status'] };
  }
  const first = sort[0]!.key;
  if (!(listSortKeys as readonly string[]).includes(first)) return undefined;
  const equal = equalColumns(branch, query);
  // The walks that deliver the page's order from an equality prefix the query holds, scored by
  // how much of the branch they skip: each held scope column, and a sort column held equal by a
  // filter (status=queued walks (os_hidden, status, created_at, id)).
  let best: { name: string; score: number } | undefined;
  const consider = (name: string, scope: string[], key: string) => {
    if (!scope.every((c) => equal.has(c))) return;
    if (branch.equal.length > 0 && !scope.some((c) => (branch.equal as string[]).includes(c)) && !(key !== first && equal.has(key))) return;
    if (!(key === first || (first === 'created_at' && equal.has(key)))) return;
    const score = 2 * scope.length + (key !== first && equal.has(key) ? 1 : 0);
    if (best === undefined || score > best.score) best = { name, score };
  };
  for (const scope of listScopes) {
    for (const key of listSortKeys) consider(listIndexName(scope, key), scope === 'all' ? [] : [scope], key);
  }
  consider(OWNER_VISIBILITY, ['owner', 'visibility'], 'created_at');
  return best === undefined ? undefined : { hint: 'FORCE', indexes: [best.name] };
}

/**
 * SQLite only: the index the branch must walk (`images INDEXED BY …`), or undefined to leave the
 * choice to SQLite. Only the owner-NULL branch gets one: (owner, visibility, os_hidden, created_at,
 * id) when a visibility is given and the page sorts by created_at, else (owner, os_hidden, S,
 * created_at, id) for the first sort key S. Both start with `owner IS NULL`, so the walk (or, for a
 * sort key without a list index, no hint) reads only owner-NULL images.
 */
export function sqliteIndexedBy(branch: VisibilityBranch, sort: SortTerm[]): string | undefined {
  if (branch.ownerNull !== true) return undefined;
  const first = sort[0]!.key;
  if (first === 'created_at' && branch.equal.includes('visibility')) return OWNER_VISIBILITY;
  return (listSortKeys as readonly string[]).includes(first) ? listIndexName('owner', first as ListIndexSortKey) : undefined;
}
