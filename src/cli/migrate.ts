// `glimpse migrate from-glance`: the thin command over src/migrate/run.ts. Exit status: 0 done,
// 3 some locations cannot be read (nothing written unless --allow-unreadable), 4 --verify found
// differences.
import type { GlimpseConfig } from '../config/types.ts';
import { createProgress } from '../migrate/progress.ts';
import { migrateFromGlance } from '../migrate/run.ts';

export interface FromGlanceOptions {
  source: string;
  dryRun?: boolean;
  since?: string;
  verify?: boolean;
  verifySample?: string;
  allowUnreadable?: boolean;
  batchSize?: string;
  quiet?: boolean;
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number (got ${JSON.stringify(text)})`);
  return n;
}

export function parseSince(text: string): Date {
  const date = new Date(/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
  if (Number.isNaN(date.getTime())) throw new Error(`--since must be a time such as 2026-12-07T18:00:00Z (got ${JSON.stringify(text)})`);
  return date;
}

export async function fromGlance(config: GlimpseConfig, opts: FromGlanceOptions): Promise<number> {
  const report = await migrateFromGlance({
    source: opts.source, config, dryRun: opts.dryRun, since: opts.since === undefined ? undefined : parseSince(opts.since),
    verify: opts.verify, verifySample: positive('--verify-sample', opts.verifySample, 0),
    allowUnreadable: opts.allowUnreadable, batchSize: Math.max(1, positive('--batch-size', opts.batchSize, 200)),
    progress: createProgress(process.stderr, opts.quiet === true),
    say: (line) => { if (!opts.quiet) process.stderr.write(`${line}\n`); },
  });
  process.stdout.write(report.render());
  if (report.locationProblems.length > 0 && !opts.allowUnreadable) return 3;
  if (report.verifyDifferences.length > 0) return 4;
  return 0;
}
