// The key manager (castellan's role in Glance): where signing certificates are kept. Glimpse only
// reads certificates, with the caller's own credentials (the key manager checks who may read what).

/** A managed object as castellan describes it: its format ("X.509", "RAW", "Opaque" …) and DER bytes. */
export interface ManagedObject {
  /** castellan's `format`: "X.509" for certificates; other kinds of secret carry other names. */
  format: string;
  /** The object's bytes, DER for certificates (castellan's `get_encoded()`). */
  encoded: Buffer;
}

/** Whose request the key manager serves: the caller's Keystone token and project. */
export interface KeyManagerCaller {
  /** The caller's X-Auth-Token; undefined without Keystone (noauth, trusted headers without a token). */
  authToken?: string;
  projectId: string | null;
  signal?: AbortSignal;
}

export interface KeyManager {
  /** Rejects with ManagedObjectNotFound or KeyManagerFailure. */
  get(caller: KeyManagerCaller, id: string): Promise<ManagedObject>;
}

/** castellan's ManagedObjectNotFoundError: no object with that id (or not one the caller may see). */
export class ManagedObjectNotFound extends Error {
  constructor(readonly id: string) {
    super(`Key not found, uuid: ${id}`);
    this.name = 'ManagedObjectNotFound';
  }
}

/** castellan's KeyManagerError: the key manager could not be asked, or refused (the reason is logged, not shown). */
export class KeyManagerFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyManagerFailure';
  }
}
