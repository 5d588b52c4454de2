// Image signature verification as Glance does it with the `cursive` library (signature_utils.py,
// verifiers.py): the four img_signature* properties name a certificate in the key manager, a hash
// method and a key type; the signature is over the hash (that hash method) of the image data, so it
// is checked in one pass as the data streams, and judged once the last byte has passed.
// Checks, reasons and their order are cursive's; the cryptography is node:crypto's (OpenSSL).
import { X509Certificate, constants, createVerify, type KeyObject, type Verify } from 'node:crypto';
import { KeyManagerFailure, ManagedObjectNotFound, type KeyManager, type KeyManagerCaller } from '../ports/key-manager.ts';
import { offloadVerify, type OffloadedVerify } from './verify-worker.ts';

/** cursive's property names. */
export const SIGNATURE_PROPS = {
  signature: 'img_signature',
  hashMethod: 'img_signature_hash_method',
  keyType: 'img_signature_key_type',
  certificateId: 'img_signature_certificate_uuid',
} as const;

/** cursive's HASH_METHODS → node:crypto digest names. */
export const HASH_METHODS: Readonly<Record<string, string>> = {
  'SHA-224': 'sha224', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512',
};

/**
 * cursive's registered key types: RSA-PSS, DSA, and ECC_<curve> for its curves of 384 bits or more
 * (all supported by OpenSSL). As in cursive, an ECC key type checks only that the certificate's key
 * is an elliptic-curve key, not that it is on the named curve.
 */
export const KEY_TYPES: Readonly<Record<string, 'rsa' | 'dsa' | 'ec'>> = {
  'RSA-PSS': 'rsa', DSA: 'dsa',
  ECC_SECT571K1: 'ec', ECC_SECT409K1: 'ec', ECC_SECT571R1: 'ec', ECC_SECT409R1: 'ec', ECC_SECP521R1: 'ec', ECC_SECP384R1: 'ec',
};

export interface SignatureProperties {
  signature: string;
  hashMethod: string;
  keyType: string;
  certificateId: string;
}

/**
 * cursive's should_create_verifier: the properties, when ALL four are present (whatever their
 * values); with any of them missing the data is not verified at all, as in Glance.
 */
export function signatureProperties(properties: Readonly<Record<string, string | null>>): SignatureProperties | undefined {
  const has = (name: string) => Object.prototype.hasOwnProperty.call(properties, name);
  if (!Object.values(SIGNATURE_PROPS).every(has)) return undefined;
  // A null value (a NULL row carried over from Glance) is present but empty: verification then fails.
  const value = (name: string) => properties[name] ?? '';
  return {
    signature: value(SIGNATURE_PROPS.signature), hashMethod: value(SIGNATURE_PROPS.hashMethod),
    keyType: value(SIGNATURE_PROPS.keyType), certificateId: value(SIGNATURE_PROPS.certificateId),
  };
}

/** cursive's SignatureVerificationError: `reason` is cursive's text (shown to the caller). */
export class SignatureVerificationError extends Error {
  /** undefined: the signature itself did not match (Glance's plain "Signature verification failed"). */
  readonly reason: string | undefined;
  constructor(reason: string | undefined, options?: { cause?: unknown }) {
    super(reason === undefined ? 'Signature verification failed'
      : `Signature verification for the image failed: ${reason}.`, options);
    this.name = 'SignatureVerificationError';
    this.reason = reason;
  }
}

/** Sees every byte of the image data in order (update), then says whether the signature holds. */
export interface ImageVerifier {
  /**
   * Shows the next chunk to the verifier. It does not keep `chunk`; a promise means the verifier is
   * behind (its worker's ring is full) and the next chunk must wait for it (backpressure).
   */
  update(chunk: Buffer): void | Promise<void>;
  /** Rejects with SignatureVerificationError when the signature does not match the data. */
  verify(): Promise<void>;
  /** Releases the verifier without a verdict (the upload failed). */
  close(): void;
}

/**
 * cursive's get_verifier: decodes the signature, checks the hash method and key type, fetches the
 * certificate (as the caller), checks its format and key type, and returns a verifier to feed the
 * data to. Rejects with SignatureVerificationError (cursive's reasons) or the key manager's failure.
 */
