// Keyset paging for the metadef lists: rows strictly after the marker row in the order
// (k1, k2, …) all ascending or all descending, written as
//   k1 > m1 OR (k1 = m1 AND k2 > m2) OR … — portable to the three dialects.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { toDate } from './image-mapper.ts';

const nullableText = new Set(['display_name', 'description']);
const timestamps = new Set(['created_at', 'updated_at']);

/** The ORDER BY / comparison expression of a sort key; nullable text sorts as ''. */
export function sortColumn(key: string, alias?: string): RawBuilder<unknown> {
  const ref = sql.ref(alias ? `${alias}.${key}` : key);
  return nullableText.has(key) ? sql`coalesce(${ref}, '')` : ref;
}

function markerValue(key: string, row: Record<string, unknown>): unknown {
  const value = row[key];
  if (timestamps.has(key)) return toDate(value as Date | string);
  if (nullableText.has(key)) return value ?? '';
  if (key === 'protected') return value === true || value === 1;
  return value;
}

export function keysetAfter(keys: readonly string[], marker: object, dir: 'asc' | 'desc', alias?: string): RawBuilder<SqlBool> {
  const row = marker as Record<string, unknown>;
  const op = sql.raw(dir === 'asc' ? '>' : '<');
  const branches = keys.map((key, i) => {
    const equal = keys.slice(0, i).map((k) => sql`${sortColumn(k, alias)} = ${markerValue(k, row)}`);
    const after = sql`${sortColumn(key, alias)} ${op} ${markerValue(key, row)}`;
    return sql.join([...equal, after], sql` and `);
  });
  return sql<SqlBool>`(${sql.join(branches.map((b) => sql`(${b})`), sql` or `)})`;
}
