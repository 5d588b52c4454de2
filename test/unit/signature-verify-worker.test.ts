// The signature check on a worker thread (src/signature/verify-worker.ts, decision 0032): every byte
// reaches the verdict through the shared ring, also when the data is many times the ring and the
// producer must wait; a tampered last byte fails; an aborted job gives its worker back; when every
// worker is busy the verifier checks on the event loop instead, with the same verdicts.
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAX_WORKERS, offloadVerify } from '../../src/signature/verify-worker.ts';
import { createVerifier, signatureProperties } from '../../src/signature/verifier.ts';
import type { KeyManager } from '../../src/ports/key-manager.ts';
import { makeSigningKey, signImage } from '../helpers/signing.ts';

const key = makeSigningKey('RSA-PSS');
const publicKey = new X509Certificate(key.certificatePem).publicKey;
const data = randomBytes(5 * 1024 * 1024 + 12_345); // 2.5 rings and a partial slot
const signature = Buffer.from(signImage(key, 'SHA-256', data), 'base64');
const saltLength = Math.ceil((2048 - 1) / 8) - 32 - 2;

/** Feeds `bytes` in 64 KiB chunks as the upload stage does: waits whenever update() returns a promise. */
async function feed(target: { update(chunk: Buffer): void | Promise<void> }, bytes: Buffer): Promise<number> {
  let waits = 0;
  for (let at = 0; at < bytes.length; at += 65_536) {
    const wait = target.update(bytes.subarray(at, at + 65_536));
    if (wait !== undefined) {
      waits++;
      await wait;
    }
  }
  return waits;
}

describe('signature verification on a worker thread', () => {
  it('sees every byte through the ring, with backpressure, and refuses a tampered last byte', async () => {
    const good = offloadVerify({ hash: 'sha256', key: publicKey, signature, saltLength });
    assert.ok(good, 'a worker is free');
    await feed(good, data);
    assert.equal(await good.verdict(), true);

    const tampered = Buffer.from(data);
    tampered[tampered.length - 1]! ^= 1;
    const bad = offloadVerify({ hash: 'sha256', key: publicKey, signature, saltLength })!;
    await feed(bad, tampered);
    assert.equal(await bad.verdict(), false);
  });

  it('an aborted job frees its worker, also while the producer waits for room', async () => {
    for (let i = 0; i < MAX_WORKERS + 1; i++) {
      const job = offloadVerify({ hash: 'sha256', key: publicKey, signature, saltLength });
      assert.ok(job, `a worker is free for job ${i}`);
      // Fill the ring without waiting: the last update may be pending when the job is aborted.
      const pending: Array<Promise<void>> = [];
      for (let at = 0; at < data.length && pending.length === 0; at += 65_536) {
        const wait = job.update(data.subarray(at, at + 65_536));
        if (wait) pending.push(wait);
      }
      job.abort();
      await Promise.allSettled(pending);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('verifies on the event loop when every worker is busy, with the same verdicts', async () => {
    const busy = Array.from({ length: MAX_WORKERS }, () => offloadVerify({ hash: 'sha256', key: publicKey, signature, saltLength }));
    assert.ok(busy.every(Boolean));
    assert.equal(offloadVerify({ hash: 'sha256', key: publicKey, signature, saltLength }), undefined, 'no worker is left');
    const km: KeyManager = { get: async () => ({ format: 'X.509', encoded: new X509Certificate(key.certificatePem).raw }) };
    const props = signatureProperties({ img_signature: signature.toString('base64'), img_signature_hash_method: 'SHA-256',
      img_signature_key_type: 'RSA-PSS', img_signature_certificate_uuid: 'c' })!;
    const inline = await createVerifier(km, { authToken: 't', projectId: 'p' }, props);
    assert.equal(await feed(inline, data), 0, 'the inline verifier never makes the caller wait');
    await inline.verify();
    for (const job of busy) job!.abort();
  });
});
