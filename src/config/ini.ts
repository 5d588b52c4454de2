// Parser for oslo.config's INI dialect (glance-api.conf), following oslo_config/iniparser.py so that
// a file Glance accepts reads the same here:
// - `[section]` headers; the name is taken verbatim between the brackets (no trimming).
// - `key = value` or `key: value`, split at whichever of `=` / `:` comes first; key and value are trimmed.
// - One pair of matching surrounding quotes ("…" or '…') is stripped from the value, as oslo does.
// - Lines starting with `#` or `;` are comments; there are no inline comments (`a = 1 # x` has value `1 # x`).
// - A line starting with a space or tab continues the previous value (joined with "\n");
//   a blank line or a comment line ends the value, so a continuation after either is an error.
// - The same key twice keeps every occurrence; the loader uses the last (oslo's non-multi options).
// Section-name normalisation (case) is the loader's business: see normalizeSectionName.
import { IniParseError } from './errors.ts';

export interface IniEntry {
  key: string;
  value: string;
  /** 1-based line of the `key = value` line (continuations follow it). */
  line: number;
}

export interface IniSection {
  /** As written between the brackets. */
  name: string;
  line: number;
  entries: IniEntry[];
}

export interface IniDocument {
  file: string;
  /** One element per header, in file order; a header repeated later yields another element. */
  sections: IniSection[];
}

interface Pending {
  section: IniSection;
  key: string;
  line: number;
  lines: string[];
}

/** Parses INI text; `file` is used in error messages only. Throws IniParseError. */
export function parseIni(text: string, file = '<config>'): IniDocument {
  const doc: IniDocument = { file, sections: [] };
  let section: IniSection | undefined;
  let pending: Pending | undefined;
  const flush = (): void => {
    if (pending) pending.section.entries.push({ key: pending.key, value: pending.lines.join('\n'), line: pending.line });
    pending = undefined;
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trimEnd();
    if (line === '') {
      flush();
      return;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!pending) throw new IniParseError('unexpected continuation line (an indented line must follow a key = value line)', file, lineNo, line);
      pending.lines.push(line.trimStart());
      return;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new IniParseError('invalid section header (must end with "]")', file, lineNo, line);
      if (line.length <= 2) throw new IniParseError('empty section name', file, lineNo, line);
      section = { name: line.slice(1, -1), line: lineNo, entries: [] };
      doc.sections.push(section);
      return;
    }
    if (line.startsWith('#') || line.startsWith(';')) return;
    const { key, value } = splitKeyValue(line, file, lineNo);
    if (!section) throw new IniParseError('option outside of any section (add a [DEFAULT] header above it)', file, lineNo, line);
    pending = { section, key, line: lineNo, lines: [value] };
  });
  flush();
  return doc;
}

function splitKeyValue(line: string, file: string, lineNo: number): { key: string; value: string } {
  const colon = line.indexOf(':');
  const equal = line.indexOf('=');
  if (colon < 0 && equal < 0) throw new IniParseError('expected "key = value" (no "=" or ":" found)', file, lineNo, line);
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  const key = line.slice(0, at).trim();
  let value = line.slice(at + 1).trim();
  if (key === '') throw new IniParseError('empty option name', file, lineNo, line);
  if (value.length > 0 && (value[0] === '"' || value[0] === "'") && value[0] === value[value.length - 1]) {
    value = value.slice(1, -1);
  }
  return { key, value };
}

/**
 * oslo.config looks options up with group names lower-cased, except `DEFAULT`, which must be
 * written exactly so (`[default]` is a different, unknown group). Backend ids are normalised the same way.
 */
export function normalizeSectionName(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}
