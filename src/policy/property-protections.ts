// Property protections: which callers may create, read, update and delete which custom image
// properties, from the file named by `property_protection_file` (Glance's format, so an
// operator's file carries over; see Glance's glance/common/property_utils.py).
//
// The file: one INI section per rule, named by a Python regular expression; each section has
// `create`, `read`, `update` and `delete`. With `property_protection_rule_format = roles` a value
// is a comma-separated list of role names (compared case-insensitively; the caller's service
// roles count too), `@` (everyone) or `!` (nobody); with `policies` it is ONE policy rule name
// (evaluated against the caller with an empty target, as Glance does), `@` or `!`. An empty
// value lets nobody do that operation. A `[DEFAULT]` section supplies missing options to every
// section (Python's configparser does this for Glance).
//
// Matching: a section matches when its regex is found ANYWHERE in the name (Python's
// `re.search`, not `re.match`: `[x_foo]` also matches `a_x_foo_b`; anchor with `^` / `$`). The
// first matching section in file order decides; a property no section matches is denied for
// every operation. Regexes are case-sensitive.
//
// os_glance*: Glimpse's own bookkeeping properties are outside protections (Glance injects an
// all-`@` `[os_glance.*]` section ahead of the file's and drops the file's own os_glance
// sections). check() allows them and filterReadable() keeps them; callers skip the checks for
// isInternal() names altogether. Users still cannot write them: that is the reserved-namespace
// rule (403 "Attribute 'x' is reserved."), enforced by the image rules, not here.
//
// How services use it (Glance's ProtectedImageFactoryProxy / ProtectedImageProxy):
// - Create: every extra property needs `create`; the first one denied is a 403 "Attribute
//   '{name}' is reserved." (v1: "Property '{name}' is protected"): planPropertyChanges({}, props).
// - Responses (show, list, create, update): only properties the caller may `read`
//   (filterReadable); in Glance an unreadable property does not exist for that caller.
// - PATCH: apply the operations to the caller's VIEW of the image (filterReadable of the stored
//   properties), so `replace` or `remove` of an unreadable property is the usual 409 "Property x
//   does not exist.", exactly as in Glance; then call planPropertyChanges(stored, patchedView, …,
//   { written: names the patch added or replaced }). It requires `update` for each readable
//   property written (even with an unchanged value, as Glance checks every write), `create` for
//   each new one and `delete` for each removed one, and merges back what the caller cannot read.
// - v1 PUT: `after` = the sent x-image-meta-property-* headers, plus (without purge) the
//   caller's view of the rest: never the stored set, whose unreadable entries would then count
//   as sent. planPropertyChanges(stored, after, …, { dialect: 'v1' }) without `written`:
//   unchanged values pass without `update`, as in Glance's v1 API.
// Where Glimpse deliberately differs from Glance (each would lose data or hide a mistake):
// - Properties the caller cannot read survive its updates. Glance writes back only the caller's
//   view, so any PATCH by such a caller deletes them (seen on Glance 25.1: a member renaming an
//   image erased the admin-only properties).
// - Writing a property that exists but that the caller cannot read is refused with 403 (Glance's
//   v1 rule). Glance v2 takes it as a create and then fails with 500.
// - Load-time refusals Glance does not make: a value mixing `@` or `!` with role names
//   (Glance: `!` wins, else `@` wins), and a policy rule name the policy does not define (Glance
//   denies silently at request time). A name merely containing `os_glance` is not internal
//   (Glance's injected section, being searched, also lets through e.g. `x_os_glance`).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.ts';
import { parseIni, type IniDocument, type IniSection } from '../config/ini.ts';
import { forbidden, type DomainError } from '../domain/errors.ts';
import type { PolicyCredentials } from '../ports/policy.ts';
import { evaluateCheck, parseCheckString, type CheckNode, type RuleLookup } from './check-string.ts';
import { credentialsOf } from './enforcer.ts';
import { compilePythonRegex } from './python-regex.ts';

export type PropertyOperation = 'create' | 'read' | 'update' | 'delete';
export type PropertyRuleFormat = 'roles' | 'policies';

export const propertyOperations: readonly PropertyOperation[] = ['create', 'read', 'update', 'delete'];

/**
 * What `policies` mode needs from the policy enforcer: the check string in force for a rule
 * name, including helper rules defined only in the operator's policy file (PolicyEnforcer
 * provides it). Authorizer.check refuses names Glimpse does not register, while Glance looks
 * these names up unregistered, so the check is evaluated here against the live rules: a
 * reloaded policy file takes effect at once, and a rule that disappears denies.
 */
