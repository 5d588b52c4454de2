// Failures of remote stores (Swift, S3, HTTP) → the store port's typed errors. Messages are ours
// and carry no URL, token or credential: the reason may reach clients (writer.ts) and logs.
import { StoreError } from '../ports/store.ts';

export type RemoteOperation = 'read' | 'write' | 'delete' | 'auth';

/** An HTTP status from a store that is not success → StoreError (404 missing, 413/507 full, rest unavailable). */
export function storeErrorFromStatus(status: number, operation: RemoteOperation, what = 'image store'): StoreError {
  if (status === 404 && operation !== 'auth' && operation !== 'write') {
    return new StoreError('StoreNotFound', 'Image not found in the image storage media.');
  }
  if (status === 413 || status === 507) {
    return new StoreError('StoreFull', `The ${what} refused the data: quota exceeded or storage full (HTTP ${status}).`);
  }
  if (status === 401 || status === 403) {
    return new StoreError('StoreUnavailable', `The ${what} denied access (HTTP ${status}); check the store credentials.`);
  }
  return new StoreError('StoreUnavailable', `The ${what} failed to ${verb(operation)} (HTTP ${status}).`);
}

/** Network-level failures (refused, reset, timeout, DNS, an untrusted TLS certificate) → StoreUnavailable; anything else unchanged. */
export function storeErrorFromNetwork(error: unknown, what = 'image store'): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof code === 'string' && /CERT|SSL|TLS|UNABLE_TO_VERIFY/.test(code)) {
    return new StoreError('StoreUnavailable', `The ${what} is unreachable: its TLS certificate is not trusted (${code}); `
      + 'check the store\'s CA certificate option.', { cause: error });
  }
  if (typeof code === 'string' && (/^E[A-Z]+$/.test(code) || code.startsWith('UND_ERR_'))
    || name === 'TimeoutError' || name === 'ConnectTimeoutError' || name === 'SocketError') {
    return new StoreError('StoreUnavailable', `The ${what} is unreachable (${typeof code === 'string' ? code : String(name)}).`,
      { cause: error });
  }
  return error;
}

function verb(operation: RemoteOperation): string {
  return { read: 'read the image data', write: 'store the image data', delete: 'delete the image data', auth: 'authenticate' }[operation];
}

/** `scheme://user:secret@host/…` → `scheme://host/…`: locations shown in logs and responses never carry credentials. */
export function redactLocation(location: string): string {
  // Glance's legacy swift locations may hold keys with "/" in them, so cut up to the last "@".
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(location);
  const at = location.lastIndexOf('@');
  if (!scheme || at < scheme[0].length) return location;
  return scheme[0] + location.slice(at + 1);
}
