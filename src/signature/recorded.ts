// The signing certificate of an import, read when the import is requested. Glance verifies an
// imported image as its task writes the data, with the request's context (the caller's token);
// Glimpse's import tasks run later, on any node, without the caller's token (it is never stored).
// So POST /import reads the certificate with the caller's token and the task input keeps what the
// key manager answered — the certificate (public data) or that it was missing or unreadable — for
// the task to verify with exactly as an upload would, with cursive's reasons.
import { KeyManagerFailure, ManagedObjectNotFound, type KeyManager, type KeyManagerCaller, type ManagedObject } from '../ports/key-manager.ts';

/** JSON-safe record of one key manager answer (task input `signature_certificate`). */
export interface RecordedCertificate {
  id: string;
  /** castellan format and base64 of the DER bytes, when it was read. */
  format?: string;
  encoded?: string;
  /** 'missing': not found; 'unreadable': the key manager failed or refused. */
  problem?: 'missing' | 'unreadable';
}

export async function recordCertificate(keyManager: KeyManager, caller: KeyManagerCaller, id: string): Promise<RecordedCertificate> {
  try {
    const object = await keyManager.get(caller, id);
    return { id, format: object.format, encoded: object.encoded.toString('base64') };
  } catch (error) {
    if (error instanceof ManagedObjectNotFound) return { id, problem: 'missing' };
    if (error instanceof KeyManagerFailure) return { id, problem: 'unreadable' };
    throw error;
  }
}

export function parseRecordedCertificate(value: unknown): RecordedCertificate | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string') return undefined;
  return {
    id: r.id,
    ...(typeof r.format === 'string' ? { format: r.format } : {}),
    ...(typeof r.encoded === 'string' ? { encoded: r.encoded } : {}),
    ...(r.problem === 'missing' || r.problem === 'unreadable' ? { problem: r.problem } : {}),
  };
}

/** A key manager that answers what was recorded (and knows no other object). */
export class RecordedKeyManager implements KeyManager {
  constructor(private readonly recorded: RecordedCertificate | undefined) {}

  async get(_caller: KeyManagerCaller, id: string): Promise<ManagedObject> {
    const r = this.recorded;
    if (r === undefined || r.id !== id) {
      throw new KeyManagerFailure('the certificate was not read when the import was requested (the properties changed since)');
    }
    if (r.problem === 'missing') throw new ManagedObjectNotFound(id);
    if (r.problem === 'unreadable' || r.format === undefined || r.encoded === undefined) {
      throw new KeyManagerFailure('the key manager could not be read when the import was requested');
    }
    return { format: r.format, encoded: Buffer.from(r.encoded, 'base64') };
  }
}
