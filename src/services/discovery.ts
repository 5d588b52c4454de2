// GET /v2/info/stores and /v2/info/stores/detail: the configured stores as Glance lists them.
// GET /v2/info/usage: the caller's project's unified limits and usage (empty without them), which
// Glance serves to any authenticated caller without a policy rule of its own.
// Reserved internal stores (os_glance_*) are never listed; credentials never appear (only the
// non-secret properties Glance shows per store type).
import { notFound } from '../domain/errors.ts';
import type { RequestContext } from '../ports/context.ts';
import type { Authorizer } from '../ports/policy.ts';
import type { StoreInfo } from '../ports/store.ts';
import type { ProjectQuotas, UsageReport } from './project-quotas.ts';

export class DiscoveryService {
  constructor(private readonly policy: Authorizer, private readonly stores: StoreInfo[] | undefined,
    private readonly quotas?: ProjectQuotas) {}

  async getUsage(ctx: RequestContext): Promise<UsageReport> {
    if (!this.quotas || !ctx.projectId) return {};
    return this.quotas.usage(ctx.projectId);
  }

  getStores(_ctx: RequestContext): Record<string, string>[] {
    if (!this.stores) throw notFound('Multi backend is not supported at this site.', {}, 'store.multi_store_off');
    return this.stores.filter((s) => !s.id.startsWith('os_glance_')).map((s) => {
      const entry: Record<string, string> = { id: s.id };
      if (s.description) entry.description = s.description;
      if (s.isDefault) entry.default = 'true';
      if (s.type === 'http') entry['read-only'] = 'true';
      return entry;
    });
  }

  getStoresDetail(ctx: RequestContext): Record<string, unknown>[] {
    const stores = this.getStores(ctx);
    this.policy.enforce('stores_info_detail', { project_id: ctx.projectId }, ctx);
    const byId = new Map(this.stores!.map((s) => [s.id, s]));
    return stores.map((entry) => {
      const store = byId.get(entry.id!)!;
      // Glance master adds each store's `weight` after its properties (25.1 does not show it).
      return { ...entry, type: store.type, properties: store.properties, weight: store.weight };
    });
  }
}
