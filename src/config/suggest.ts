// "Did you mean …" for misspelt section and option names: the closest known name by edit distance
// (optimal string alignment, so a swapped pair of letters — bind_prot — counts as one edit).

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The known name closest to `given` (case-insensitive), if it is close enough to be a typo. */
export function closest(given: string, known: Iterable<string>): string | undefined {
  const lower = given.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance > 0 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  const allowed = Math.max(1, Math.floor(lower.length / 4));
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

/** `; did you mean X?` or nothing. */
export function didYouMean(given: string, known: Iterable<string>, render: (name: string) => string = (n) => n): string {
  const match = closest(given, known);
  return match === undefined ? '' : ` (did you mean ${render(match)}?)`;
}
