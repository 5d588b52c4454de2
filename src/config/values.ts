// Type conversion and validation of one option value, as oslo.config's types do it, with a few
// documented relaxations: list and dict items may also be separated by newlines (continuation
// lines), and empty items are dropped. Problems are returned, not thrown, as a phrase that starts
// with the offending value (`"abc" is not an integer`) for the loader to prefix with `[section] option`.
import { isIP } from 'node:net';

import type { OptionDef, OptionValue } from './schema.ts';

export type Parsed = { value: OptionValue | undefined } | { problem: string };

const TRUE_WORDS = ['true', '1', 'on', 'yes'];
const FALSE_WORDS = ['false', '0', 'off', 'no'];
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Converts config-file text to the option's type; an empty value of an option without a default means unset. */
export function parseOptionValue(def: OptionDef, raw: string): Parsed {
  if (raw.trim() === '' && def.default === undefined) return { value: undefined };
  const shown = def.secret ? '"***"' : JSON.stringify(raw);
  const result = convert(def, raw, shown);
  if ('problem' in result || result.value === undefined || !def.check) return result;
  const problem = def.check(result.value);
  return problem === undefined ? result : { problem };
}

function convert(def: OptionDef, raw: string, shown: string): Parsed {
  const text = raw.trim();
  switch (def.type) {
    case 'string':
      return { value: raw };
    case 'int':
      return integer(def, text, shown, def.min, def.max);
    case 'port':
      return integer(def, text, shown, def.min ?? 0, def.max ?? 65535);
    case 'float': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return { problem: `${shown} is not a number` };
      return bounded(Number(text), shown, def.min, def.max);
    }
    case 'bool': {
      const word = text.toLowerCase();
      if (TRUE_WORDS.includes(word)) return { value: true };
      if (FALSE_WORDS.includes(word)) return { value: false };
      return { problem: `${shown} is not a boolean (use true/false, yes/no, on/off or 1/0)` };
    }
    case 'list':
      return { value: items(raw) };
    case 'dict':
      return dict(raw, shown);
    case 'size':
      return size(text, shown);
    case 'enum': {
      const choices = def.choices ?? [];
      return choices.includes(text) ? { value: text } : { problem: `${shown} is not one of: ${choices.join(', ')}` };
    }
    case 'uri':
      return uri(text, shown, def.schemes ?? []);
    case 'path':
      return text === '' ? { problem: `${shown} is not a path (empty)` } : { value: text };
    case 'host':
      return isHost(text) ? { value: text } : { problem: `${shown} is not an IP address or host name` };
  }
}

function integer(def: OptionDef, text: string, shown: string, min?: number, max?: number): Parsed {
  if (!/^[+-]?\d+$/.test(text)) return { problem: `${shown} is not an integer` };
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    return { problem: `${shown} is too large (Glimpse handles integers up to ${Number.MAX_SAFE_INTEGER} exactly)` };
  }
  return def.type === 'port' && (n < (min ?? 0) || n > (max ?? 65535))
    ? { problem: `${shown} is not a port number (${min ?? 0} to ${max ?? 65535})` }
    : bounded(n, shown, min, max);
}

function bounded(n: number, shown: string, min?: number, max?: number): Parsed {
  if (min !== undefined && n < min) return { problem: `${shown} is less than the minimum ${min}` };
  if (max !== undefined && n > max) return { problem: `${shown} is greater than the maximum ${max}` };
  return { value: n };
}

/** Comma- (or newline-) separated items, trimmed, empty ones dropped. */
function items(raw: string): string[] {
  return raw.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '');
}

function dict(raw: string, shown: string): Parsed {
  const out: Record<string, string> = {};
  for (const item of items(raw)) {
    const colon = item.indexOf(':');
    if (colon < 0) return { problem: `${shown} is not a list of key:value pairs ("${item}" has no ":")` };
    const key = item.slice(0, colon).trim();
    const value = item.slice(colon + 1).trim();
    if (key === '') return { problem: `${shown} is not a list of key:value pairs ("${item}" has an empty key)` };
    if (Object.prototype.hasOwnProperty.call(out, key)) return { problem: `${shown} names the key "${key}" twice` };
    out[key] = value;
  }
  return { value: out };
}

/** Glance's user_storage_quota syntax: digits, optional B/KB/MB/GB/TB, no space, 1024 multiples. */
function size(text: string, shown: string): Parsed {
  const match = /^(\d+)((?:K|M|G|T)?B)?$/.exec(text);
  if (!match) return { problem: `${shown} is not a size (digits with an optional B, KB, MB, GB or TB suffix, e.g. 500GB)` };
  const bytes = Number(match[1]) * SIZE_UNITS[match[2] ?? '']!;
  if (!Number.isSafeInteger(bytes)) return { problem: `${shown} is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)` };
  return { value: bytes };
}

function uri(text: string, shown: string, schemes: readonly string[]): Parsed {
  const expected = `${shown} is not a URL with scheme ${schemes.join(' or ')}`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || (schemes.length > 0 && !schemes.includes(scheme))) return { problem: expected };
  try {
    if (new URL(text).host === '') return { problem: expected };
  } catch {
    return { problem: expected };
  }
  return { value: text };
}

function isHost(text: string): boolean {
  if (isIP(text) !== 0) return true;
  if (/^[0-9.]+$/.test(text) || text.includes(':')) return false; // a malformed address, not a name
  return text.length <= 253
    && text.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}
