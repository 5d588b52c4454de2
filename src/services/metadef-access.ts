// Loading a metadef namespace in the caller's scope and authorizing on it: what every
// metadef use case starts with. Glance's rules (spec/v2.md §8.3): a namespace the caller may
// not see is 404; a denied rule on a visible namespace is 403, on an invisible one 404.
import { forbidden } from '../domain/errors.ts';
import { metadefErrors } from '../domain/metadef-errors.ts';
import { isNamespaceVisible, type MetadefNamespace } from '../domain/metadef.ts';
import type { RequestContext } from '../ports/context.ts';
import type { MetadefRepository } from '../ports/metadef-repository.ts';
import type { Authorizer } from '../ports/policy.ts';
import { enforceOrHide } from '../policy/enforcer.ts';
import { metadefTarget } from '../policy/metadef-target.ts';
import type { Draft, Notifier } from './notifier.ts';

/**
 * How a missing or hidden namespace is reported; Glance's routes differ:
 * - 'show': missing → "Metadata definition namespace=X was not found.", hidden → bare 404;
 * - 'objects': missing → the same long message, hidden → "Namespace X not found";
 * - 'short': both → "Namespace X not found".
 */
export type NotFoundStyle = 'show' | 'objects' | 'short';

export interface MetadefServiceDeps {
  metadefs: MetadefRepository;
  policy: Authorizer;
  /** Namespace list page size when no limit is given, and its cap ([DEFAULT] limit_param_default, api_limit_max). */
  limits: { default: number; max: number };
  now?: () => Date;
  /** Makes the metadef_* notifications (undefined: none). */
  notifier?: Notifier;
}

export class MetadefAccess {
  readonly now: () => Date;

  constructor(private readonly deps: MetadefServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  get repo(): MetadefRepository {
    return this.deps.metadefs;
  }

  /** Runs a change; its notifications (Glance's metadef_* events) are written in the same transaction. */
  async change(work: (repo: MetadefRepository) => Promise<void>, drafts: (subject: string) => Draft[], namespace: string): Promise<void> {
    const notifications = this.deps.notifier?.make(drafts(namespace)) ?? [];
    if (notifications.length === 0) return work(this.deps.metadefs);
    await this.deps.metadefs.atomically(work, notifications);
    this.deps.notifier!.appended();
  }

  async load(ctx: RequestContext, name: string, style: NotFoundStyle): Promise<MetadefNamespace> {
    const ns = await this.deps.metadefs.getNamespace(name);
    if (!ns) throw style === 'short' ? metadefErrors.namespaceNotFoundShort(name) : metadefErrors.namespaceNotFound(name);
    if (!isNamespaceVisible(ns, ctx)) {
      if (style === 'show') this.hide(ctx, ns, 'get_metadef_namespace');
      throw metadefErrors.namespaceNotFoundShort(name);
    }
    return ns;
  }

  /** Enforces `rule` on the namespace (or, without one, on the caller's project) with Glance's hiding. */
  authorize(ctx: RequestContext, rule: string, ns?: MetadefNamespace): void {
    if (!ns) {
      this.deps.policy.enforce(rule, metadefTarget(ctx.projectId), ctx);
      return;
    }
    this.hide(ctx, ns, rule);
  }

  check(ctx: RequestContext, rule: string, ns: MetadefNamespace): boolean {
    return this.deps.policy.check(rule, metadefTarget(ctx.projectId, ns), ctx);
  }

  async loadFor(ctx: RequestContext, name: string, style: NotFoundStyle, ...rules: string[]): Promise<MetadefNamespace> {
    const ns = await this.load(ctx, name, style);
    for (const rule of rules) this.authorize(ctx, rule, ns);
    return ns;
  }

  private hide(ctx: RequestContext, ns: MetadefNamespace, rule: string): void {
    enforceOrHide(this.deps.policy, rule, metadefTarget(ctx.projectId, ns), ctx,
      { visibilityRule: 'get_metadef_namespace' });
  }
}

export const protectedErrors = {
  namespace: (name: string) => forbidden('Metadata definition namespace {name} is protected and cannot be deleted.',
    { name }, 'metadef.protected'),
  object: (name: string) => forbidden('Metadata definition object {name} is protected and cannot be deleted.',
    { name }, 'metadef.protected'),
  property: (name: string) => forbidden('Metadata definition property {name} is protected and cannot be deleted.',
    { name }, 'metadef.protected'),
  tag: (name: string) => forbidden('Metadata definition tag {name} is protected and cannot be deleted.',
    { name }, 'metadef.protected'),
  association: (name: string) => forbidden('Metadata definition resource-type-association {name} is protected and '
    + 'cannot be deleted.', { name }, 'metadef.protected'),
};