export interface PolicyRuleSource {
  checkStringOf(rule: string): string | undefined;
}

export type Permission =
  | { kind: 'everyone' }
  | { kind: 'nobody' }
  | { kind: 'roles'; roles: ReadonlySet<string> }
  | { kind: 'policy'; rule: string };

export interface PropertyRule {
  /** The section name: a Python regular expression. */
  pattern: string;
  regex: RegExp;
  line: number;
  permissions: Readonly<Record<PropertyOperation, Permission>>;
}

/** A property protection file Glimpse refuses to start with; names the file, line and section. */
export class PropertyProtectionError extends ConfigError {
  constructor(file: string, problem: string, where: { section?: string; line?: number } = {}, cause?: unknown) {
    const at = where.line === undefined ? file : `${file}, line ${where.line}`;
    super(`${at}: ${where.section === undefined ? '' : `[${where.section}] `}${problem}`,
      { file, line: where.line, section: where.section });
    this.name = 'PropertyProtectionError';
    if (cause !== undefined) this.cause = cause;
  }
}

/** Glimpse's own bookkeeping properties (os_glance*): protections never apply to them. */
export function isInternalProperty(name: string): boolean {
  return name.startsWith('os_glance');
}

export class PropertyProtections {
  /** Parsed check strings of policy rules, by check string (policies mode). */
  private readonly nodes = new Map<string, CheckNode | null>();
  private readonly lookup: RuleLookup = (name) => this.nodeOf(name);

  /**
   * Use loadPropertyProtections / parsePropertyProtections; `rules` in file order.
   * `enabled` false (see unrestricted()) means no protection file: everything is allowed.
   */
  constructor(
    readonly rules: readonly PropertyRule[],
    readonly format: PropertyRuleFormat,
    readonly warnings: readonly string[] = [],
    private readonly policy?: PolicyRuleSource,
    readonly enabled = true,
  ) {}

  /** No property_protection_file: every caller may do everything (Glance's default). */
  static unrestricted(): PropertyProtections {
    return new PropertyProtections([], 'roles', [], undefined, false);
  }

  /** Whether `name` is Glimpse's own bookkeeping; callers skip protection checks for these. */
  isInternal(name: string): boolean {
    return isInternalProperty(name);
  }

  /** The section that decides for `name` (the first whose regex is found in it), if any. */
  ruleFor(name: string): PropertyRule | undefined {
    return this.rules.find((rule) => rule.regex.test(name));
  }

  /** Whether the caller may do `operation` on the property `name`. */
  check(name: string, operation: PropertyOperation, ctx: PolicyCredentials): boolean {
    if (!this.enabled || isInternalProperty(name)) return true;
    if (!propertyOperations.includes(operation)) return false;
    const permission = this.ruleFor(name)?.permissions[operation];
    switch (permission?.kind) {
      case undefined: return false;
      case 'everyone': return true;
      case 'nobody': return false;
      case 'roles': return [...ctx.roles, ...ctx.serviceRoles].some((role) => permission.roles.has(role.toLowerCase()));
      case 'policy': {
        const node = this.nodeOf(permission.rule);
        return node !== undefined && evaluateCheck(node, {}, credentialsOf(ctx), this.lookup);
      }
    }
  }

  /** The properties the caller may read (what every response shows it). */
  filterReadable<V extends string | null>(properties: Readonly<Record<string, V>>, ctx: PolicyCredentials): Record<string, V> {
    if (!this.enabled) return { ...properties };
    return Object.fromEntries(Object.entries(properties).filter(([name]) => this.check(name, 'read', ctx)));
  }

  private nodeOf(rule: string): CheckNode | undefined {
    const text = this.policy?.checkStringOf(rule);
    if (text === undefined) return undefined;
    if (!this.nodes.has(text)) {
      let node: CheckNode | null = null;
      try {
        node = parseCheckString(text, rule);
      } catch {
        // The enforcer validated it; should it not parse, deny.
      }
      this.nodes.set(text, node);
    }
    return this.nodes.get(text) ?? undefined;
  }
}

/** Reads and validates a property protection file; throws PropertyProtectionError (refuse to start). */
export function loadPropertyProtections(
  path: string, format: PropertyRuleFormat, authorizer?: PolicyRuleSource,
): PropertyProtections {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PropertyProtectionError(path, `cannot read the property protection file: ${(error as Error).message}`, {}, error);
  }
  return parsePropertyProtections(text, path, format, authorizer);
}

