// oslo.policy's check-string language: parser, canonical formatter and evaluator.
//
// Grammar (operators are case-insensitive; `not` binds tighter than `and`, `and` tighter than `or`):
//   expr    := and ('or' and)*
//   and     := unary ('and' unary)*
//   unary   := 'not' unary | '(' expr ')' | check
//   check   := '@' | '!' | 'rule:' NAME | 'role:' MATCH | LEFT ':' MATCH
// An empty string means "always". Tokens are separated by whitespace, as in oslo; a left side
// written as a quoted literal may itself contain spaces or colons (oslo cannot express that).
//
// Where oslo silently fails closed on a malformed rule (logging "Failed to understand rule"),
// this parser throws a PolicyParseError so that a broken policy file is refused at load time.

/** A parsed right-hand side: literal text and `%(key)s` references into the target. */
export type MatchPart = { text: string } | { key: string };

export type CheckNode =
  | { type: 'always' }
  | { type: 'never' }
  | { type: 'rule'; name: string }
  | { type: 'role'; match: MatchPart[] }
  /** `left:match`. `literal` is set when the left side is a constant (its Python str()). */
  | { type: 'generic'; left: string; literal?: string; path?: string[]; match: MatchPart[] }
  | { type: 'not'; check: CheckNode }
  | { type: 'and'; checks: CheckNode[] }
  | { type: 'or'; checks: CheckNode[] };

export class PolicyParseError extends Error {
  readonly ruleName: string;
  readonly checkString: string;
  /** Zero-based character offset of the problem in checkString. */
  readonly position: number;
  readonly reason: string;

  constructor(ruleName: string, checkString: string, position: number, reason: string) {
    super(`Invalid check string for policy rule "${ruleName}" at position ${position}: ${reason}`
      + ` (in ${JSON.stringify(checkString)})`);
    this.name = 'PolicyParseError';
    this.ruleName = ruleName;
    this.checkString = checkString;
    this.position = position;
    this.reason = reason;
  }
}

type Token =
  | { kind: 'lparen' | 'rparen' | 'and' | 'or' | 'not'; pos: number }
  | { kind: 'check'; pos: number; node: CheckNode };

const isSpace = (ch: string | undefined) => ch !== undefined && /\s/.test(ch);
const isQuote = (ch: string | undefined) => ch === '"' || ch === "'";

/** Index just past the quoted literal that opens at `start`, or -1 when it is not closed. */
function endOfQuoted(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i + 1;
  }
  return -1;
}

function tokenize(text: string, fail: (pos: number, reason: string) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (isSpace(text[i])) { i++; continue; }
    if (text[i] === '(') { tokens.push({ kind: 'lparen', pos: i }); i++; continue; }
    const start = i;
    // A quoted left side is protected from the whitespace split and from paren stripping.
    let protectedEnd = start;
    if (isQuote(text[i])) {
      const end = endOfQuoted(text, i);
      if (end < 0) fail(i, 'unterminated quoted string');
      i = protectedEnd = end;
    }
    while (i < text.length && !isSpace(text[i])) i++;
    let end = i;
    while (end > protectedEnd && end > start && text[end - 1] === ')') end--;
    const word = text.slice(start, end);
    if (word.length > 0) {
      const lowered = word.toLowerCase();
      if (lowered === 'and' || lowered === 'or' || lowered === 'not') tokens.push({ kind: lowered, pos: start });
      else tokens.push({ kind: 'check', pos: start, node: parseSingleCheck(word, start, fail) });
    }
    for (let p = end; p < i; p++) tokens.push({ kind: 'rparen', pos: p });
  }
  return tokens;
}

/** Parses one `kind:match` term (no operators). `offset` positions errors within the whole string. */
function parseSingleCheck(word: string, offset: number, fail: (pos: number, reason: string) => never): CheckNode {
  if (word === '@') return { type: 'always' };
  if (word === '!') return { type: 'never' };
  let left: string;
  let matchText: string;
  let matchOffset: number;
  if (isQuote(word[0])) {
    const end = endOfQuoted(word, 0);
    if (end < 0) fail(offset, 'unterminated quoted string');
    if (word[end] !== ':') fail(offset + end, "a quoted literal must be followed by ':' and a match");
    left = word.slice(0, end);
    matchText = word.slice(end + 1);
    matchOffset = offset + end + 1;
  } else {
    const colon = word.indexOf(':');
    if (colon < 0) fail(offset, `expected a check of the form kind:match, found ${JSON.stringify(word)}`);
    left = word.slice(0, colon);
    matchText = word.slice(colon + 1);
    matchOffset = offset + colon + 1;
    if (left.length === 0) fail(offset, 'a check needs something before the colon');
    if (left.includes('(')) fail(offset, `unexpected '(' in ${JSON.stringify(word)} (put a space after 'not'?)`);
  }
  if (left === 'rule') {
    if (matchText.length === 0) fail(matchOffset, 'rule: needs a rule name');
    return { type: 'rule', name: matchText };
  }
  if (left === 'http' || left === 'https') fail(offset, 'remote http(s) checks are not supported');
  const match = parseMatch(matchText, matchOffset, fail);
  if (left === 'role') return { type: 'role', match };
  const literal = literalValue(left);
  if (literal !== undefined) return { type: 'generic', left, literal, match };
  const path = left.split('.');
  if (path.some((segment) => segment.length === 0)) fail(offset, `invalid credential path ${JSON.stringify(left)}`);
  return { type: 'generic', left, path, match };
}

