// GET /v2/images query parameters → a ListRequest, with Glance's validation and messages
// (spec/v2.md §4.1). The query is kept as ordered [key, value] pairs: `tag` and sort keys repeat.
import { badRequest } from '../../domain/errors.ts';
import type { ImageColumn, ListFilter, SortDir, SortKey } from '../../ports/repositories.ts';
import type { ListRequest } from '../../services/images.ts';

const sortKeys: SortKey[] = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
const inColumns = new Set<ImageColumn>(['name', 'id', 'status', 'container_format', 'disk_format']);
const exactColumns = new Set<ImageColumn>(['owner', 'checksum', 'os_hash_value', 'os_hash_algo', 'size', 'min_ram',
  'min_disk', 'virtual_size', 'protected']);
const numericColumns = new Set<ImageColumn>(['size', 'min_ram', 'min_disk', 'virtual_size']);
const timeOps = new Set(['gt', 'gte', 'lt', 'lte', 'eq', 'neq']);
const visibilities = ['public', 'private', 'shared', 'community', 'all'] as const;
const memberStatuses = ['pending', 'accepted', 'rejected', 'all'] as const;
const paging = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort']);

/** Splits `in:` values: commas separate, double quotes protect commas (`in:a,"b, c"`). */
export function splitInList(text: string): string[] {
  const values: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close === -1 || (close + 1 < text.length && text[close + 1] !== ',')) {
        throw badRequest('Invalid filter value {value}. The quote is not closed.', { value: text }, 'list.bad_quote');
      }
      values.push(text.slice(i + 1, close));
      i = close + 2;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) {
        throw badRequest('Invalid filter value {value}. There is no comma before opening quotation mark.',
          { value: text }, 'list.bad_quote');
      }
      values.push(value);
      i = end + 1;
    }
  }
  return values;
}

function parseInt10(value: string, name: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw badRequest('{name} param must be an integer', { name }, 'list.bad_int');
  const n = Number(value);
  if (n < 0) throw badRequest('{name} param must be positive', { name }, 'list.negative');
  return n;
}

function parseTime(column: ImageColumn, raw: string): ListFilter {
  let op = 'eq';
  let text = raw;
  const colon = raw.indexOf(':');
  if (colon !== -1 && timeOps.has(raw.slice(0, colon))) {
    op = raw.slice(0, colon);
    text = raw.slice(colon + 1);
  } else if (colon !== -1 && /^[a-z]+$/.test(raw.slice(0, colon))) {
    throw badRequest('Unable to filter on a unknown operator.', {}, 'list.bad_operator');
  }
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw badRequest('Bad "{name}" query filter format. Use ISO 8601 DateTime notation.', { name: column },
      'list.bad_time');
  }
  return { kind: 'compare', column, op: op as 'eq', value: date };
}

function parseSorting(pairs: [string, string][]): ListRequest['sort'] {
  const sort = pairs.filter(([k]) => k === 'sort').map(([, v]) => v);
  const keys = pairs.filter(([k]) => k === 'sort_key').map(([, v]) => v);
  const dirs = pairs.filter(([k]) => k === 'sort_dir').map(([, v]) => v);
  const checkKey = (key: string): SortKey => {
    if (!sortKeys.includes(key as SortKey)) {
      throw badRequest('Invalid sort key: {key}. It should be one of the following: {keys}.',
        { key, keys: sortKeys.join(', ') }, 'list.bad_sort_key');
    }
    return key as SortKey;
  };
  const checkDir = (dir: string): SortDir => {
    if (dir !== 'asc' && dir !== 'desc') throw badRequest('Invalid sort direction: {dir}', { dir }, 'list.bad_sort_dir');
    return dir;
  };
  if (sort.length > 0) {
    if (keys.length > 0 || dirs.length > 0) {
      throw badRequest('Old and new sorting syntax cannot be combined', {}, 'list.sort_syntax');
    }
    return sort.join(',').split(',').map((part) => {
      const [key, dir] = part.split(':');
      return { key: checkKey(key!.trim()), dir: checkDir((dir ?? 'desc').trim()) };
    });
  }
  const sortKeyList = keys.length ? keys.map(checkKey) : ['created_at' as SortKey];
  const dirList = dirs.map(checkDir);
  if (dirList.length > 1 && dirList.length !== sortKeyList.length) {
    throw badRequest('Number of sort dirs does not match the number of sort keys', {}, 'list.sort_count');
  }
  return sortKeyList.map((key, i) => ({ key, dir: dirList.length > 1 ? dirList[i]! : (dirList[0] ?? 'desc') }));
}