/** Like loadPropertyProtections, from the file's text; `file` names it in messages. */
export function parsePropertyProtections(
  text: string, file: string, format: PropertyRuleFormat, authorizer?: PolicyRuleSource,
): PropertyProtections {
  if (format !== 'roles' && format !== 'policies') {
    throw new PropertyProtectionError(file, `unknown property_protection_rule_format "${String(format)}" (roles or policies)`);
  }
  if (format === 'policies' && !authorizer) {
    throw new PropertyProtectionError(file, 'property_protection_rule_format = policies needs the policy enforcer');
  }
  let doc: IniDocument;
  try {
    doc = parseIni(text, file);
  } catch (error) {
    const line = error instanceof ConfigError ? error.line : undefined;
    const reason = error instanceof Error ? error.message.replace(`${file}, line ${line}: `, '') : String(error);
    throw new PropertyProtectionError(file, `not a valid INI file: ${reason}`, { line }, error);
  }

  const warnings: string[] = [];
  const seen = new Map<string, number>();
  for (const section of doc.sections) {
    const first = seen.get(section.name);
    if (first !== undefined) {
      throw new PropertyProtectionError(file, `the section appears twice (first at line ${first})`,
        { section: section.name, line: section.line });
    }
    seen.set(section.name, section.line);
  }
  const defaultsSection = doc.sections.find((s) => s.name === 'DEFAULT');
  const defaults = defaultsSection ? optionsOf(defaultsSection, file, warnings) : new Map<string, Option>();

  const rules: PropertyRule[] = [];
  for (const section of doc.sections) {
    if (section === defaultsSection) continue;
    if (isInternalProperty(section.name)) {
      warnings.push(`${file}, line ${section.line}: [${section.name}] is ignored: os_glance* properties are reserved for Glimpse's own use`);
      continue;
    }
    let regex: RegExp;
    try {
      regex = compilePythonRegex(section.name);
    } catch (error) {
      throw new PropertyProtectionError(file, `is not a valid regular expression: ${(error as Error).message}`,
        { section: section.name, line: section.line }, error);
    }
    const options = optionsOf(section, file, warnings);
    const permissions = {} as Record<PropertyOperation, Permission>;
    for (const operation of propertyOperations) {
      const option = options.get(operation) ?? defaults.get(operation);
      if (!option) {
        throw new PropertyProtectionError(file,
          `has no "${operation}" option (every section needs create, read, update and delete)`,
          { section: section.name, line: section.line });
      }
      const where = { section: section.name, line: option.line };
      permissions[operation] = format === 'roles'
        ? rolesPermission(option.value, operation, file, where)
        : policyPermission(option.value, operation, file, where, authorizer!);
      if (option.value.trim() === '') {
        warnings.push(`${file}, line ${option.line}: [${section.name}] ${operation} is empty: nobody may ${operation} matching properties`);
      }
    }
    rules.push({ pattern: section.name, regex, line: section.line, permissions });
  }
  if (rules.length === 0) warnings.push(`${file}: no rules: every property (except os_glance*) is denied to everyone`);
  return new PropertyProtections(rules, format, warnings, authorizer);
}

interface Option {
  value: string;
  line: number;
}

/** The section's options by lower-cased name (configparser folds option names); refuses repeats. */
function optionsOf(section: IniSection, file: string, warnings: string[]): Map<string, Option> {
  const options = new Map<string, Option>();
  for (const entry of section.entries) {
    const key = entry.key.toLowerCase();
    if (options.has(key)) {
      throw new PropertyProtectionError(file, `sets "${key}" twice (first at line ${options.get(key)!.line})`,
        { section: section.name, line: entry.line });
    }
    options.set(key, { value: entry.value, line: entry.line });
    if (!(propertyOperations as readonly string[]).includes(key)) {
      warnings.push(`${file}, line ${entry.line}: [${section.name}] option "${entry.key}" is ignored (not create, read, update or delete)`);
    }
  }
  return options;
}

function rolesPermission(
  value: string, operation: PropertyOperation, file: string, where: { section: string; line: number },
): Permission {
  const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const everyone = items.includes('@');
  const nobody = items.includes('!');
  if (everyone && nobody) {
    throw new PropertyProtectionError(file, `${operation} = ${value}: "@" (everyone) and "!" (nobody) are mutually exclusive`, where);
  }
  if ((everyone || nobody) && items.length > 1) {
    const special = everyone ? '"@" (everyone)' : '"!" (nobody)';
    throw new PropertyProtectionError(file, `${operation} = ${value}: ${special} cannot be combined with role names`, where);
  }
  if (everyone) return { kind: 'everyone' };
  if (nobody || items.length === 0) return { kind: 'nobody' };
  return { kind: 'roles', roles: new Set(items.map((role) => role.toLowerCase())) };
}

