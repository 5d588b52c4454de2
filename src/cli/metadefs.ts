// `glimpse metadefs load DIR | unload | export DIR` (the glance-manage db load_metadefs /
// unload_metadefs / export_metadefs equivalents); see services/metadef-catalogue.ts for the modes.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GlimpseConfig } from '../config/types.ts';
import { openDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { SqlMetadefRepository } from '../db/metadef-repository.ts';
import {
  exportDefinitions, exportFileName, loadDefinition, type DefinitionFile, type LoadMode,
} from '../services/metadef-catalogue.ts';

async function withRepository<T>(config: GlimpseConfig, work: (repo: SqlMetadefRepository) => Promise<T>): Promise<T> {
  const database = await openDatabase(config.database.connection);
  try {
    await migrateToLatest(database);
    return await work(new SqlMetadefRepository(database));
  } finally {
    await database.close();
  }
}

function definitionFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).filter((name) => name.endsWith('.json')).sort().map((name) => join(path, name))
    .filter((file) => statSync(file).isFile());
}

export async function metadefsLoad(config: GlimpseConfig, path: string, mode: LoadMode): Promise<string[]> {
  const files = definitionFiles(path);
  if (files.length === 0) throw new Error(`no .json definition files in ${path}`);
  return withRepository(config, async (repo) => {
    const lines: string[] = [];
    for (const file of files) {
      let definition: DefinitionFile;
      try {
        definition = JSON.parse(readFileSync(file, 'utf8')) as DefinitionFile;
      } catch (error) {
        throw new Error(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
          { cause: error });
      }
      lines.push(`${definition.namespace}: ${await loadDefinition(repo, definition, mode)} (${file})`);
    }
    return lines;
  });
}

export async function metadefsUnload(config: GlimpseConfig): Promise<string> {
  await withRepository(config, (repo) => repo.deleteEverything());
  return 'all metadata definitions removed';
}

export async function metadefsExport(config: GlimpseConfig, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  return withRepository(config, async (repo) => {
    const lines: string[] = [];
    for (const definition of await exportDefinitions(repo)) {
      const file = join(dir, exportFileName(definition.namespace));
      writeFileSync(file, `${JSON.stringify(definition, null, 4)}\n`);
      lines.push(`${definition.namespace}: ${file}`);
    }
    return lines;
  });
}
