// Store failures that the port's StoreErrorKind does not (yet) name, and read failures as Glance reports them.
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import { StoreError } from '../ports/store.ts';

// TODO(port): fold into StoreErrorKind as 'Duplicate' (src/ports/store.ts) and drop this class.

/**
 * put() for an image that already has an object in the store (glance_store's `Duplicate`).
 * The existing object is left untouched; the writer reports it as 409.
 */
export class StoreDuplicateError extends Error {
  readonly kind = 'Duplicate' as const;

  constructor(readonly imageId: string, options?: { cause?: unknown }) {
    super(`Image ${imageId} already exists`, options);
    this.name = 'StoreDuplicate';
  }
}

export function isStoreDuplicateError(error: unknown): error is StoreDuplicateError {
  return error instanceof StoreDuplicateError;
}

/**
 * A failed read of image data (download) as Glance reports it: data missing from the store →
 * undefined (the caller answers 204, as Glance does), store unreachable or the location unusable →
 * 503; anything else unchanged.
 */
export function downloadFailure(error: unknown): DomainError | undefined | unknown {
  if (!(error instanceof StoreError)) return error;
  if (error.kind === 'StoreNotFound') return undefined;
  return new DomainError('ServiceUnavailable', 'store.unavailable',
    msg('The image store is unavailable: {reason}', { reason: error.message }), { cause: error });
}
