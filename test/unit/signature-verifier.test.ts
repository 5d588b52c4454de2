// The signature verifier against cursive's rules, with certificates made by openssl and a FAKE key
// manager (an in-memory map; the real Barbican is exercised in test/integration/signatures.test.ts).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeyManagerFailure, ManagedObjectNotFound, type KeyManager, type ManagedObject } from '../../src/ports/key-manager.ts';
import { createVerifier, decodeSignature, signatureProperties, SignatureVerificationError } from '../../src/signature/verifier.ts';
import { ALL_HASH_METHODS, ALL_KEY_TYPES, makeSigningKey, signImage, type SigningKey } from '../helpers/signing.ts';

class FakeKeyManager implements KeyManager {
  readonly objects = new Map<string, ManagedObject | Error>();
  async get(_caller: unknown, id: string): Promise<ManagedObject> {
    const object = this.objects.get(id);
    if (object === undefined) throw new ManagedObjectNotFound(id);
    if (object instanceof Error) throw object;
    return object;
  }
  addCertificate(id: string, key: SigningKey): void {
    this.objects.set(id, { format: 'X.509', encoded: new X509Certificate(key.certificatePem).raw });
  }
}

const data = Buffer.from('image data '.repeat(10_000));
const caller = { authToken: 'token', projectId: 'p' };

async function verdict(km: KeyManager, props: Record<string, string>, chunks: Buffer[] = [data]): Promise<string> {
  const parsed = signatureProperties(props);
  assert.ok(parsed);
  try {
    const verifier = await createVerifier(km, caller, parsed);
    for (const chunk of chunks) await verifier.update(chunk);
    await verifier.verify();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof SignatureVerificationError, String(error));
    return error.message;
  }
}

function props(key: SigningKey, hashMethod: string, certificateId: string, overrides: Record<string, string> = {}) {
  return {
    img_signature: signImage(key, hashMethod, data), img_signature_hash_method: hashMethod,
    img_signature_key_type: key.keyType, img_signature_certificate_uuid: certificateId, ...overrides,
  };
}

