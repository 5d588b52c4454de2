// The final report of `glimpse migrate from-glance`: per table, rows read from Glance and what
// became of them in Glimpse (inserted, updated, removed, unchanged, skipped with the reason), plus
// the locations that cannot be read and the differences --verify found.

export interface TableCounts {
  read: number;
  inserted: number;
  updated: number;
  removed: number;
  unchanged: number;
  skipped: Record<string, number>;
}

export interface LocationProblem {
  imageId: string;
  /** The location with any credentials removed. */
  location: string;
  reason: string;
}

export interface VerifyDifference {
  imageId: string;
  what: string;
}

export const TABLES = ['images', 'image_properties', 'image_tags', 'image_locations', 'image_members', 'tasks',
  'metadef_namespaces', 'metadef_objects', 'metadef_properties', 'metadef_tags', 'metadef_resource_types',
  'metadef_namespace_resource_types'] as const;
export type TableName = (typeof TABLES)[number];

export class MigrationReport {
  readonly tables = new Map<TableName, TableCounts>(TABLES.map((t) => [t, {
    read: 0, inserted: 0, updated: 0, removed: 0, unchanged: 0, skipped: {},
  }]));
  readonly locationProblems: LocationProblem[] = [];
  readonly verifyDifferences: VerifyDifference[] = [];
  verified = 0;
  dataChecked = 0;
  /** Set when the run stopped before writing (unreadable locations without --allow-unreadable). */
  stoppedBeforeWriting = false;

  constructor(readonly dryRun: boolean) {}

  count(table: TableName, what: 'read' | 'inserted' | 'updated' | 'removed' | 'unchanged', n = 1): void {
    this.tables.get(table)![what] += n;
  }

  skip(table: TableName, reason: string, n = 1): void {
    const skipped = this.tables.get(table)!.skipped;
    skipped[reason] = (skipped[reason] ?? 0) + n;
  }

  /** Rows written (or, on a dry run, that would be). */
  written(): number {
    let n = 0;
    for (const c of this.tables.values()) n += c.inserted + c.updated + c.removed;
    return n;
  }

  render(): string {
    const lines: string[] = [];
    const verb = this.dryRun ? 'would be' : 'were';
    lines.push(this.dryRun ? 'Dry run: nothing was written to Glimpse\'s database.' : 'Migration report:');
    const width = Math.max(...TABLES.map((t) => t.length));
    lines.push(`  ${'table'.padEnd(width)}  ${['read', 'inserted', 'updated', 'removed', 'unchanged', 'skipped']
      .map((h) => h.padStart(10)).join('')}`);
    for (const [table, c] of this.tables) {
      const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0);
      lines.push(`  ${table.padEnd(width)}  ${[c.read, c.inserted, c.updated, c.removed, c.unchanged, skipped]
        .map((n) => String(n).padStart(10)).join('')}`);
      for (const [reason, n] of Object.entries(c.skipped)) lines.push(`  ${''.padEnd(width)}    skipped ${n}: ${reason}`);
    }
    lines.push(`  (inserted, updated, removed: rows that ${verb} written to Glimpse)`);
    if (this.locationProblems.length > 0) {
      lines.push(`Locations that cannot be read through Glimpse's stores (${this.locationProblems.length}):`);
      for (const p of this.locationProblems) lines.push(`  image ${p.imageId}: ${p.location}: ${p.reason}`);
    }
    if (this.stoppedBeforeWriting) {
      lines.push('Nothing was written: fix the stores (or pass --allow-unreadable to migrate these images as they are).');
    }
    if (this.verified > 0 || this.verifyDifferences.length > 0) {
      lines.push(`Verify: ${this.verified} image(s) compared through Glimpse's API, ${this.dataChecked} downloaded and hashed, `
        + `${this.verifyDifferences.length} difference(s).`);
      for (const d of this.verifyDifferences) lines.push(`  image ${d.imageId}: ${d.what}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
