// The `glimpse` command: serve, db sync|version, config check|sample.
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { GlimpseConfig } from '../config/types.ts';
import { renderSampleConfig } from '../config/sample.ts';
import { renderPolicySample } from '../policy/sample.ts';
import { createLogger, runTaskWorker, serve } from '../main.ts';
import { dbSync, dbVersion } from './db.ts';

function load(file: string | undefined): GlimpseConfig {
  const { config, warnings } = loadConfig({ file, env: process.env });
  for (const warning of warnings) process.stderr.write(`glimpse: warning: ${warning}\n`);
  return config;
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

  const db = program.command('db').description('database schema management (like glance-manage db)');
  db.command('sync').description('apply all pending migrations').option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(`${await dbSync(load(opts.configFile))}\n`);
    });
  db.command('version').description('print the applied schema version').option(...configOption)
    .action(async (opts: { configFile?: string }) => {
      process.stdout.write(`${await dbVersion(load(opts.configFile))}\n`);
    });

  const config = program.command('config').description('configuration helpers');
  config.command('check').description('validate a configuration file and print what it resolves to')
    .option(...configOption)
    .action((opts: { configFile?: string }) => {
      process.stdout.write(`${JSON.stringify(load(opts.configFile), null, 2)}\n`);
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