describe('signature verifier (cursive rules)', () => {
  const km = new FakeKeyManager();
  const keys = new Map(ALL_KEY_TYPES.map((type) => [type, makeSigningKey(type)]));
  for (const [type, key] of keys) km.addCertificate(type, key);

  for (const type of ALL_KEY_TYPES) {
    it(`verifies ${type} with SHA-256, in chunks, and refuses a tampered byte`, async () => {
      const key = keys.get(type)!;
      assert.equal(await verdict(km, props(key, 'SHA-256', type), [data.subarray(0, 7), data.subarray(7)]), 'ok');
      const tampered = Buffer.from(data);
      tampered[5000] = tampered[5000]! ^ 1;
      assert.equal(await verdict(km, props(key, 'SHA-256', type), [tampered]), 'Signature verification failed');
    });
  }

  for (const hash of ALL_HASH_METHODS) {
    it(`verifies RSA-PSS and ECC with ${hash}; another hash method than the signer's fails`, async () => {
      for (const type of ['RSA-PSS', 'ECC_SECP521R1', 'DSA']) {
        const key = keys.get(type)!;
        assert.equal(await verdict(km, props(key, hash, type)), 'ok', `${type} ${hash}`);
        const other = hash === 'SHA-256' ? 'SHA-512' : 'SHA-256';
        assert.equal(await verdict(km, props(key, hash, type, { img_signature_hash_method: other })), 'Signature verification failed');
      }
    });
  }

  it('RSA-PSS needs the maximal salt length, as cryptography verifies PSS.MAX_LENGTH', async () => {
    const { sign, constants } = await import('node:crypto');
    const key = keys.get('RSA-PSS')!;
    const shortSalt = sign('sha256', data, { key: key.privateKeyPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      .toString('base64');
    assert.equal(await verdict(km, props(key, 'SHA-256', 'RSA-PSS', { img_signature: shortSalt })), 'Signature verification failed');
  });

  it('gives cursive\'s reasons, in cursive\'s order', async () => {
    const key = keys.get('RSA-PSS')!;
    const good = props(key, 'SHA-256', 'RSA-PSS');
    assert.equal(await verdict(km, { ...good, img_signature: 'abcde' }),
      'Signature verification for the image failed: The signature data was not properly encoded using base64.');
    assert.equal(await verdict(km, { ...good, img_signature_hash_method: 'SHA-1', img_signature_key_type: 'nope' }),
      'Signature verification for the image failed: Invalid signature hash method: SHA-1.');
    assert.equal(await verdict(km, { ...good, img_signature_key_type: 'RSA' }),
      'Signature verification for the image failed: Invalid signature key type: RSA.');
    assert.equal(await verdict(km, { ...good, img_signature_key_type: 'DSA' }),
      'Signature verification for the image failed: Invalid public key type for signature key type: DSA.');
    assert.equal(await verdict(km, { ...good, img_signature_key_type: 'ECC_SECP384R1' }),
      'Signature verification for the image failed: Invalid public key type for signature key type: ECC_SECP384R1.');
    assert.equal(await verdict(km, { ...good, img_signature_certificate_uuid: 'missing' }),
      'Signature verification for the image failed: Certificate not found with ID: missing.');
    km.objects.set('broken', new KeyManagerFailure('down'));
    assert.equal(await verdict(km, { ...good, img_signature_certificate_uuid: 'broken' }),
      'Signature verification for the image failed: Unable to retrieve certificate with ID: broken.');
    km.objects.set('symmetric', { format: 'RAW', encoded: Buffer.alloc(32) });
    assert.equal(await verdict(km, { ...good, img_signature_certificate_uuid: 'symmetric' }),
      'Signature verification for the image failed: Invalid certificate format: RAW.');
    assert.equal(await verdict(km, { ...good, img_signature: '' }),
      'Signature verification for the image failed: Error occurred while creating the verifier.');
    assert.equal(await verdict(km, { ...good, img_signature: Buffer.from('not a signature').toString('base64') }),
      'Signature verification failed');
  });

  it('an ECC key type accepts any elliptic-curve certificate (cursive checks the key class, not the curve)', async () => {
    const key = keys.get('ECC_SECT409K1')!;
    assert.equal(await verdict(km, props(key, 'SHA-384', 'ECC_SECT409K1', { img_signature_key_type: 'ECC_SECP521R1' })), 'ok');
  });

  it('refuses a certificate outside its validity period, with Glance\'s former reasons (cursive 0.2 no longer checks)', async () => {
    const expired = makeSigningKey('RSA-PSS', { days: -10 });
    const validTo = new Date(new X509Certificate(expired.certificatePem).validTo);
    assert.ok(validTo < new Date());
    km.addCertificate('expired', expired);
    const when = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');
    assert.equal(await verdict(km, props(expired, 'SHA-256', 'expired')),
      `Signature verification for the image failed: Certificate is not valid after: ${when(validTo)} UTC.`);
    const future = makeSigningKey('ECC_SECP384R1', { startsInDays: 3 });
    const validFrom = new Date(new X509Certificate(future.certificatePem).validFrom);
    assert.ok(validFrom > new Date());
    km.addCertificate('future', future);
    assert.equal(await verdict(km, props(future, 'SHA-256', 'future')),
      `Signature verification for the image failed: Certificate is not valid before: ${when(validFrom)} UTC.`);
    // checked before the key type, as Glance's get_certificate did
    assert.match(await verdict(km, props(expired, 'SHA-256', 'expired', { img_signature_key_type: 'DSA' })), /not valid after/);
  });
});

describe('signature properties and encoding', () => {
  it('verifies only with all four properties present (any values)', () => {
    const all = { img_signature: '', img_signature_hash_method: '', img_signature_key_type: '', img_signature_certificate_uuid: '' };
    assert.ok(signatureProperties(all));
    for (const name of Object.keys(all)) {
      const some: Record<string, string> = { ...all };
      delete some[name];
      assert.equal(signatureProperties(some), undefined, name);
    }
  });

  it('decodes base64 as Python does without validation', () => {
    assert.deepEqual(decodeSignature('aGVsbG8='), Buffer.from('hello'));
    assert.deepEqual(decodeSignature('aGVs\nbG8=\n'), Buffer.from('hello'));
    assert.deepEqual(decodeSignature('aGVsbG8=trailing'), Buffer.from('hello'));
    assert.deepEqual(decodeSignature('aGVs*bG8h'), Buffer.from('hello!'));
    assert.throws(() => decodeSignature('aGVsbG8'), /not properly encoded/);
    assert.throws(() => decodeSignature('aGVsb'), /not properly encoded/);
    assert.throws(() => decodeSignature('aGVsbG8é'), /not properly encoded/);
  });

  it('unwraps a Python bytes literal of well-formed base64 (Debian 12\'s openstack client sends str(bytes))', () => {
    assert.deepEqual(decodeSignature("b'aGVsbG8='"), Buffer.from('hello'));
    assert.deepEqual(decodeSignature("b'aGVsbG8h'"), Buffer.from('hello!'));
    assert.deepEqual(decodeSignature("b'aGk='"), Buffer.from('hi'));
    // cursive's reading (the b and the quotes as data/skipped) otherwise: not a literal of strict base64
    assert.deepEqual(decodeSignature("b'aGVsbG8'"), Buffer.from("b'aGVsbG8'".replace(/[^A-Za-z0-9+/]/g, ''), 'base64'));
    // Python 3.11: base64.b64decode(b"b'aGVsbG8=='") == base64.b64decode(b'b"aGVsbG8="') == bytes.fromhex('6da195b1b1bc')
    assert.equal(decodeSignature("b'aGVsbG8=='").toString('hex'), '6da195b1b1bc');
    assert.equal(decodeSignature('b"aGVsbG8="').toString('hex'), '6da195b1b1bc');
    assert.throws(() => decodeSignature("b''"), /not properly encoded/);
  });
});
