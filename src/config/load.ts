// Loads the configuration: built-in defaults < config file < GLIMPSE_<SECTION>__<OPTION> variables.
// Every value is validated against schema.ts; a bad value throws ConfigError naming `[section] option`
// and where the value came from. Things that are merely ignored (unknown sections and options,
// Glance options Glimpse does not use yet) become warnings for the caller to print.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './errors.ts';
import { normalizeSectionName, parseIni } from './ini.ts';
import { resolveConfig } from './resolve.ts';
import {
  BACKEND_SECTION, OPTIONS, SECTIONS, SUPPORTED_STORE_TYPES, isNotUsedYet, optionDef, optionsOf, sectionDef,
  type OptionDef, type SectionDef,
} from './schema.ts';
import { Settings } from './settings.ts';
import type { GlimpseConfig } from './types.ts';
import { parseOptionValue } from './values.ts';
import { didYouMean } from './suggest.ts';

export { ConfigError } from './errors.ts';

export interface LoadOptions {
  /** Config file; a relative path is relative to `cwd`. */
  file?: string;
  /** Source of GLIMPSE_* overrides; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Base of relative paths; defaults to process.cwd(). */
  cwd?: string;
}

export interface LoadResult {
  config: GlimpseConfig;
  warnings: string[];
  /** Every option Glimpse reads, in schema order (backend sections after the rest), with where its value came from. */
  sources: OptionSource[];
}

/** One option's value as `glimpse config check` shows it. */
export interface OptionSource {
  section: string;
  name: string;
  /** As written (or the default's text); undefined when unset. */
  value: string | undefined;
  /** `FILE:LINE`, `env NAME` or `default`. */
  source: string;
  secret: boolean;
}

/** GLIMPSE_* variables that are not option overrides, so they raise no warning. */
export const NON_OPTION_ENV_VARS: readonly string[] = ['GLIMPSE_CONFIG_FILE', 'GLIMPSE_FROM_SOURCE'];
export const NON_OPTION_ENV_PREFIXES: readonly string[] = ['GLIMPSE_TEST_'];

const ENV_PREFIX = 'GLIMPSE_';

interface RawValue {
  value: string;
  /** For messages: `file, line N` or `environment variable NAME`. */
  where: string;
  /** Short form for `config check`: `file:N` or `env NAME`. */
  source: string;
}

interface RawSection {
  where: string;
  options: Map<string, RawValue>;
}

/** Raw text values by normalised section name. */
type RawSections = Map<string, RawSection>;

export function loadConfig(options: LoadOptions = {}): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const raw: RawSections = new Map();
  const file = options.file === undefined ? undefined : resolve(cwd, options.file);
  if (options.file !== undefined && file !== undefined) readConfigFile(options.file, file, raw);
  applyEnv(options.env ?? process.env, raw, warnings);
  const sources: OptionSource[] = [];
  const settings = validate(raw, warnings, sources);
  const config = resolveConfig(settings, { cwd, file, warnings });
  return { config, warnings, sources };
}

function section(raw: RawSections, name: string, where: string): RawSection {
  let s = raw.get(name);
  if (!s) {
    s = { where, options: new Map() };
    raw.set(name, s);
  }
  return s;
}

function readConfigFile(shown: string, path: string, raw: RawSections): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`config file ${shown} not found`, { file: shown });
    throw new ConfigError(`cannot read config file ${shown}: ${(err as Error).message}`, { file: shown });
  }
  for (const s of parseIni(text, shown).sections) {
    const target = section(raw, normalizeSectionName(s.name), `${shown}, line ${s.line}`);
    for (const e of s.entries) {
      target.options.set(e.key, { value: e.value, where: `${shown}, line ${e.line}`, source: `${shown}:${e.line}` });
    }
  }
}

