// Recognising constraint violations across the three drivers, so repositories can turn them
// into DomainErrors. Driver error shapes: pg sets `code` to the SQLSTATE; mysql2 sets `errno`
// (and `code` to the ER_* name); better-sqlite3 sets `code` to the extended result code name.

function field(error: unknown, name: 'code' | 'errno'): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

/** A primary-key or unique constraint rejected the write. */
export function isUniqueViolation(error: unknown): boolean {
  const code = field(error, 'code');
  return code === '23505' || field(error, 'errno') === 1062
    || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** A foreign key rejected the write (the referenced row does not exist). */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = field(error, 'code');
  return code === '23503' || field(error, 'errno') === 1452 || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
