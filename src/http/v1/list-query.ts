// GET /v1/images[/detail] query parameters (spec/v1.md §3.3) → a legacy list request.
import { badRequest } from '../../domain/errors.ts';
import type { ImageColumn, ListFilter, SortDir, SortKey } from '../../ports/repositories.ts';
import type { LegacyListRequest } from '../../services/legacy-images.ts';

const sortKeys: SortKey[] = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
const exactColumns: ImageColumn[] = ['name', 'status', 'container_format', 'disk_format'];
const uuidLike = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function nonNegative(name: string, value: string): number {
  if (!/^\+?\d+$/.test(value.trim())) {
    throw badRequest('Bad value passed to filter {name} got {value}', { name, value }, 'v1.bad_filter');
  }
  return Number(value);
}

function bool(name: string, value: string, allowNone: boolean): string {
  const v = value.toLowerCase();
  if (['true', '1'].includes(v)) return 'true';
  if (['false', '0'].includes(v)) return 'false';
  if (allowNone && v === 'none') return 'none';
  throw badRequest('Bad value passed to filter {name} got {value}', { name, value }, 'v1.bad_filter');
}

/** ISO 8601 date or date-time (offsets honored); anything else is a 400. */
export function parseChangesSince(value: string): Date {
  const text = value.trim();
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i.test(text);
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text) && text.length > 10;
  let normalized = text.replace(' ', 'T');
  if (ok && !hasZone && text.length > 10) normalized += 'Z';
  if (ok && /[+-]\d{2}$/.test(normalized) && text.length > 10) normalized += ':00';
  const date = ok ? new Date(normalized) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw badRequest('Unrecognized changes-since value', {}, 'v1.bad_changes_since');
  return date;
}

export function parseLegacyListQuery(pairs: [string, string][]): LegacyListRequest {
  const filters: ListFilter[] = [];
  const request: LegacyListRequest = { filters, tags: [], memberStatus: 'all', osHidden: false, sort: [] };
  let sortKey: SortKey = 'created_at';
  let sortDir: SortDir = 'desc';
  for (const [key, value] of pairs) {
    if (key.includes('\0') || value.includes('\0')) {
      throw badRequest('Query parameters may not contain NUL characters.', {}, 'list.nul');
    }
    if (exactColumns.includes(key as ImageColumn)) filters.push({ kind: 'in', column: key as ImageColumn, values: [value] });
    else if (key === 'size_min' || key === 'size_max') {
      filters.push({ kind: 'compare', column: 'size', op: key === 'size_min' ? 'gte' : 'lte', value: nonNegative(key, value) });
    } else if (key === 'min_ram' || key === 'min_disk') {
      filters.push({ kind: 'in', column: key, values: [nonNegative(key, value)] });
    } else if (key === 'protected') filters.push({ kind: 'in', column: 'protected', values: [bool(key, value, false) === 'true'] });
    else if (key === 'is_public') request.isPublic = bool(key, value, true) as LegacyListRequest['isPublic'];
    else if (key === 'changes-since') request.changesSince = parseChangesSince(value);
    else if (key.startsWith('property-')) filters.push({ kind: 'property', name: key.slice('property-'.length), value });
    else if (key === 'sort_key') {
      if (!sortKeys.includes(value as SortKey)) {
        throw badRequest('Unsupported sort_key. Acceptable values: {keys}', { keys: sortKeys.join(', ') }, 'v1.bad_sort_key');
      }
      sortKey = value as SortKey;
    } else if (key === 'sort_dir') {
      if (value !== 'asc' && value !== 'desc') {
        throw badRequest('Unsupported sort_dir. Acceptable values: asc, desc', {}, 'v1.bad_sort_dir');
      }
      sortDir = value;
    } else if (key === 'limit') {
      if (!/^[-+]?\d+$/.test(value.trim())) throw badRequest('limit param must be an integer', {}, 'v1.bad_limit');
      const limit = Number(value);
      if (limit < 0) throw badRequest('limit param must be positive', {}, 'v1.bad_limit');
      request.limit = limit;
    } else if (key === 'marker') {
      if (!uuidLike.test(value)) throw badRequest('Invalid marker format', {}, 'v1.bad_marker');
      request.markerId = value;
    }
  }
  request.sort = [{ key: sortKey, dir: sortDir }, { key: 'created_at', dir: sortDir }, { key: 'id', dir: sortDir }];
  return request;
}
