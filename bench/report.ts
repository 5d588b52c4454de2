// The bench's result table: one row per metric, Glimpse beside the reference Glance, with the
// acceptance target and whether Glimpse meets it.

export interface Row {
  metric: string;
  glimpse: string;
  reference?: string;
  target?: string;
  /** undefined: informational row without a target. */
  pass?: boolean;
}

export const fmt = {
  rate: (v: number | undefined, unit = 'MiB/s') => (v === undefined ? '—' : `${v.toFixed(0)} ${unit}`),
  ms: (p50: number | undefined, p95: number | undefined) =>
    (p50 === undefined || p95 === undefined ? '—' : `${p50.toFixed(2)} / ${p95.toFixed(2)} ms`),
  mb: (bytes: number | undefined) => (bytes === undefined || !(bytes > 0) ? '—' : `${(bytes / 1e6).toFixed(0)} MB`),
  count: (v: number) => (v >= 1000 && v % 1000 === 0 ? `${v / 1000}k` : String(v)),
};

export function printTable(rows: Row[], referenceShown: boolean): void {
  const head = ['metric', 'Glimpse', ...(referenceShown ? ['reference Glance'] : []), 'target', 'result'];
  const cells = rows.map((r) => [
    r.metric, r.glimpse, ...(referenceShown ? [r.reference ?? '—'] : []), r.target ?? '—',
    r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}
