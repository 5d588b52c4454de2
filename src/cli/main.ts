// The `glimpse` command: serve, worker, scrubber, db sync|version, metadefs load|unload|export, cache …,
// migrate from-glance, config check|sample.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ConfigError, loadConfig, type OptionSource } from '../config/load.ts';
import type { GlimpseConfig } from '../config/types.ts';
import { renderSampleConfig } from '../config/sample.ts';
import { OPTIONS } from '../config/schema.ts';
import { redactUrl } from '../db/url.ts';
import { didYouMean } from '../config/suggest.ts';
import { redactTransportUrl } from '../config/transport-url.ts';
import { renderPolicySample } from '../policy/sample.ts';
import { runScrubber, runTaskWorker, serve } from '../main.ts';
import { createLogger } from './logging.ts';
import { dbSync, dbVersion } from './db.ts';
import { metadefsExport, metadefsLoad, metadefsUnload } from './metadefs.ts';
import { fromGlance, type FromGlanceOptions } from './migrate.ts';
import { cacheCommands } from './cache-commands.ts';
import { openApiText } from './openapi.ts';

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

/** The version in the package.json above this file (src/cli/ or dist/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'glimpse' && pkg.version) return pkg.version;
    } catch { /* not here: look further up */ }
  }
  return 'unknown';
}

/** `glimpse config check`: every option in Glance's names, with its value and where it came from. */
function renderSources(sources: readonly OptionSource[], onlySet: boolean): string {
  const shown = sources.filter((o) => !onlySet || o.source !== 'default');
  const text = (o: OptionSource) => o.value === undefined ? '(unset)'
    : o.secret ? (o.name === 'connection' ? redactUrl(o.value) : '***') : o.value.replace(/\n/g, '\\n');
  const left = shown.map((o) => `[${o.section}] ${o.name} = ${text(o)}`);
  const width = Math.min(72, Math.max(0, ...left.map((l) => l.length)));
  return shown.map((o, i) => `${left[i]!.padEnd(width)}  ${o.source}\n`).join('');
}

/** With no command (or only options), `glimpse` serves: `glimpse --config-file F` = `glimpse serve --config-file F`. */
function withDefaultCommand(argv: string[]): string[] {
  const first = argv[2];
  const meta = ['-h', '--help', '-V', '--version'];
  if (first === undefined || (first.startsWith('-') && !meta.includes(first))) return [...argv.slice(0, 2), 'serve', ...argv.slice(2)];
  return argv;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('glimpse')
    .description('Glimpse, an OpenStack Images service (Images API v1 and v2). Without a command: serve.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(glimpse help lists the commands; glimpse help <command> explains one)');
  const configOption = ['--config-file <file>', 'glance-api.conf-style configuration file'] as const;

  program.command('serve')
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
      await runTaskWorker(config, createLogger(config, 'glimpse-worker'));
    });

  program.command('scrubber')
    .description('remove the data of pending_delete images (delayed_delete) older than scrub_time, like glance-scrubber')
    .option(...configOption)
    .option('--daemon', 'keep running: a pass every wakeup_time seconds until SIGTERM/SIGINT')
    .option('--restore <image-id>', 'bring a pending_delete image back to active instead of scrubbing')
    .action(async (opts: { configFile?: string; daemon?: boolean; restore?: string }) => {
      const config = load(opts.configFile);
      process.exitCode = await runScrubber(config, createLogger(config, 'glimpse-scrubber'), { daemon: opts.daemon, restore: opts.restore });
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
  config.command('check')
    .description('validate a configuration file; print every option ([section] name = value) and where its value came from (FILE:LINE, env VARIABLE or default)')
    .option(...configOption)
    .option('--changed', 'only the options set in the file or the environment')
    .option('--json', 'the same as a JSON array of {section, option, value, source}')
    .option('--resolved', "print Glimpse's internal settings as resolved (JSON) instead")
    .action((opts: { configFile?: string; changed?: boolean; json?: boolean; resolved?: boolean }) => {
      const { config: resolved, warnings, sources } = loadConfig({ file: opts.configFile, env: process.env });
      for (const warning of warnings) process.stderr.write(`glimpse: warning: ${warning}\n`);
      if (opts.resolved) return void process.stdout.write(`${JSON.stringify(resolved, redactSecrets, 2)}\n`);
      if (opts.json) {
        const rows = sources.filter((o) => !opts.changed || o.source !== 'default').map((o) => ({
          section: o.section, option: o.name, source: o.source,
          value: o.value === undefined || !o.secret ? o.value ?? null : o.name === 'connection' ? redactUrl(o.value) : '***' }));
        return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      }
      process.stdout.write(renderSources(sources, opts.changed === true));
      process.stderr.write(`glimpse: configuration ${opts.configFile ?? '(embedded defaults)'} is valid`
        + `${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''} above)` : ''}\n`);
    });
  config.command('sample').description('print a commented sample configuration file')
    .action(() => { process.stdout.write(renderSampleConfig()); });

  program.command('openapi')
    .description('print the OpenAPI 3.1 document of the API this configuration serves (as GET /openapi.json)')
    .option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(await openApiText(load(opts.configFile)));
    });

  const policy = program.command('policy').description('authorization policy helpers');
  policy.command('sample').description("print Glance's default policy rules as a commented YAML file")
    .action(() => { process.stdout.write(renderPolicySample()); });

  program.on('command:*', (operands: string[]) => {
    const names = program.commands.map((c) => c.name());
    process.stderr.write(`glimpse: unknown command '${operands[0]}'${didYouMean(operands[0] ?? '', names)}; `
      + `the commands are: ${names.join(', ')}, help (see glimpse help)\n`);
    process.exit(1);
  });

  try {
    await program.parseAsync(withDefaultCommand(argv));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`glimpse: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`glimpse: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