export async function createVerifier(keyManager: KeyManager, caller: KeyManagerCaller,
  props: SignatureProperties, now = new Date()): Promise<ImageVerifier> {
  const signature = decodeSignature(props.signature);
  const hash = HASH_METHODS[props.hashMethod];
  if (hash === undefined) throw new SignatureVerificationError(`Invalid signature hash method: ${props.hashMethod}`);
  const keyKind = KEY_TYPES[props.keyType];
  if (keyKind === undefined) throw new SignatureVerificationError(`Invalid signature key type: ${props.keyType}`);
  const certificate = await fetchCertificate(keyManager, caller, props.certificateId, now);
  const key = certificate.publicKey;
  if (key.asymmetricKeyType !== keyKind) {
    throw new SignatureVerificationError(`Invalid public key type for signature key type: ${props.keyType}`);
  }
  if (signature.length === 0) throw new SignatureVerificationError('Error occurred while creating the verifier');
  const saltLength = keyKind === 'rsa' ? pssSaltLength(key, hash) : undefined;
  const check = (verifier: Verify): boolean => {
    try {
      return saltLength === undefined
        ? verifier.verify({ key, dsaEncoding: 'der' }, signature)
        : verifier.verify({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
    } catch {
      return false; // a malformed signature (bad DER, wrong length) is a signature that does not match
    }
  };
  // The signature's hash pass runs on a worker thread when one is free (decision 0032), else here.
  // Chosen at the first chunk, so a verifier that never sees data holds no worker.
  let offloaded: OffloadedVerify | undefined;
  let inline: Verify | undefined;
  const start = () => {
    offloaded = offloadVerify({ hash, key, signature, saltLength });
    if (offloaded === undefined) inline = createVerify(hash);
  };
  return {
    update(chunk) {
      if (offloaded === undefined && inline === undefined) start();
      if (offloaded !== undefined) return offloaded.update(chunk);
      inline!.update(chunk);
      return undefined;
    },
    async verify() {
      const valid = offloaded !== undefined ? await offloaded.verdict() : check(inline ?? createVerify(hash));
      if (!valid) throw new SignatureVerificationError(undefined);
    },
    close() {
      offloaded?.abort();
    },
  };
}

/**
 * cursive verifies RSA-PSS with MGF1 over the same hash and salt_length=PSS.MAX_LENGTH, which the
 * `cryptography` library turns into the exact maximum for the key (emLen - hLen - 2), checked strictly.
 */
function pssSaltLength(key: KeyObject, hash: string): number {
  const modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const hashBytes = { sha224: 28, sha256: 32, sha384: 48, sha512: 64 }[hash as 'sha256'];
  return Math.max(0, Math.ceil((modulusBits - 1) / 8) - hashBytes - 2);
}

async function fetchCertificate(keyManager: KeyManager, caller: KeyManagerCaller, id: string, now: Date): Promise<X509Certificate> {
  let object;
  try {
    object = await keyManager.get(caller, id);
  } catch (error) {
    if (error instanceof ManagedObjectNotFound) throw new SignatureVerificationError(`Certificate not found with ID: ${id}`, { cause: error });
    if (error instanceof KeyManagerFailure) {
      throw new SignatureVerificationError(`Unable to retrieve certificate with ID: ${id}`, { cause: error });
    }
    throw error;
  }
  if (object.format !== 'X.509') throw new SignatureVerificationError(`Invalid certificate format: ${object.format}`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(object.encoded);
  } catch (error) {
    throw new SignatureVerificationError(`Unable to load the certificate with ID: ${id}`, { cause: error });
  }
  checkValidityPeriod(certificate, now);
  return certificate;
}

/**
 * The certificate's validity period must include now. cursive 0.2 dropped this check from
 * get_certificate (Glance today accepts an expired certificate: decision 0029); Glimpse keeps it,
 * with the reasons cursive 0.1 / Glance's own signature_utils gave (dates in UTC as Python prints them).
 */
function checkValidityPeriod(certificate: X509Certificate, now: Date): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now < from) throw new SignatureVerificationError(`Certificate is not valid before: ${pythonUtc(from)} UTC`);
  if (now > to) throw new SignatureVerificationError(`Certificate is not valid after: ${pythonUtc(to)} UTC`);
}

/** Python's str() of a naive datetime: `2025-12-01 00:00:00`. */
function pythonUtc(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

const BASE64_ALPHABET = /[A-Za-z0-9+/]/;
/**
 * Python's str() of base64 bytes, `b'<base64>'`: what Debian 12's openstack client (openstackclient 6 +
 * openstacksdk 0.101) sends as img_signature. cursive would decode the `b` as data and fail; the
 * inner text, when it is well-formed base64, is the signature the client made (decision 0029).
 */
const BYTES_LITERAL = /^b'((?=[A-Za-z0-9+/])(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)'$/;

/**
 * A Python bytes literal of well-formed base64 is unwrapped (BYTES_LITERAL); anything else is read as
 * oslo_serialization.base64.decode_as_bytes = Python's non-strict base64 decoding: characters
 * outside the alphabet are skipped, decoding stops at complete padding, and a dangling group is an
 * error — which cursive reports as a signature not properly encoded.
 */
export function decodeSignature(text: string): Buffer {
  const literal = BYTES_LITERAL.exec(text);
  if (literal) return Buffer.from(literal[1]!, 'base64');
  let data = '';
  let pads = 0;
  let padded = false;
  for (const char of text) {
    if (char.charCodeAt(0) > 127) throw notBase64();
    if (char === '=') {
      const quad = data.length % 4;
      if (quad >= 2 && quad + ++pads >= 4) {
        padded = true;
        break;
      }
      continue;
    }
    if (BASE64_ALPHABET.test(char)) {
      data += char;
      pads = 0;
    }
  }
  if (!padded && data.length % 4 !== 0) throw notBase64();
  return Buffer.from(data, 'base64');
}

function notBase64(): SignatureVerificationError {
  return new SignatureVerificationError('The signature data was not properly encoded using base64');
}