function policyPermission(
  value: string, operation: PropertyOperation, file: string, where: { section: string; line: number },
  policy: PolicyRuleSource,
): Permission {
  const rule = value.trim();
  if (rule.includes(',')) {
    throw new PropertyProtectionError(file,
      `${operation} = ${value}: name one policy rule per operation (combine rules in the policy file)`, where);
  }
  if (rule === '@') return { kind: 'everyone' };
  if (rule === '!' || rule === '') return { kind: 'nobody' };
  if (policy.checkStringOf(rule) === undefined) {
    throw new PropertyProtectionError(file,
      `${operation} = ${value}: the policy defines no rule named "${rule}" (define it in the policy file)`, where);
  }
  return { kind: 'policy', rule };
}

export interface PlanOptions {
  /**
   * Names the request explicitly wrote (v2 PATCH add/replace). Each readable existing one
   * needs `update` even when its value is unchanged, as in Glance's v2 API. Without it (v1
   * PUT), an unchanged value is not a change.
   */
  written?: Iterable<string>;
  /** The 403's wording: v2 "Attribute 'x' is reserved." (default), v1 "Property 'x' is protected". */
  dialect?: 'v1' | 'v2';
}

export interface PropertyPlan {
  /** The properties to store: the caller's result plus what it may not see. */
  properties: Record<string, string | null>;
  created: string[];
  updated: string[];
  deleted: string[];
  /** Present before and absent from `after`, kept because the caller cannot read them. */
  preserved: string[];
}

/** The 403 for a property the caller may not create, update or delete. */
export function protectedPropertyError(name: string, dialect: 'v1' | 'v2' = 'v2'): DomainError {
  return dialect === 'v1'
    ? forbidden("Property '{name}' is protected", { name }, 'image.property_protected')
    : forbidden("Attribute '{name}' is reserved.", { name }, 'image.property_protected');
}

/**
 * Checks a change of an image's custom properties from `before` (as stored) to `after` (what
 * the caller asks for, built from its readable view) and returns what to store. Throws the
 * Forbidden DomainError for the first property the caller may not create, update or delete,
 * or that exists but that the caller cannot read and still sends. Properties the caller cannot
 * read and does not mention are kept: nobody deletes what they cannot see by leaving it out.
 * os_glance* names are not checked; they are taken from `after`, or kept from `before` when
 * absent (internal flows change them without this function).
 */
export function planPropertyChanges(
  before: Readonly<Record<string, string | null>>,
  after: Readonly<Record<string, string | null>>,
  ctx: PolicyCredentials,
  protections: PropertyProtections | null | undefined,
  options: PlanOptions = {},
): PropertyPlan {
  const rules = protections ?? PropertyProtections.unrestricted();
  const written = new Set(options.written ?? []);
  const deny = (name: string): never => { throw protectedPropertyError(name, options.dialect); };
  const plan: PropertyPlan = { properties: {}, created: [], updated: [], deleted: [], preserved: [] };
  const entries: [string, string | null][] = [];

  for (const [name, value] of Object.entries(after)) {
    entries.push([name, value]);
    if (isInternalProperty(name)) continue;
    if (!Object.hasOwn(before, name)) {
      if (!rules.check(name, 'create', ctx)) deny(name);
      plan.created.push(name);
      continue;
    }
    if (!rules.check(name, 'read', ctx)) deny(name);
    const changed = before[name] !== value;
    if (!changed && !written.has(name)) continue;
    if (!rules.check(name, 'update', ctx)) deny(name);
    if (changed) plan.updated.push(name);
  }

  for (const [name, value] of Object.entries(before)) {
    if (Object.hasOwn(after, name)) continue;
    if (isInternalProperty(name) || !rules.check(name, 'read', ctx)) {
      entries.push([name, value]);
      if (!isInternalProperty(name)) plan.preserved.push(name);
      continue;
    }
    if (!rules.check(name, 'delete', ctx)) deny(name);
    plan.deleted.push(name);
  }
  // fromEntries: a property named __proto__ stays an ordinary own property.
  plan.properties = Object.fromEntries(entries);
  return plan;
}
