// Assertion helper for repository contracts: a predicate for assert.rejects that checks a DomainError's kind and code.
import assert from 'node:assert/strict';
import { isDomainError, type DomainError } from '../../src/domain/errors.ts';

export function errorWith(kind: string, code: string) {
  return (error: unknown) => {
    assert.ok(isDomainError(error), `expected a DomainError, got ${String(error)}`);
    assert.equal((error as DomainError).kind, kind);
    assert.equal((error as DomainError).code, code);
    return true;
  };
}
