// Shared pieces of the property protection tests: callers and throwaway files.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyCredentials } from '../../src/ports/policy.ts';
import { PropertyProtectionError } from '../../src/policy/property-protections.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-propprot-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** Writes `lines` to a fresh file and returns its path. */
export function protectionFile(lines: string[], ext = 'conf'): string {
  const path = join(dir, `protections-${++counter}.${ext}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export function caller(roles: string[], serviceRoles: string[] = [], projectId = 'p1'): PolicyCredentials {
  return {
    userId: 'u1', projectId, roles, serviceRoles, userDomainId: 'default', projectDomainId: 'default',
    isAdmin: roles.includes('admin'),
  };
}

export const admin = caller(['admin', 'member', 'reader']);
export const member = caller(['member', 'reader']);
export const stranger = caller(['reader']);

/** A section with the four options. */
export function section(pattern: string, create: string, read: string, update: string, del: string): string[] {
  return [`[${pattern}]`, `create = ${create}`, `read = ${read}`, `update = ${update}`, `delete = ${del}`, ''];
}

export function loadError(fn: () => unknown): PropertyProtectionError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PropertyProtectionError, `expected PropertyProtectionError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PropertyProtectionError');
}
