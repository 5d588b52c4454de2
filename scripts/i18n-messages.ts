// The message ids the code uses, found in the source: shared by test/unit/i18n.test.ts and
// `npm run i18n:missing` (scripts/i18n-missing.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stockExplanations } from '../src/http/errors.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

// Every user-facing message is written as msg('…') or one of the error factories with a
// literal first argument (string literals, possibly joined with +); this collects them.
const callStart = /\b(?:msg|badRequest|forbidden|notFound|conflict|gone|payloadTooLarge|unavailable)\(\s*(?=['"])/g;

/** Reads `'a' + "b"` starting at `index`; returns the joined text. */
function readLiterals(text: string, index: number): string {
  let out = '';
  let i = index;
  for (;;) {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') return out;
    i++;
    while (text[i] !== quote) {
      if (text[i] === '\\') { const c = text[i + 1]!; out += c === 'n' ? '\n' : c === 't' ? '\t' : c; i += 2; } else { out += text[i]; i++; }
    }
    i++;
    const rest = /^\s*\+\s*/.exec(text.slice(i));
    if (!rest) return out;
    i += rest[0].length;
  }
}

/** Every message id in `dir` (default: src/), plus the stock explanations of the error mapper. */
export function messagesInSource(dir = 'src'): Set<string> {
  const found = new Set<string>(stockExplanations());
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(callStart)) found.add(readLiterals(text, match.index + match[0].length));
  }
  return found;
}

/** The `{name}` placeholders of a message or translation, sorted (repeats kept). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}
