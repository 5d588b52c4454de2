// Python `re` patterns in JavaScript. Operators write Glance's property protection sections as
// Python regular expressions; the two dialects agree on almost everything such files use
// (anchors, classes, alternation, quantifiers). This rewrites the Python-only spellings that
// have a JavaScript equivalent and refuses the one that has none, so that a section never
// silently means something else here than it does in Glance:
// - leading global flags `(?i)`, `(?m)`, `(?s)` become RegExp flags; `(?a)`/`(?u)` change nothing
//   for names; `(?x)` (verbose) and `(?L)` are refused;
// - `(?P<name>…)` → `(?<name>…)`, `(?P=name)` → `\k<name>`, `(?#comment)` is dropped;
// - `\A` / `\Z` (start / very end of the string) become look-arounds that ignore the m flag;
// - `]` right after `[` or `[^` is a literal in Python (JavaScript would read `[]` as an empty class).
// Python's `$` also matches before one trailing newline; property names hold no newlines.

export interface TranslatedRegex {
  source: string;
  flags: string;
}

export class PythonRegexError extends Error {}

const leadingFlags = /^\(\?([aiLmsux]+)\)/;

export function translatePythonRegex(pattern: string): TranslatedRegex {
  let rest = pattern;
  const flags = new Set<string>();
  for (let m = leadingFlags.exec(rest); m; m = leadingFlags.exec(rest)) {
    for (const flag of m[1]!) {
      if (flag === 'x') throw new PythonRegexError('the verbose flag (?x) is not supported');
      if (flag === 'L') throw new PythonRegexError('the locale flag (?L) is not valid for text patterns');
      if (flag === 'i' || flag === 'm' || flag === 's') flags.add(flag);
    }
    rest = rest.slice(m[0].length);
  }

  let out = '';
  let i = 0;
  while (i < rest.length) {
    const ch = rest[i]!;
    if (ch === '\\') {
      const next = rest[i + 1];
      if (next === undefined) throw new PythonRegexError('the pattern ends with a lone backslash');
      out += next === 'A' ? '(?<![\\s\\S])' : next === 'Z' ? '(?![\\s\\S])' : `\\${next}`;
      i += 2;
    } else if (ch === '[') {
      i = copyClass(rest, i, (text) => { out += text; });
    } else if (rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 4;
    } else if (rest.startsWith('(?P=', i)) {
      const close = rest.indexOf(')', i);
      if (close < 0) throw new PythonRegexError('unterminated (?P=name) back-reference');
      out += `\\k<${rest.slice(i + 4, close)}>`;
      i = close + 1;
    } else if (rest.startsWith('(?#', i)) {
      const close = rest.indexOf(')', i);
      if (close < 0) throw new PythonRegexError('unterminated (?#…) comment');
      i = close + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return { source: out, flags: [...flags].sort().join('') };
}

/** Copies a character class starting at `start` (a `[`); returns the index after its `]`. */
function copyClass(text: string, start: number, emit: (text: string) => void): number {
  let i = start + 1;
  let out = '[';
  if (text[i] === '^') {
    out += '^';
    i++;
  }
  if (text[i] === ']') {
    out += '\\]';
    i++;
  }
  while (i < text.length && text[i] !== ']') {
    if (text[i] === '\\' && i + 1 < text.length) {
      out += text.slice(i, i + 2);
      i += 2;
    } else {
      out += text[i];
      i++;
    }
  }
  if (i >= text.length) throw new PythonRegexError('unterminated character set');
  emit(`${out}]`);
  return i + 1;
}

/** Compiles a Python pattern for unanchored searching (Python's `re.search`). */
export function compilePythonRegex(pattern: string): RegExp {
  const { source, flags } = translatePythonRegex(pattern);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new PythonRegexError((error as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}
