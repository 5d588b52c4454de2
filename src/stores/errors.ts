// Store failures that the port's StoreErrorKind does not (yet) name.
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