function envName(sectionName: string): string {
  return sectionName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Applies GLIMPSE_<SECTION>__<OPTION>. Sections of the schema are matched first; the rest may name
 * a backend id, which is only known once enabled_backends (possibly from the environment) is in.
 */
function applyEnv(env: NodeJS.ProcessEnv, raw: RawSections, warnings: string[]): void {
  const pending: { name: string; sectionKey: string; option: string; value: string }[] = [];
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    if (NON_OPTION_ENV_VARS.includes(name) || NON_OPTION_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const rest = name.slice(ENV_PREFIX.length);
    const sep = rest.indexOf('__');
    if (sep <= 0 || sep + 2 >= rest.length) {
      warnings.push(`environment variable ${name} is not of the form GLIMPSE_<SECTION>__<OPTION>; ignored`);
      continue;
    }
    pending.push({ name, sectionKey: rest.slice(0, sep), option: rest.slice(sep + 2).toLowerCase(), value });
  }
  const set = (sectionName: string, p: (typeof pending)[number]): void => {
    const where = `environment variable ${p.name}`;
    section(raw, sectionName, where).options.set(p.option, { value: p.value, where, source: `env ${p.name}` });
  };
  const known = SECTIONS.map((s) => s.name).filter((n) => n !== BACKEND_SECTION);
  const later = pending.filter((p) => {
    const match = known.find((n) => envName(n) === p.sectionKey);
    if (match !== undefined) set(match, p);
    return match === undefined;
  });
  const ids = Object.keys(backendTypes(raw) ?? {}).map(normalizeSectionName);
  for (const p of later) {
    const id = ids.find((i) => envName(i) === p.sectionKey);
    if (id !== undefined) set(id, p);
    else {
      warnings.push(`environment variable ${p.name} names no known section (nor a backend id of enabled_backends); ignored`
        + didYouMean(p.sectionKey, [...known, ...ids].map(envName), (n) => `GLIMPSE_${n}__${p.option.toUpperCase()}`));
    }
  }
}

/** enabled_backends as given so far, or undefined when unset or not (yet) valid. */
function backendTypes(raw: RawSections): Record<string, string> | undefined {
  const given = raw.get('DEFAULT')?.options.get('enabled_backends');
  if (!given) return undefined;
  const parsed = parseOptionValue(optionDef('DEFAULT', 'enabled_backends')!, given.value);
  return 'value' in parsed && typeof parsed.value === 'object' && !Array.isArray(parsed.value) ? parsed.value : undefined;
}

function parseInto(settings: Settings, settingsSection: string, def: OptionDef, given: RawValue | undefined,
  sources: OptionSource[]): void {
  const text = given?.value ?? def.default;
  sources.push({ section: settingsSection, name: def.name, value: text, source: given?.source ?? 'default', secret: def.secret === true });
  if (text === undefined) return settings.set(settingsSection, def.name, undefined, false);
  const parsed = parseOptionValue(def, text);
  if ('problem' in parsed) {
    const hint = /\s[#;]/.test(text) && !def.secret ? '; note that comments must be on their own line' : '';
    throw new ConfigError(
      `invalid value for [${settingsSection}] ${def.name}: ${parsed.problem} (${given?.where ?? 'built-in default'})${hint}`,
      { section: settingsSection, option: def.name });
  }
  settings.set(settingsSection, def.name, parsed.value, given !== undefined);
}

function validate(raw: RawSections, warnings: string[], sources: OptionSource[]): Settings {
  const settings = new Settings();
  for (const def of OPTIONS) {
    if (def.section !== BACKEND_SECTION) parseInto(settings, def.section, def, raw.get(def.section)?.options.get(def.name), sources);
  }
  const backends = settings.optionalDict('DEFAULT', 'enabled_backends') ?? {};
  const backendSections = new Map(Object.entries(backends).map(([id, type]) => [normalizeSectionName(id), type]));
  for (const id of backendSections.keys()) {
    for (const def of optionsOf(BACKEND_SECTION)) parseInto(settings, id, def, raw.get(id)?.options.get(def.name), sources);
  }

  for (const [name, s] of raw) {
    settings.setRaw(name, Object.fromEntries([...s.options].map(([k, v]) => [k, v.value])));
    const def = name === BACKEND_SECTION ? undefined : sectionDef(name);
    const backendType = backendSections.get(name);
    if (def) warnAboutOptions(name, def, s, warnings);
    // Options of a store type without a driver are kept raw for later drivers; its type is warned about already.
    else if (backendType !== undefined && SUPPORTED_STORE_TYPES.includes(backendType)) {
      warnAboutOptions(name, sectionDef(BACKEND_SECTION)!, s, warnings, BACKEND_SECTION);
    } else if (backendType === undefined) {
      const hint = name === 'default' ? ' (the DEFAULT section must be written in upper case)' : '';
      const options = [...s.options.keys()];
      const known = [...SECTIONS.map((d) => d.name).filter((n) => n !== BACKEND_SECTION), ...backendSections.keys()];
      warnings.push(`unknown section [${name}] (${s.where})${hint || didYouMean(name, known, (n) => `[${n}]`)}; ignored`
        + (options.length > 0 ? `, with its options ${options.join(', ')}` : ''));
    }
  }
  for (const def of OPTIONS) {
    if (def.deprecatedFor !== undefined && def.section !== BACKEND_SECTION && settings.isSet(def.section, def.name)) {
      warnings.push(`[${def.section}] ${def.name} is deprecated; use ${def.deprecatedFor} instead`);
    }
  }
  return settings;
}

function warnAboutOptions(name: string, def: SectionDef, s: RawSection, warnings: string[], schemaSection = name): void {
  for (const [option, value] of s.options) {
    if (optionDef(schemaSection, option)) continue;
    if (isNotUsedYet(def, option)) {
      warnings.push(`[${name}] ${option} is a Glance option Glimpse does not use yet; ignored (${value.where})`);
    } else {
      const known = [...optionsOf(schemaSection).map((o) => o.name), ...(def.unsupported ?? [])];
      warnings.push(`unknown option [${name}] ${option} (${value.where})${didYouMean(option, known)}; ignored`);
    }
  }
}
