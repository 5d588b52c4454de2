// Parsing PATCH bodies in Glance's two JSON-patch media types (spec/v2.md §3).
import { DomainError, badRequest } from '../../domain/errors.ts';
import type { PatchOperation } from '../../domain/image-patch.ts';
import { msg } from '../../i18n/message.ts';

export const patchMediaTypes = {
  '2.1': 'application/openstack-images-v2.1-json-patch',
  '2.0': 'application/openstack-images-v2.0-json-patch',
} as const;

/** Which dialect a Content-Type names (parameters such as charset ignored), or 415. */
export function patchDialect(contentType: string | undefined): '2.0' | '2.1' {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === patchMediaTypes['2.1']) return '2.1';
  if (type === patchMediaTypes['2.0']) return '2.0';
  throw new DomainError('UnsupportedMediaType', 'request.media_type',
    msg('The request media type {contentType} is not supported by this server.', { contentType: contentType ?? 'None' }),
    { headers: { 'accept-patch': `${patchMediaTypes['2.0']}, ${patchMediaTypes['2.1']}` } });
}

/**
 * Glance's JSON pointers (images.py _validate_json_pointer / _decode_json_pointer): its checks and
 * messages, then every leading "/" is dropped and each segment unescaped and trimmed. So "//a" names
 * the property "a" and "/" the property "" (as the reference does); "/a/" and "/a//b" are 400.
 */
function decodePointer(path: unknown): string[] {
  if (typeof path !== 'string') {
    throw badRequest('Invalid JSON pointer for this resource: \'{path}\'', { path: String(path) }, 'patch.bad_pointer');
  }
  const bad = (text: string) => badRequest(text, { path }, 'patch.bad_pointer');
  if (!path.startsWith('/')) throw bad('Pointer `{path}` does not start with "/".');
  if (/\/\s*?\//.test(path.slice(1))) throw bad('Pointer `{path}` contains adjacent "/".');
  if (path.length > 1 && path.endsWith('/')) throw bad('Pointer `{path}` end with "/".');
  if (path.slice(1).trim() === '/') throw bad('Pointer `{path}` does not contains valid token.');
  if (/~[^01]/.test(path) || path.endsWith('~')) throw bad('Pointer `{path}` contains "~" not part of a recognized escape sequence.');
  return path.replace(/^\/+/, '').split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~').trim());
}

function checkDepth(path: string[], op: PatchOperation['op']): void {
  const isLocations = path[0] === 'locations';
  const ok = isLocations ? (op === 'replace' ? path.length === 1 : path.length === 2) : path.length === 1;
  if (!ok) {
    throw badRequest('Invalid JSON pointer for this resource: \'{path}\'', { path: `/${path.join('/')}` }, 'patch.bad_pointer');
  }
}

function parseOne(raw: unknown, dialect: '2.0' | '2.1'): PatchOperation {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest('Operations must be JSON objects.', {}, 'patch.bad_operation');
  }
  const item = raw as Record<string, unknown>;
  let op: string;
  let path: unknown;
  if (dialect === '2.1') {
    if (!('op' in item)) throw badRequest("Unable to find '{key}' in JSON Schema change", { key: 'op' }, 'patch.missing');
    op = String(item.op);
    if (!['add', 'remove', 'replace'].includes(op)) {
      throw badRequest("Invalid operation: `{op}`. It must be one of the following: add, remove, replace.", { op },
        'patch.bad_op');
    }
    if (!('path' in item)) throw badRequest("Unable to find '{key}' in JSON Schema change", { key: 'path' }, 'patch.missing');
    path = item.path;
  } else {
    const present = ['add', 'remove', 'replace'].filter((k) => k in item);
    if (present.length !== 1) {
      throw badRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".', {},
        'patch.bad_op');
    }
    op = present[0]!;
    path = item[op];
  }
  // Glance checks the pointer before the value.
  const segments = decodePointer(path);
  checkDepth(segments, op as PatchOperation['op']);
  if (op !== 'remove' && !('value' in item)) {
    throw badRequest('Operation "{op}" requires a member named "value".', { op }, 'patch.missing');
  }
  return { op: op as PatchOperation['op'], path: segments, value: item.value };
}

export function parsePatch(body: unknown, dialect: '2.0' | '2.1'): PatchOperation[] {
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of operation objects.', {}, 'patch.not_array');
  return body.map((item) => parseOne(item, dialect));
}
