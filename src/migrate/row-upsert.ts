// Idempotent upsert of rows identified by a natural key, shared by the task and metadef passes:
// insert what Glimpse lacks, leave equal rows alone, update older ones, and skip (report) rows that
// Glimpse changed after Glance did. Rows only Glimpse has are kept.
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import type { MigrationReport, TableName } from './report.ts';
import { canonicalJson, flag, millis } from './values.ts';

type Db = Kysely<Schema> | Transaction<Schema>;
export type Row = Record<string, unknown>;

export const NEWER_IN_GLIMPSE = 'changed in Glimpse after Glance last changed it (Glimpse\'s copy kept)';

/** Column value in a comparable form: Dates and date text → ms, 0/1 → boolean where `booleans` says so. */
function comparable(row: Row, columns: string[], booleans: ReadonlySet<string>): string {
  return canonicalJson(columns.map((c) => {
    const v = row[c];
    if (booleans.has(c)) return flag(v);
    if (v instanceof Date || (typeof v === 'string' && c.endsWith('_at'))) return millis(v as Date | string);
    if (typeof v === 'bigint' || (typeof v === 'string' && c.endsWith('_id'))) return Number(v);
    return v ?? null;
  }));
}

export interface UpsertSpec {
  table: TableName & keyof Schema;
  /** Columns that identify a row (its natural key). */
  key: string[];
  /** Columns compared and written besides the key. */
  columns: string[];
  booleans?: ReadonlySet<string>;
  /** Extra columns written on insert only (e.g. task leases). */
  insertOnly?: (row: Row) => Row;
}

/** Upserts `rows` (Glimpse column names, key columns included) against `existing` (Glimpse's rows of the table). */
export async function upsertRows(db: Db, spec: UpsertSpec, rows: Row[], existing: Row[], report: MigrationReport,
  write: boolean): Promise<void> {
  const booleans = spec.booleans ?? new Set<string>();
  const keyOf = (r: Row) => canonicalJson(spec.key.map((k) => (typeof r[k] === 'bigint' ? Number(r[k]) : r[k])));
  const have = new Map(existing.map((r) => [keyOf(r), r]));
  const dyn = db as unknown as Kysely<Record<string, Row>>;
  for (const row of rows) {
    report.count(spec.table, 'read');
    const had = have.get(keyOf(row));
    if (!had) {
      if (write) await dyn.insertInto(spec.table).values({ ...row, ...spec.insertOnly?.(row) }).execute();
      report.count(spec.table, 'inserted');
      continue;
    }
    if (comparable(had, spec.columns, booleans) === comparable(row, spec.columns, booleans)) {
      report.count(spec.table, 'unchanged');
      continue;
    }
    if ('updated_at' in row && (millis(had['updated_at'] as Date | string) ?? 0) > (millis(row['updated_at'] as Date) ?? 0)) {
      report.skip(spec.table, NEWER_IN_GLIMPSE);
      continue;
    }
    if (write) {
      let q = dyn.updateTable(spec.table).set(Object.fromEntries(spec.columns.map((c) => [c, row[c]])));
      for (const k of spec.key) q = q.where(k, '=', row[k] as never);
      await q.execute();
    }
    report.count(spec.table, 'updated');
  }
}
