// Building the effective rule set: Glance's defaults overlaid with an operator's overrides,
// parsed and checked up front so that a bad policy file is refused with a clear message
// instead of silently denying (or allowing) requests later, as oslo would.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseCheckString, PolicyParseError, referencedRules, type CheckNode } from './check-string.ts';
import { isRegisteredRule, policyDefault, policyDefaults } from './defaults.ts';

export interface CompiledRule {
  name: string;
  checkString: string;
  node: CheckNode;
  /** Where the check string came from: 'default' or the overriding source (a file path). */
  source: string;
}

export interface RuleSet {
  rules: ReadonlyMap<string, CompiledRule>;
  /** Things an operator should look at that do not stop the rules from loading. */
  warnings: string[];
}

/** A policy file or set of overrides that cannot be used; names the source and the rule. */
export class PolicyLoadError extends Error {
  readonly source: string;
  readonly ruleName: string | undefined;

  constructor(source: string, message: string, ruleName?: string, cause?: unknown) {
    super(`${source}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'PolicyLoadError';
    this.source = source;
    this.ruleName = ruleName;
  }
}

/** Parsed defaults, shared by every enforcer (they never change). */
let compiledDefaults: Map<string, CompiledRule> | undefined;

function defaults(): Map<string, CompiledRule> {
  compiledDefaults ??= new Map(policyDefaults.map((d) =>
    [d.name, { name: d.name, checkString: d.checkString, node: parseCheckString(d.checkString, d.name), source: 'default' }]));
  return compiledDefaults;
}

/** Defaults overlaid with `overrides`; throws PolicyLoadError when an override is unusable. */
export function compileRules(overrides: Readonly<Record<string, string>>, source: string): RuleSet {
  const rules = new Map(defaults());
  const warnings: string[] = [];
  for (const [name, checkString] of Object.entries(overrides)) {
    let node: CheckNode;
    try {
      node = parseCheckString(checkString, name);
    } catch (error) {
      const reason = error instanceof PolicyParseError ? `${error.reason} at position ${error.position}` : String(error);
      throw new PolicyLoadError(source, `rule "${name}" has an invalid check string ${JSON.stringify(checkString)}: ${reason}`,
        name, error);
    }
    rules.set(name, { name, checkString, node, source });
    if (policyDefault(name)?.checkString === checkString) {
      warnings.push(`rule "${name}" is the same as the default and can be removed from ${source}`);
    }
  }

  const referenced = new Set([...rules.values()].flatMap((r) => referencedRules(r.node)));
  for (const name of Object.keys(overrides)) {
    if (!isRegisteredRule(name) && !referenced.has(name)) {
      warnings.push(`rule "${name}" is not a rule Glimpse enforces and no rule refers to it (misspelt?)`);
    }
  }

  for (const rule of rules.values()) {
    const missing = referencedRules(rule.node).filter((ref) => !rules.has(ref));
    if (missing.length > 0) {
      throw new PolicyLoadError(rule.source,
        `rule "${rule.name}" refers to undefined rule${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`,
        rule.name);
    }
  }
  const cycle = findCycle(rules);
  if (cycle) {
    const first = rules.get(cycle[0]!)!;
    throw new PolicyLoadError(first.source, `rules refer to each other in a cycle: ${cycle.join(' -> ')}`, first.name);
  }
  return { rules, warnings };
}

function findCycle(rules: ReadonlyMap<string, CompiledRule>): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name)) return undefined;
    const rule = rules.get(name);
    for (const ref of rule ? referencedRules(rule.node) : []) {
      const found = visit(ref, [...path, name]);
      if (found) return found;
    }
    done.add(name);
    return undefined;
  };
  for (const name of rules.keys()) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads a policy file (YAML; JSON is YAML too) into rule name → check string.
 * A null value means "always", as in oslo; the old list-of-lists syntax is translated.
 */
export function readPolicyFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyLoadError(path, `cannot read the policy file: ${(error as Error).message}`, undefined, error);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new PolicyLoadError(path, `not valid YAML or JSON: ${(error as Error).message}`, undefined, error);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new PolicyLoadError(path, 'a policy file must be a mapping of rule names to check strings');
  }
  // No prototype: a rule named __proto__ is just a (warned-about) rule name.
  const rules: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value === 'string') rules[name] = value;
    else if (value === null) rules[name] = '';
    else if (Array.isArray(value)) rules[name] = fromListSyntax(value, path, name);
    else throw new PolicyLoadError(path, `rule "${name}" must be a check string, not ${JSON.stringify(value)}`, name);
  }
  return rules;
}

/** oslo's legacy form: a list of alternatives, each a list of checks that must all pass. */
function fromListSyntax(value: unknown[], path: string, name: string): string {
  if (value.length === 0) return '';
  const alternatives: string[] = [];
  for (const inner of value) {
    const checks = typeof inner === 'string' ? [inner] : inner;
    if (!Array.isArray(checks) || checks.some((c) => typeof c !== 'string' || c === '' || /\s|^(and|or|not)$/i.test(c))) {
      throw new PolicyLoadError(path, `rule "${name}" has an invalid list-form entry ${JSON.stringify(inner)}`, name);
    }
    if (checks.length > 0) alternatives.push(checks.length > 1 ? `(${checks.join(' and ')})` : checks[0]!);
  }
  return alternatives.length > 0 ? alternatives.join(' or ') : '!';
}
