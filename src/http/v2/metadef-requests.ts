// Parsing metadef requests: Glance's read-only attribute check, then the schema documents of
// metadef-schemas.ts (unknown keys → 400), then the query parameters of the lists.
import type { FastifyRequest } from 'fastify';
import { badRequest, forbidden } from '../../domain/errors.ts';
import { readJsonObject } from '../body.ts';
import {
  associationSchema, namespaceSchema, objectSchema, propertySchema, tagListSchema, tagSchema, unnamedPropertySchema,
} from './metadef-schemas.ts';
import { SchemaValidator } from './validator.ts';

export const validators = {
  namespace: new SchemaValidator('namespace', namespaceSchema),
  object: new SchemaValidator('object', objectSchema),
  property: new SchemaValidator('property', propertySchema),
  unnamedProperty: new SchemaValidator('property', unnamedPropertySchema),
  association: new SchemaValidator('resource_type_association', associationSchema),
  tag: new SchemaValidator('tag', tagSchema),
  tags: new SchemaValidator('tags', tagListSchema),
};

const readOnlyWithLinks = ['self', 'schema', 'created_at', 'updated_at'];
const readOnly = ['created_at', 'updated_at'];

/** The JSON body, refused with 403 when it sets a read-only attribute and 400 when the schema refuses it. */
export async function readBody(request: FastifyRequest, validator: SchemaValidator, withLinks = false):
Promise<Record<string, unknown>> {
  const body = await readJsonObject(request);
  for (const key of withLinks ? readOnlyWithLinks : readOnly) {
    if (key in body) throw forbidden("Attribute '{name}' is read-only.", { name: key }, 'metadef.read_only');
  }
  validator.validate(body);
  return body;
}

export function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function checkSortDir(value: string | undefined): 'asc' | 'desc' {
  const dir = value ?? 'desc';
  if (dir !== 'asc' && dir !== 'desc') throw badRequest('Invalid sort direction: {dir}', { dir }, 'list.bad_sort_dir');
  return dir;
}

export function checkSortKey<K extends string>(value: string | undefined, keys: readonly K[]): K {
  const key = value ?? 'created_at';
  if (!keys.includes(key as K)) {
    throw badRequest('Invalid sort key: {key}. It should be one of the following: {keys}.',
      { key, keys: keys.join(', ') }, 'list.bad_sort_key');
  }
  return key as K;
}

/** Glance answers 500 for a non-integer limit on metadef lists; Glimpse answers 400 (decision 0004). */
export function parseLimit(value: string | undefined, zeroAllowed = true): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*[-+]?\d+\s*$/.test(value)) throw badRequest('{name} param must be an integer', { name: 'limit' }, 'list.bad_int');
  const n = Number(value);
  if (n < 0 || (!zeroAllowed && n === 0)) throw badRequest('{name} param must be positive', { name: 'limit' }, 'list.negative');
  return n;
}

export function queryOf(request: FastifyRequest): Map<string, string> {
  const q = request.url.indexOf('?');
  // Like webob's request.params as a dict, the last value of a repeated key wins.
  return new Map(q === -1 ? [] : [...new URLSearchParams(request.url.slice(q + 1))]);
}

export function isTrue(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && ['1', 't', 'true', 'on', 'y', 'yes'].includes(value.trim().toLowerCase());
}