export function parseListQuery(pairs: [string, string][]): ListRequest {
  const filters: ListFilter[] = [];
  const tags: string[] = [];
  let visibility: ListRequest['visibility'];
  let memberStatus: ListRequest['memberStatus'] = 'accepted';
  let osHidden = false;
  let limit: number | undefined;
  let markerId: string | undefined;
  for (const [key, value] of pairs) {
    // PostgreSQL refuses NUL in text; no image attribute can hold one, so it is bad input.
    if (key.includes('\0') || value.includes('\0')) {
      throw badRequest('Query parameters may not contain NUL characters.', {}, 'list.nul');
    }
    if (key === 'limit') limit = parseInt10(value, 'limit');
    else if (key === 'marker') markerId = value;
    else if (paging.has(key)) continue;
    else if (key === 'changes-since') {
      throw badRequest('The "changes-since" filter is no longer available on v2.', {}, 'list.changes_since');
    } else if (key === 'tag') tags.push(value);
    else if (key === 'visibility') {
      if (!visibilities.includes(value as never)) {
        throw badRequest('Invalid visibility value: {value}', { value }, 'list.bad_visibility');
      }
      visibility = value as ListRequest['visibility'];
    } else if (key === 'member_status') {
      if (!memberStatuses.includes(value as never)) throw badRequest('Invalid status: {value}', { value }, 'list.bad_member_status');
      memberStatus = value as ListRequest['memberStatus'];
    } else if (key === 'os_hidden') {
      if (!/^(true|false)$/i.test(value)) throw badRequest('Invalid value for os_hidden: {value}', { value }, 'list.bad_bool');
      osHidden = value.toLowerCase() === 'true';
    } else if (key === 'protected') {
      if (value !== 'true' && value !== 'false') {
        throw badRequest('Invalid value for protected: {value}', { value }, 'list.bad_bool');
      }
      filters.push({ kind: 'in', column: 'protected', values: [value === 'true'] });
    } else if (key === 'created_at' || key === 'updated_at') filters.push(parseTime(key, value));
    else if (inColumns.has(key as ImageColumn)) filters.push(inFilter(key as ImageColumn, value));
    else if (/_(min|max)$/.test(key) && numericColumns.has(key.slice(0, -4) as ImageColumn)) {
      if (!/^-?\d+$/.test(value)) {
        throw badRequest('Unable to filter on a range with a non-numeric value.', {}, 'list.bad_range');
      }
      filters.push({ kind: 'compare', column: key.slice(0, -4) as ImageColumn, op: key.endsWith('_min') ? 'gte' : 'lte',
        value: Number(value) });
    } else if (exactColumns.has(key as ImageColumn)) {
      const column = key as ImageColumn;
      if (numericColumns.has(column) && !/^\d+$/.test(value)) {
        throw badRequest('Unable to filter on a range with a non-numeric value.', {}, 'list.bad_range');
      }
      filters.push({ kind: 'in', column, values: [numericColumns.has(column) ? Number(value) : value] });
    } else filters.push({ kind: 'property', name: key, value });
  }
  return { filters, tags, visibility, memberStatus, osHidden, limit, markerId, sort: parseSorting(pairs) };
}

function inFilter(column: ImageColumn, value: string): ListFilter {
  const colon = value.indexOf(':');
  const op = colon === -1 ? undefined : value.slice(0, colon);
  if (op === 'in') return { kind: 'in', column, values: splitInList(value.slice(colon + 1)) };
  if (op === 'eq') return { kind: 'in', column, values: [value.slice(colon + 1)] };
  if (op !== undefined && /^[a-z]+$/.test(op) && ['gt', 'gte', 'lt', 'lte', 'neq'].includes(op)) {
    throw badRequest("Unable to filter by unknown operator '{op}'.", { op }, 'list.bad_operator');
  }
  return { kind: 'in', column, values: [value] };
}

/** Query string for `first`/`next` links: Glance rebuilds them from a dict, so repeated keys keep their last value. */
export function linkQuery(pairs: [string, string][], marker?: string): string {
  const dict = new Map<string, string>();
  for (const [k, v] of pairs) dict.set(k, v);
  if (marker === undefined) dict.delete('marker'); else dict.set('marker', marker);
  return new URLSearchParams([...dict]).toString();
}