/** Splits a right-hand side on Python %-substitutions: `%(key)s` and `%%`. */
function parseMatch(text: string, offset: number, fail: (pos: number, reason: string) => never): MatchPart[] {
  const parts: MatchPart[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') { literal += text[i]; continue; }
    if (text[i + 1] === '%') { literal += '%'; i++; continue; }
    if (text[i + 1] !== '(') fail(offset + i, "a '%' must start a %(name)s substitution (write %% for a literal %)");
    const close = text.indexOf(')', i + 2);
    if (close < 0) fail(offset + i, 'unterminated %(name)s substitution');
    if (text[close + 1] !== 's') fail(offset + close + 1, 'only %(name)s substitutions are supported');
    if (literal) parts.push({ text: literal });
    literal = '';
    parts.push({ key: text.slice(i + 2, close) });
    i = close + 1;
  }
  if (literal || parts.length === 0) parts.push({ text: literal });
  return parts;
}

/**
 * The Python str() of a constant left side, as oslo's ast.literal_eval would read it:
 * quoted strings, True/False/None and numbers. undefined when the left side is a credential path.
 */
function literalValue(left: string): string | undefined {
  if (isQuote(left[0])) return unescapePython(left.slice(1, -1));
  if (left === 'True' || left === 'False' || left === 'None') return left;
  if (/^[+-]?\d+$/.test(left)) return String(BigInt(left));
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][+-]?\d+)?$/.test(left)) return pythonFloat(Number(left));
  return undefined;
}

function unescapePython(body: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (whole, esc: string) => {
    if (esc.length > 1) return String.fromCharCode(parseInt(esc.slice(1), 16));
    return simple[esc] ?? whole;
  });
}

function pythonFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : String(n);
}

/** Parses a check string. `ruleName` only labels errors. */
export function parseCheckString(text: string, ruleName = '<check>'): CheckNode {
  const fail = (pos: number, reason: string): never => { throw new PolicyParseError(ruleName, text, pos, reason); };
  if (text === '') return { type: 'always' };
  const tokens = tokenize(text, fail);
  if (tokens.length === 0) fail(0, 'the check string is blank (use "" for always, "!" for never)');
  let at = 0;
  const peek = () => tokens[at];
  const describe = (t: Token | undefined) => (t === undefined ? 'end of string' : t.kind === 'check' ? 'a check'
    : t.kind === 'lparen' ? "'('" : t.kind === 'rparen' ? "')'" : `'${t.kind}'`);

  const parseOr = (): CheckNode => {
    const checks = [parseAnd()];
    while (peek()?.kind === 'or') { at++; checks.push(parseAnd()); }
    return combine('or', checks);
  };
  const parseAnd = (): CheckNode => {
    const checks = [parseUnary()];
    while (peek()?.kind === 'and') { at++; checks.push(parseUnary()); }
    return combine('and', checks);
  };
  const parseUnary = (): CheckNode => {
    const token = peek();
    if (token?.kind === 'not') { at++; return { type: 'not', check: parseUnary() }; }
    if (token?.kind === 'check') { at++; return token.node; }
    if (token?.kind === 'lparen') {
      at++;
      const inner = parseOr();
      const close = peek();
      if (close?.kind !== 'rparen') {
        return fail(close?.pos ?? text.length, `expected ')' to close the '(' at position ${token.pos}, found ${describe(close)}`);
      }
      at++;
      return inner;
    }
    return fail(token?.pos ?? text.length, `expected a check, 'not' or '(', found ${describe(token)}`);
  };

  const root = parseOr();
  const rest = peek();
  if (rest !== undefined) {
    fail(rest.pos, rest.kind === 'rparen' ? "unbalanced ')'" : `expected 'and', 'or' or end of string, found ${describe(rest)}`);
  }
  return root;
}

function combine(type: 'and' | 'or', checks: CheckNode[]): CheckNode {
  if (checks.length === 1) return checks[0]!;
  return { type, checks: checks.flatMap((c) => (c.type === type ? c.checks : [c])) };
}

/** The Python repr()-like rendering used when a value is formatted inside a list or dict. */
function pythonRepr(value: unknown): string {
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
  }
  return pythonStr(value);
}

