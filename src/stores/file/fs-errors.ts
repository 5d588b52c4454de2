// Native filesystem failures → the store port's typed errors. Messages are glance_store's, so
// the writer's "Image storage media is full: <reason>" reads like Glance's; they never carry
// paths (the reason reaches clients).
import { StoreError } from '../../ports/store.ts';

export type FsOperation = 'read' | 'write' | 'delete';

const fullCodes = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const deniedCodes = new Set(['EACCES', 'EPERM', 'EROFS']);

const denied: Record<FsOperation, string> = {
  read: 'Permission to read image storage media denied.',
  write: 'Permission to write image storage media denied.',
  delete: 'Permission to delete from image storage media denied.',
};

export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps an fs error to a StoreError: ENOSPC/EDQUOT/EFBIG → StoreFull, EACCES/EPERM/EROFS →
 * StoreUnavailable, ENOENT/ENOTDIR/ELOOP → StoreNotFound (reads and stats only). Anything else is
 * returned unchanged (an internal error for the caller).
 */
export function storeErrorFromFs(error: unknown, operation: FsOperation): unknown {
  const code = errnoCode(error);
  if (code === undefined || error instanceof StoreError) return error;
  if (fullCodes.has(code)) {
    return new StoreError('StoreFull', 'There is not enough disk space on the image storage media.', { cause: error });
  }
  if (deniedCodes.has(code)) return new StoreError('StoreUnavailable', denied[operation], { cause: error });
  // ELOOP: the name is a symlink, which this store never creates and refuses to follow.
  if (operation === 'read' && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP')) {
    return new StoreError('StoreNotFound', 'Image not found in the image storage media.', { cause: error });
  }
  // The data directory (or one above it) was replaced by a file: no write can succeed until fixed.
  if (operation === 'write' && code === 'ENOTDIR') {
    return new StoreError('StoreUnavailable', 'The image storage media is not a directory.', { cause: error });
  }
  return error;
}
