// Signing keys and X.509 certificates for the image signature tests: made with the openssl CLI
// (Node cannot issue certificates), signed as the openstack CLI / cursive expect — the signature
// over the data's hash, base64-encoded, RSA-PSS with MGF1 over the same hash and the largest salt.
import { constants, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SigningKey {
  keyType: string;
  privateKeyPem: string;
  certificatePem: string;
}

const CURVES: Record<string, string> = {
  ECC_SECP384R1: 'secp384r1', ECC_SECP521R1: 'secp521r1', ECC_SECT409K1: 'sect409k1', ECC_SECT409R1: 'sect409r1',
  ECC_SECT571K1: 'sect571k1', ECC_SECT571R1: 'sect571r1',
};
export const ALL_KEY_TYPES = ['RSA-PSS', 'DSA', ...Object.keys(CURVES)];
export const ALL_HASH_METHODS = ['SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'];

/**
 * A fresh key of `keyType` (cursive's names; 'ED25519' for a type cursive does not know) and a
 * self-signed certificate for it. `days` < 0 makes a certificate that expired that many days ago
 * (made with `openssl ca`, the only openssl 3.0 command that takes explicit dates); `startsInDays` > 0
 * makes one that becomes valid only that many days from now (valid for 30 days from then).
 */
export function makeSigningKey(keyType: string, options: { days?: number; startsInDays?: number } = {}): SigningKey {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-sign-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    let newkey: string[];
    if (keyType === 'RSA-PSS') newkey = ['-newkey', 'rsa:2048'];
    else if (keyType === 'DSA') {
      execFileSync('openssl', ['dsaparam', '-out', join(dir, 'dsa.pem'), '2048'], { stdio: 'ignore' });
      newkey = ['-newkey', `dsa:${join(dir, 'dsa.pem')}`];
    } else if (keyType === 'ED25519') newkey = ['-newkey', 'ed25519'];
    else newkey = ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${CURVES[keyType]}`];
    const days = options.days ?? 30;
    if (days > 0 && !options.startsInDays) {
      execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', String(days),
        '-subj', '/CN=glimpse-signing-test'], { stdio: 'ignore' });
    } else {
      const csr = join(dir, 'req.csr');
      execFileSync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=glimpse-expired'],
        { stdio: 'ignore' });
      const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
      const start = options.startsInDays ? new Date(Date.now() + options.startsInDays * 86_400_000) : undefined;
      const end = start ? new Date(start.getTime() + 30 * 86_400_000) : new Date(Date.now() + days * 86_400_000);
      const begin = start ?? new Date(end.getTime() - 30 * 86_400_000);
      // openssl 3.0 `req -x509` cannot back-date: `ca -selfsign` from a throwaway CA directory can
      const conf = join(dir, 'ca.cnf');
      execFileSync('sh', ['-c', `mkdir -p ${dir}/ca && touch ${dir}/ca/index.txt && echo 01 > ${dir}/ca/serial && cat > ${conf} <<EOF
[ca]
default_ca = d
[d]
dir = ${dir}/ca
database = ${dir}/ca/index.txt
serial = ${dir}/ca/serial
new_certs_dir = ${dir}/ca
default_md = sha256
policy = p
[p]
commonName = supplied
EOF`]);
      execFileSync('openssl', ['ca', '-batch', '-config', conf, '-selfsign', '-keyfile', key, '-in', csr,
        '-out', cert, '-startdate', stamp(begin), '-enddate', stamp(end), '-notext'], { stdio: 'ignore' });
    }
    return { keyType, privateKeyPem: readFileSync(key, 'utf8'), certificatePem: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NODE_HASH: Record<string, string> = { 'SHA-224': 'sha224', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/** The img_signature value for `data` signed with `key` and `hashMethod` (base64). */
export function signImage(key: SigningKey, hashMethod: string, data: Buffer): string {
  const hash = NODE_HASH[hashMethod]!;
  const signature = key.keyType === 'RSA-PSS'
    ? sign(hash, data, { key: key.privateKeyPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN })
    : sign(hash, data, { key: key.privateKeyPem, dsaEncoding: 'der' });
  return signature.toString('base64');
}

/** The four img_signature* properties. */
export function signatureProps(key: SigningKey, hashMethod: string, data: Buffer, certificateId: string, keyType = key.keyType) {
  return {
    img_signature: signImage(key, hashMethod, data), img_signature_hash_method: hashMethod,
    img_signature_key_type: keyType, img_signature_certificate_uuid: certificateId,
  };
}
