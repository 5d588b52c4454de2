// The real Barbican of the signature tests (scripts/barbican.sh start): BARBICAN_URL names it.
import assert from 'node:assert/strict';

export const barbicanUrl = process.env.BARBICAN_URL?.replace(/\/+$/, '');

/** Stores a secret in Barbican as `token`'s project; its id. */
export async function storeSecret(token: string, secret: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${barbicanUrl}/v1/secrets`, {
    method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(secret),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { secret_ref: string }).secret_ref.split('/').pop()!;
}

/**
 * Stores a PEM certificate (secret_type certificate); its id. As text/plain by default; `binary`:
 * as application/octet-stream, base64 on the wire (Glance's docs' form, the one castellan reads).
 */
export function storeCertificate(token: string, pem: string, options: { binary?: boolean } = {}): Promise<string> {
  return storeSecret(token, options.binary
    ? { name: 'glimpse-signing-cert', secret_type: 'certificate', payload: Buffer.from(pem).toString('base64'),
      payload_content_type: 'application/octet-stream', payload_content_encoding: 'base64' }
    : { name: 'glimpse-signing-cert', secret_type: 'certificate', payload: pem, payload_content_type: 'text/plain' });
}
