// Generated documentation of the option schema: the commented sample file (in the style of
// oslo-config-generator) and the Markdown reference. Both are pure functions of schema.ts, so
// the committed etc/ and docs/ copies can be compared with them in a test.
import { DOC_INTRO } from './doc-intro.ts';
import { BACKEND_SECTION, OPTIONS, SECTIONS, optionsOf, type OptionDef, type OptionType } from './schema.ts';

const TYPE_NAMES: Readonly<Record<OptionType, string>> = {
  string: 'string value',
  int: 'integer value',
  float: 'floating point value',
  bool: 'boolean value',
  port: 'port value',
  list: 'list value',
  dict: 'dict value',
  size: 'size value',
  enum: 'string value',
  uri: 'URI value',
  path: 'path value',
  host: 'host address value',
};

const WIDTH = 70;

function wrap(text: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Configured sections, in schema order, with their options (backend section last). */
function documentedSections(): { name: string; help: string; options: OptionDef[] }[] {
  const withOptions = SECTIONS.filter((s) => optionsOf(s.name).length > 0)
    .map((s) => ({ name: s.name, help: s.help, options: optionsOf(s.name) }));
  return [...withOptions.filter((s) => s.name !== BACKEND_SECTION), ...withOptions.filter((s) => s.name === BACKEND_SECTION)];
}

function notUsedSections(): string[] {
  return SECTIONS.filter((s) => s.notUsedYet).map((s) => s.name);
}

function bounds(def: OptionDef): string[] {
  const out: string[] = [];
  if (def.type === 'port') out.push(`Minimum value: ${def.min ?? 0}`, `Maximum value: ${def.max ?? 65535}`);
  else {
    if (def.min !== undefined) out.push(`Minimum value: ${def.min}`);
    if (def.max !== undefined) out.push(`Maximum value: ${def.max}`);
  }
  if (def.choices) out.push(`Allowed values: ${def.choices.join(', ')}`);
  if (def.schemes) out.push(`Allowed schemes: ${def.schemes.join(', ')}`);
  return out;
}

function sampleOption(def: OptionDef): string[] {
  const help = wrap(`${def.help} (${TYPE_NAMES[def.type]})`);
  const notes = [...bounds(def)];
  if (def.glanceDefault !== undefined) notes.push(`Glance's default: ${def.glanceDefault}`);
  if (def.sample !== undefined) notes.push(`Example: ${def.name} = ${def.sample}`);
  if (def.deprecatedFor !== undefined) notes.push(`Deprecated: use ${def.deprecatedFor} instead.`);
  return [
    '#',
    ...[...help, ...notes.flatMap((n) => wrap(n))].map((l) => `# ${l}`),
    `#${def.name} = ${def.default ?? '<None>'}`,
    '',
  ];
}

/** The commented sample config: every option commented out at its default. Ends with a newline. */
export function renderSampleConfig(): string {
  const out: string[] = [
    '# Sample configuration for Glimpse (glance-api.conf syntax and option names).',
    '#',
    ...wrap('Generated from src/config/schema.ts by `npm run gen:config-docs`; do not edit by hand. '
      + 'Each option is shown commented out at its default value. Environment variables '
      + 'GLIMPSE_<SECTION>__<OPTION> override the file. See docs/configuration.md.', 76).map((l) => `# ${l}`),
    '',
  ];
  for (const section of documentedSections()) {
    if (section.name === BACKEND_SECTION) {
      const example = OPTIONS.find((o) => o.name === 'enabled_backends')?.sample?.split(':')[0] ?? 'fast';
      out.push(...wrap(`${section.help} Uncomment the header below and name it after your backend id.`, 76).map((l) => `# ${l}`));
      out.push(`#[${example}]`, '');
    } else {
      out.push(`[${section.name}]`, '');
    }
    for (const def of section.options) out.push(...sampleOption(def));
  }
  const unused = wrap(`Glimpse also recognises these Glance sections but does not use their options yet: ${notUsedSections().join(', ')}.`, 76);
  out.push(...unused.map((l) => `# ${l}`));
  return `${out.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function docDescription(def: OptionDef): string {
  const parts = [def.help];
  const b = bounds(def);
  if (b.length > 0) parts.push(`${b.join('; ')}.`);
  if (def.sample !== undefined) parts.push(`Example: \`${def.sample}\`.`);
  if (def.deprecatedFor !== undefined) parts.push(`**Deprecated**: use ${def.deprecatedFor} instead.`);
  return parts.join(' ');
}

/** docs/configuration.md: the hand-written intro followed by the generated reference. */
export function renderConfigDoc(): string {
  const out: string[] = [DOC_INTRO.trimEnd(), ''];
  const differing = OPTIONS.filter((o) => o.glanceDefault !== undefined);
  out.push('## Defaults that differ from Glance', '');
  out.push('| option | Glimpse | Glance |', '|---|---|---|');
  for (const def of differing) {
    out.push(`| \`[${def.section}] ${def.name}\` | ${def.default === undefined ? '(unset)' : `\`${cell(def.default)}\``} | ${cell(def.glanceDefault!)} |`);
  }
  out.push('', '## Option reference', '');
  for (const section of documentedSections()) {
    out.push(`### \`[${section.name}]\``, '', section.help, '');
    out.push('| option | type | default | description |', '|---|---|---|---|');
    for (const def of section.options) {
      const dflt = def.default === undefined ? '(unset)' : `\`${cell(def.default)}\``;
      out.push(`| \`${def.name}\` | ${TYPE_NAMES[def.type]} | ${dflt} | ${cell(docDescription(def))} |`);
    }
    out.push('');
  }
  out.push('## Sections recognised but not used yet', '');
  out.push(...wrap('Options in these Glance sections are accepted with a warning that Glimpse does not use them yet: '
    + `${notUsedSections().map((n) => `\`[${n}]\``).join(', ')}.`, 96));
  return `${out.join('\n')}\n`;
}
