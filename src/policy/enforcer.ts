// The policy enforcer: Glance's defaults plus an operator's overrides (policy.yaml or JSON),
// evaluated with oslo.policy semantics against credentials built like oslo.context's
// to_policy_values(). Implements the Authorizer port that services depend on.
import { statSync } from 'node:fs';
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import type { Authorizer, PolicyCredentials, PolicyTarget } from '../ports/policy.ts';
import { evaluateCheck, type RuleLookup } from './check-string.ts';
import { isRegisteredRule } from './defaults.ts';
import { compileRules, PolicyLoadError, readPolicyFile, type CompiledRule, type RuleSet } from './rule-set.ts';

export { PolicyLoadError } from './rule-set.ts';

export type RequestContextLike = PolicyCredentials;

export interface PolicyEnforcerOptions {
  /** Rule name → check string, applied over the defaults (validated like a policy file). */
  overrides?: Record<string, string>;
}

export interface FromFileOptions {
  /** Start with the defaults when the file does not exist (yet); it is picked up once it appears. */
  missingOk?: boolean;
}

export interface ReloadResult {
  /** The file looked different from the last look (mtime, ctime, size or inode). */
  changed: boolean;
  /** New rules are in force. */
  reloaded: boolean;
  warnings: readonly string[];
  /** Why the changed file was not taken; the previous rules stay in force. */
  error?: Error;
}

/** The credentials a check sees, named as oslo.context's to_policy_values() names them. */
export function credentialsOf(ctx: RequestContextLike): Record<string, unknown> {
  return {
    user_id: ctx.userId,
    user_domain_id: ctx.userDomainId ?? null,
    project_id: ctx.projectId,
    // Older policy files still say tenant:%(tenant)s.
    tenant: ctx.projectId,
    project_domain_id: ctx.projectDomainId ?? null,
    domain_id: null,
    system_scope: null,
    roles: [...ctx.roles],
    service_roles: [...ctx.serviceRoles],
    is_admin: ctx.isAdmin,
    is_admin_project: true,
  };
}

/** The 403 Glance answers when a policy denies: "You are not authorized to complete <rule> action." */
export function policyForbidden(rule: string): DomainError {
  return new DomainError('Forbidden', 'policy.forbidden',
    msg('You are not authorized to complete {action} action.', { action: rule }));
}

const missing = 'missing';

/** What a cheap stat says about the file; a changed signature means "read it again". Never throws. */
function fileSignature(path: string): string {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat ? `${stat.mtimeMs}:${stat.ctimeMs}:${stat.size}:${stat.ino}:${stat.dev}` : missing;
  } catch (error) {
    // Unreadable (EACCES, ENOTDIR…): reading it will fail with a clear message.
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
}

export class PolicyEnforcer implements Authorizer {
  private rules: ReadonlyMap<string, CompiledRule>;
  private currentWarnings: readonly string[];
  private filePath: string | null = null;
  private seenSignature: string | null = null;
  private reloadError: Error | null = null;
  private readonly lookup: RuleLookup = (name) => this.rules.get(name)?.node;

  /** Throws PolicyLoadError when an override does not parse or refers to an undefined rule. */
  constructor(options: PolicyEnforcerOptions = {}) {
    const set = compileRules(options.overrides ?? {}, 'policy overrides');
    this.rules = set.rules;
    this.currentWarnings = set.warnings;
  }

  /** Defaults overridden by a YAML or JSON policy file; throws PolicyLoadError naming the file and rule. */
  static fromFile(path: string, options: FromFileOptions = {}): PolicyEnforcer {
    const enforcer = new PolicyEnforcer();
    enforcer.filePath = path;
    // The signature is taken before reading, so a write racing the read shows up as a change next time.
    enforcer.seenSignature = fileSignature(path);
    if (enforcer.seenSignature === missing) {
      if (!options.missingOk) throw new PolicyLoadError(path, 'the policy file does not exist');
      return enforcer;
    }
    enforcer.install(compileRules(readPolicyFile(path), path));
    return enforcer;
  }

  /** The policy file this enforcer follows, if any. */
  get path(): string | null {
    return this.filePath;
  }

  /** Warnings from the last successful load (unknown rule names, overrides equal to defaults…). */
  get warnings(): readonly string[] {
    return this.currentWarnings;
  }

