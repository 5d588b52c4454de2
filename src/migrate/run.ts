// `glimpse migrate from-glance`: the phases, in order.
//   1. Open Glance read-only and check its schema revision (glance-schema.ts).
//   2. Check every location that would carry over against Glimpse's configured stores; with any
//      problem, stop before writing (unless allowUnreadable), listing each with its image id.
//   3. Images (with properties, tags, locations, members) in batches, one transaction each.
//   4. Tasks in batches; 5. metadefs in one transaction.
//   6. Optionally verify through Glimpse's API.
// Every write is idempotent (image-sync.ts, row-upsert.ts), so a rerun after an interruption simply
// walks again and finishes what is missing; `since` limits the walk to what changed in Glance since
// then (a catch-up just before the cut-over). A dry run opens Glimpse's database read-only.
import type { GlimpseConfig } from '../config/types.ts';
import { openDatabase, type Database } from '../db/connect.ts';
import { migrateToLatest, pendingMigrations } from '../db/migrate.ts';
import { createStoreRegistry } from '../stores/registry.ts';
import { syncMetadefs, syncTasks } from './catalogue-sync.ts';
import { countImages, countTasks, openGlance, readImageBatch, type GlanceSource } from './glance-reader.ts';
import { syncImageBatch } from './image-sync.ts';
import { checkLocations } from './locations.ts';
import type { Progress } from './progress.ts';
import { MigrationReport } from './report.ts';
import { verifyThroughApi } from './verify.ts';
import { createSafeFetcher } from '../net/index.ts';

export interface MigrateOptions {
  /** The Glance database URL (SQLAlchemy form, as in glance-api.conf [database] connection). */
  source: string;
  config: GlimpseConfig;
  dryRun?: boolean;
  since?: Date;
  verify?: boolean;
  /** With verify: download and hash this many active images through Glimpse's stores. */
  verifySample?: number;
  /** Migrate even when some locations cannot be read (they stay as Glance had them). */
  allowUnreadable?: boolean;
  batchSize?: number;
  progress: Progress;
  /** One-line notices (schema detected, phases); default: none. */
  say?: (line: string) => void;
}

async function openGlimpse(config: GlimpseConfig, dryRun: boolean): Promise<Database> {
  if (!dryRun) {
    const database = await openDatabase(config.database.connection);
    try {
      await migrateToLatest(database);
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }
  const database = await openDatabase(config.database.connection, { readOnly: true });
  const pending = await pendingMigrations(database).catch(() => ['(no schema)']);
  if (pending.length > 0) {
    await database.close();
    throw new Error(`Glimpse's database ${database.displayUrl} is not at the current schema (pending: ${pending.join(', ')}); `
      + 'run `glimpse db sync` first (a dry run writes nothing, not even the schema)');
  }
  return database;
}

async function forEachImageBatch(source: GlanceSource, options: { since?: Date; batchSize: number },
  work: (batch: Awaited<ReturnType<typeof readImageBatch>>) => Promise<void>): Promise<void> {
  let afterId: string | undefined;
  for (;;) {
    const batch = await readImageBatch(source, { afterId, limit: options.batchSize, since: options.since });
    if (batch.length === 0) return;
    await work(batch);
    afterId = batch[batch.length - 1]!.id;
  }
}

export async function migrateFromGlance(options: MigrateOptions): Promise<MigrationReport> {
  const { config, progress } = options;
  const say = options.say ?? (() => undefined);
  const dryRun = options.dryRun === true;
  const batchSize = options.batchSize ?? 200;
  const since = options.since;
  const report = new MigrationReport(dryRun);
  const source = await openGlance(options.source);
  try {
    say(`Glance database ${source.database.displayUrl}: schema ${source.schema.revisions.join(' + ')} (${source.schema.release})`);
    const registry = createStoreRegistry(config, { fetcher: createSafeFetcher(config.importFiltering) });
    const multiStore = config.stores.multiStore;
    const imageTotal = await countImages(source, since);

    const check = progress.phase('check locations', imageTotal);
    await forEachImageBatch(source, { since, batchSize }, async (batch) => {
      report.locationProblems.push(...await checkLocations(batch, registry, multiStore));
      check.advance(batch.length);
    });
    check.done();
    if (report.locationProblems.length > 0 && !options.allowUnreadable && !dryRun) {
      report.stoppedBeforeWriting = true;
      return report;
    }

    const glimpse = await openGlimpse(config, dryRun);
    try {
      const write = !dryRun;
      const images = progress.phase('images', imageTotal);
      await forEachImageBatch(source, { since, batchSize }, async (batch) => {
        await syncImageBatch(glimpse, batch, report, { registry, multiStore, write });
        images.advance(batch.length);
      });
      images.done();
      const tasks = progress.phase('tasks', await countTasks(source, since));
      await syncTasks(source, glimpse, report, { write, batchSize, since, onBatch: (n) => tasks.advance(n) });
      tasks.done();
      const metadefs = progress.phase('metadefs', 1);
      await syncMetadefs(source, glimpse, report, write);
      metadefs.advance(1);
      metadefs.done();
    } finally {
      await glimpse.close();
    }
    if (options.verify) {
      await verifyThroughApi(source, config, report, {
        since, batchSize, sample: options.verifySample ?? 0, progress, total: imageTotal,
      });
    }
    return report;
  } finally {
    progress.stop();
    await source.close();
  }
}
