// The librbd binding (native/rbd, decision 0019), loaded on first use. It is optional: `npm ci`
// builds it only where librbd's headers are installed, so without it the rbd store is unavailable
// and everything else works as before.
import { createRequire } from 'node:module';
import { nativeAddonPath } from '../../lib/native-addon.ts';

/** A failed librbd/librados call: `code` is the errno name (ENOENT, EEXIST, EBUSY, ENOSPC, …). */
export interface CephError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export interface RbdImage {
  write(data: Buffer, offset: number): Promise<void>;
  /** Up to `length` bytes at `offset` (fewer at the end of the image). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Fills `target` from `offset` (fewer bytes at the end of the image); the bytes read. */
  readInto(offset: number, target: Buffer): Promise<number>;
  resize(size: number): Promise<void>;
  size(): Promise<number>;
  flush(): Promise<void>;
  snapCreate(name: string): Promise<void>;
  snapProtect(name: string): Promise<void>;
  snapUnprotect(name: string): Promise<void>;
  snapRemove(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface RbdPool {
  /** `features` 0: the cluster's rbd_default_features. */
  create(name: string, size: number, order: number, features: number): Promise<void>;
  open(name: string, snapshot: string | null, readOnly: boolean): Promise<RbdImage>;
  remove(name: string): Promise<void>;
  trashMove(name: string): Promise<void>;
  close(): void;
}

export interface RadosCluster {
  fsid(): string;
  /** A configuration value as librados has it, or null when the option is unknown. */
  confGet(option: string): string | null;
  openPool(name: string): Promise<RbdPool>;
  shutdown(): Promise<void>;
}

export interface Librbd {
  /** `conf` '' = librados' search path; `user` '' = client.admin; `timeout` < 0 = librados' defaults. */
  connect(conf: string, user: string, timeoutSeconds: number): Promise<RadosCluster>;
  librbdVersion(): string;
  FEATURE_LAYERING: number;
}

/** The binding's path: GLIMPSE_RBD_ADDON, else native/rbd/… of this checkout. */
function addonPath(): string | undefined {
  return process.env.GLIMPSE_RBD_ADDON || nativeAddonPath('rbd');
}

let loaded: Librbd | string | undefined;

/** The binding, or why it cannot be used (a sentence for logs and /info/stores). */
export function loadLibrbd(): Librbd | string {
  if (loaded !== undefined) return loaded;
  const path = addonPath();
  if (path === undefined) {
    loaded = 'the librbd binding is not built (install librbd-dev, then run npm run build:rbd)';
    return loaded;
  }
  try {
    loaded = createRequire(import.meta.url)(path) as Librbd;
  } catch (error) {
    loaded = `the librbd binding cannot be loaded: ${(error as Error).message}`;
  }
  return loaded;
}

export function isCephError(error: unknown, ...codes: string[]): error is CephError {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && typeof (error as { syscall?: unknown }).syscall === 'string'
    && (codes.length === 0 || codes.includes(code));
}