  /** Why the latest version of the file was refused; null once a good version has loaded. */
  get lastReloadError(): Error | null {
    return this.reloadError;
  }

  /** The check string in force for a rule. */
  checkStringOf(rule: string): string | undefined {
    return this.rules.get(rule)?.checkString;
  }

  /** Every rule in force (defaults, overrides and operator-defined helper rules). */
  effectiveRules(): { name: string; checkString: string; source: string }[] {
    return [...this.rules.values()].map(({ name, checkString, source }) => ({ name, checkString, source }));
  }

  /**
   * Whether `rule` allows the caller on `target`. Asking about a rule Glance does not register is
   * a programming error (Glance raises PolicyNotRegistered) and throws.
   */
  check(rule: string, target: PolicyTarget, ctx: RequestContextLike): boolean {
    const compiled = this.rules.get(rule);
    if (!compiled || !isRegisteredRule(rule)) throw new Error(`"${rule}" is not a registered policy rule`);
    return evaluateCheck(compiled.node, target, credentialsOf(ctx), this.lookup);
  }

  /** Like check, but throws the Forbidden DomainError when the rule denies. */
  enforce(rule: string, target: PolicyTarget, ctx: RequestContextLike): void {
    if (!this.check(rule, target, ctx)) throw policyForbidden(rule);
  }

  /**
   * Re-reads the policy file when it changed since the last look (one stat call otherwise).
   * A file that fails to load, or disappears, leaves the previous rules in force and is
   * reported in the result and in lastReloadError until a good version is written.
   */
  reloadIfChanged(): ReloadResult {
    const path = this.filePath;
    if (path === null) return { changed: false, reloaded: false, warnings: this.currentWarnings };
    const signature = fileSignature(path);
    if (signature === this.seenSignature) {
      return { changed: false, reloaded: false, warnings: this.currentWarnings, ...(this.reloadError ? { error: this.reloadError } : {}) };
    }
    this.seenSignature = signature;
    try {
      if (signature === missing) throw new PolicyLoadError(path, 'the policy file has disappeared; the rules loaded before stay in force');
      this.install(compileRules(readPolicyFile(path), path));
      this.reloadError = null;
      return { changed: true, reloaded: true, warnings: this.currentWarnings };
    } catch (error) {
      this.reloadError = error instanceof Error ? error : new Error(String(error));
      return { changed: true, reloaded: false, warnings: this.currentWarnings, error: this.reloadError };
    }
  }

  /**
   * Calls reloadIfChanged every `intervalMs` on a timer that does not keep the process alive;
   * `onChange` hears about every changed file (loaded or refused). Returns a function that stops it.
   */
  autoReload(intervalMs: number, onChange?: (result: ReloadResult) => void): () => void {
    const timer = setInterval(() => {
      const result = this.reloadIfChanged();
      if (result.changed) onChange?.(result);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private install(set: RuleSet): void {
    this.rules = set.rules;
    this.currentWarnings = set.warnings;
  }
}

/** Glance's is_admin: whether context_is_admin allows the caller (the credentials are the target). */
export function isAdminByPolicy(enforcer: Authorizer, ctx: RequestContextLike): boolean {
  return enforcer.check('context_is_admin', credentialsOf(ctx), ctx);
}

export interface HiddenOptions {
  /** The rule that decides whether the caller may see the resource at all. */
  visibilityRule?: string;
  /** The error for a resource the caller may not see (default: a bare 404). */
  notFound?: () => DomainError;
}

/**
 * Glance's hiding rule for images and metadef namespaces: a denied action on something the
 * caller may not even see answers 404, on something visible 403. Use visibilityRule
 * 'get_metadef_namespace' for metadefs.
 */
export function enforceOrHide(
  authorizer: Authorizer, rule: string, target: PolicyTarget, ctx: RequestContextLike, options: HiddenOptions = {},
): void {
  if (authorizer.check(rule, target, ctx)) return;
  const visibilityRule = options.visibilityRule ?? 'get_image';
  if (rule === visibilityRule || !authorizer.check(visibilityRule, target, ctx)) {
    throw options.notFound?.() ?? new DomainError('NotFound', 'policy.not_found', msg('The resource could not be found.'));
  }
  throw policyForbidden(rule);
}
