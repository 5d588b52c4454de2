// The `glimpse` command: serve, worker, scrubber, db sync|version, metadefs load|unload|export, cache …,
// migrate from-glance, config check|sample.
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { GlimpseConfig } from '../config/types.ts';
import { renderSampleConfig } from '../config/sample.ts';
import { OPTIONS } from '../config/schema.ts';
import { redactUrl } from '../db/url.ts';
import { redactTransportUrl } from '../config/transport-url.ts';
import { renderPolicySample } from '../policy/sample.ts';
import { createLogger, runScrubber, runTaskWorker, serve } from '../main.ts';
import { dbSync, dbVersion } from './db.ts';
import { metadefsExport, metadefsLoad, metadefsUnload } from './metadefs.ts';
import { fromGlance, type FromGlanceOptions } from './migrate.ts';
import { cacheCommands } from './cache-commands.ts';

function load(file: string | undefined): GlimpseConfig {
  const { config, warnings } = loadConfig({ file, env: process.env });
  for (const warning of warnings) process.stderr.write(`glimpse: warning: ${warning}\n`);
  return config;
}

/** Names of resolved settings that hold credentials, and of Glance options marked secret: shown as ***. */
const SECRET_FIELDS = new Set(['password', 'key', 'secretKey', 'accessKey',
  ...OPTIONS.filter((o) => o.secret && o.name !== 'connection').map((o) => o.name)]);

/** JSON.stringify replacer for `config check`: credentials never reach the terminal or a pasted log. */
function redactSecrets(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (SECRET_FIELDS.has(name)) return '***';
  if (name === 'transportUrl') return redactTransportUrl(value);
  return name === 'connection' ? redactUrl(value) : value;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('glimpse')
    .description('Glimpse, an OpenStack Images service (Images API v1 and v2)')
    .showHelpAfterError();
  const configOption = ['--config-file <file>', 'glance-api.conf-style configuration file'] as const;

  program.command('serve', { isDefault: true })
    .description('run the API server (embedded defaults when no config file is given)')
    .option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      const config = load(opts.configFile);
      await serve(config, createLogger(config));
    });

  program.command('worker')
    .description('run the task worker only (image import); any number of nodes may run one')
    .option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      const config = load(opts.configFile);
      await runTaskWorker(config, createLogger(config));
    });

  program.command('scrubber')
    .description('remove the data of pending_delete images (delayed_delete) older than scrub_time, like glance-scrubber')
    .option(...configOption)
    .option('--daemon', 'keep running: a pass every wakeup_time seconds until SIGTERM/SIGINT')
    .option('--restore <image-id>', 'bring a pending_delete image back to active instead of scrubbing')
    .action(async (opts: { configFile?: string; daemon?: boolean; restore?: string }) => {
      const config = load(opts.configFile);
      process.exitCode = await runScrubber(config, createLogger(config), { daemon: opts.daemon, restore: opts.restore });
    });

  const db = program.command('db').description('database schema management (like glance-manage db)');
  db.command('sync').description('apply all pending migrations').option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(`${await dbSync(load(opts.configFile))}\n`);
    });
  db.command('version').description('print the applied schema version').option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(`${await dbVersion(load(opts.configFile))}\n`);
    });

  const metadefs = program.command('metadefs')
    .description('metadata definition catalogue (like glance-manage db load_metadefs/unload_metadefs/export_metadefs)');
  metadefs.command('load').argument('<path>', 'a directory of Glance metadef JSON files, or one file')
    .description('load definition files; existing namespaces are skipped unless --merge, --prefer-new or --overwrite')
    .option(...configOption)
    .option('--merge', 'add missing objects, properties, tags and associations to existing namespaces')
    .option('--prefer-new', 'with --merge, also replace existing ones with the file\'s version')
    .option('--overwrite', 'delete existing namespaces and load them again from the files')
    .action(async (path: string, opts: { configFile?: string; merge?: boolean; preferNew?: boolean; overwrite?: boolean }) => {
      const mode = opts.overwrite ? 'overwrite' : opts.preferNew ? 'preferNew' : opts.merge ? 'merge' : 'default';
      for (const line of await metadefsLoad(load(opts.configFile), path, mode)) process.stdout.write(`${line}\n`);
    });
  metadefs.command('unload').description('remove every namespace and resource type').option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(`${await metadefsUnload(load(opts.configFile))}\n`);
    });
  metadefs.command('export').argument('<dir>', 'directory to write one JSON file per namespace into')
    .description('write the catalogue as definition files (the format load reads)').option(...configOption)
    .action(async (dir: string, opts: { configFile?: string }) => {
      for (const line of await metadefsExport(load(opts.configFile), dir)) process.stdout.write(`${line}\n`);
    });

  program.command('migrate').description('take over an existing Glance deployment')
    .command('from-glance')
    .description("copy a Glance database's images, members, locations, tasks and metadefs into Glimpse's (the data stays where it is)")
    .requiredOption('--source <url>', 'the Glance database, as in glance-api.conf [database] connection (schemas of Glance Queens to master)')
    .option(...configOption)
    .option('--dry-run', 'check and count everything, write nothing')
    .option('--since <time>', 'only what changed in Glance at or after this time (UTC), for the final catch-up')
    .option('--verify', "afterwards, compare Glimpse's API answers with the Glance database for every image")
    .option('--verify-sample <n>', 'with --verify, download and hash this many active images through the stores')
    .option('--allow-unreadable', 'migrate even when some locations cannot be read (they are listed)')
    .option('--batch-size <n>', 'images per transaction (default 200)')
    .option('--quiet', 'no progress display')
    .action(async (opts: FromGlanceOptions & { configFile?: string }) => {
      process.exitCode = await fromGlance(load(opts.configFile), opts);
    });
  cacheCommands(program, load);

  const config = program.command('config').description('configuration helpers');
  config.command('check').description('validate a configuration file and print what it resolves to')
    .option(...configOption)
    .action((opts: { configFile?: string }) => {
      process.stdout.write(`${JSON.stringify(load(opts.configFile), redactSecrets, 2)}\n`);
    });
  config.command('sample').description('print a commented sample configuration file')
    .action(() => { process.stdout.write(renderSampleConfig()); });

  const policy = program.command('policy').description('authorization policy helpers');
  policy.command('sample').description("print Glance's default policy rules as a commented YAML file")
    .action(() => { process.stdout.write(renderPolicySample()); });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`glimpse: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`glimpse: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
