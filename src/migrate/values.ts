// Normalising what the three Glance drivers hand back. Glance stores naive UTC timestamps
// (SQLite text `YYYY-MM-DD HH:MM:SS.ffffff`, MySQL DATETIME, PostgreSQL timestamp without time
// zone; connect.ts reads the latter two as UTC) and booleans as 0/1 on SQLite and MySQL.

export function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

export function integer(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`not a number: ${String(value)}`);
  return n;
}

export function nullableInteger(value: unknown): number | null {
  return value === null || value === undefined ? null : integer(value);
}

/** A Glance timestamp as a Date truncated to the millisecond (what Glimpse's columns keep). */
export function utc(value: unknown): Date {
  let date: Date;
  if (value instanceof Date) date = value;
  else {
    const text = String(value).trim().replace(' ', 'T');
    date = new Date(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
  }
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${String(value)}`);
  return new Date(Math.floor(date.getTime()));
}

export function nullableUtc(value: unknown): Date | null {
  return value === null || value === undefined ? null : utc(value);
}

/** Glance's JSONEncodedDict text; anything unparsable or not an object reads as {}. */
export function jsonObject(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** JSON with object keys sorted, for comparing documents whatever order they were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** Milliseconds of a column value as Glimpse hands it back (Date, ISO text), or null. */
export function millis(value: Date | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).getTime();
}