/** Python's str() of a value, which is what oslo compares after %-formatting. */
export function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pythonFloat(value);
  if (value instanceof Date) {
    // str() of a naive datetime: "YYYY-MM-DD HH:MM:SS[.ffffff]" (Glance's timestamps are naive UTC).
    const iso = value.toISOString();
    const ms = value.getUTCMilliseconds();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms ? `.${String(ms * 1000).padStart(6, '0')}` : ''}`;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (value instanceof Set) return value.size === 0 ? 'set()' : `{${[...value].map(pythonRepr).join(', ')}}`;
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

/** A target value by key: the key itself first (oslo's %-formatting), then as a dotted path. */
function targetValue(target: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(target, key)) return target[key];
  if (!key.includes('.')) return undefined;
  let current: unknown = target;
  for (const segment of key.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * Substitutes the target into a right-hand side. undefined (the check fails) when a key is
 * missing — oslo's KeyError — or null: Python would render None as "None", which would let a
 * caller without a project match an image without an owner; Glimpse fails closed instead.
 */
function substitute(match: MatchPart[], target: Record<string, unknown>): string | undefined {
  let out = '';
  for (const part of match) {
    if ('text' in part) { out += part.text; continue; }
    const value = targetValue(target, part.key);
    if (value === undefined || value === null) return undefined;
    out += pythonStr(value);
  }
  return out;
}

/** oslo's credential walk: list values match when any element matches; null never matches. */
function credsContain(value: unknown, path: readonly string[], match: string): boolean {
  if (path.length === 0) return value !== null && value !== undefined && pythonStr(value) === match;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const [key, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(value, key)) return false;
  const next = (value as Record<string, unknown>)[key];
  if (Array.isArray(next)) return next.some((item) => credsContain(item, rest, match));
  return credsContain(next, rest, match);
}

/** Looks up a named rule for `rule:NAME`; undefined when there is no such rule. */
export type RuleLookup = (name: string) => CheckNode | undefined;

const maxRuleDepth = 64;

/**
 * Evaluates a check against the target (what is acted on) and the credentials (who acts),
 * with oslo.policy's semantics. Unknown `rule:` references and runaway recursion fail closed.
 */
export function evaluateCheck(
  node: CheckNode,
  target: Record<string, unknown>,
  creds: Record<string, unknown>,
  lookup: RuleLookup,
  depth = 0,
): boolean {
  switch (node.type) {
    case 'always': return true;
    case 'never': return false;
    case 'not': return !evaluateCheck(node.check, target, creds, lookup, depth);
    case 'and': return node.checks.every((c) => evaluateCheck(c, target, creds, lookup, depth));
    case 'or': return node.checks.some((c) => evaluateCheck(c, target, creds, lookup, depth));
    case 'rule': {
      const rule = depth < maxRuleDepth ? lookup(node.name) : undefined;
      return rule !== undefined && evaluateCheck(rule, target, creds, lookup, depth + 1);
    }
    case 'role': {
      const wanted = substitute(node.match, target);
      const roles = creds.roles;
      if (wanted === undefined || !Array.isArray(roles)) return false;
      const lowered = wanted.toLowerCase();
      return roles.some((role) => typeof role === 'string' && role.toLowerCase() === lowered);
    }
    case 'generic': {
      const wanted = substitute(node.match, target);
      if (wanted === undefined) return false;
      if (node.literal !== undefined) return node.literal === wanted;
      return credsContain(creds, node.path ?? [node.left], wanted);
    }
  }
}

/** Names of the rules a check refers to with `rule:NAME`. */
export function referencedRules(node: CheckNode): string[] {
  switch (node.type) {
    case 'rule': return [node.name];
    case 'not': return referencedRules(node.check);
    case 'and': case 'or': return node.checks.flatMap(referencedRules);
    default: return [];
  }
}

function formatMatch(match: MatchPart[]): string {
  return match.map((p) => ('text' in p ? p.text.replace(/%/g, '%%') : `%(${p.key})s`)).join('');
}

/** A canonical check string for a node: parsing it gives the same node back. */
export function formatCheck(node: CheckNode): string {
  const wrap = (child: CheckNode, parent: 'and' | 'or' | 'not') => {
    const text = formatCheck(child);
    const needs = (child.type === 'or' && parent !== 'or') || (child.type === 'and' && parent === 'not');
    return needs ? `(${text})` : text;
  };
  switch (node.type) {
    case 'always': return '@';
    case 'never': return '!';
    case 'rule': return `rule:${node.name}`;
    case 'role': return `role:${formatMatch(node.match)}`;
    case 'generic': return `${node.left}:${formatMatch(node.match)}`;
    case 'not': return `not ${wrap(node.check, 'not')}`;
    case 'and': return node.checks.map((c) => wrap(c, 'and')).join(' and ');
    case 'or': return node.checks.map((c) => wrap(c, 'or')).join(' or ');
  }
}
