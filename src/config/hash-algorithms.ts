// `hashing_algorithm` values are Python hashlib names, because Glance stores the name verbatim in
// an image's `os_hash_algo` and clients (glanceclient, Nova) pass it back to hashlib. Node's crypto
// spells some of them differently; this table maps one onto the other.
import { getHashes } from 'node:crypto';

const glanceToNode: Readonly<Record<string, string>> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

/** Every name Glimpse knows how to map, whether or not this Node build supports it (stable, for docs). */
export const HASH_ALGORITHM_NAMES: readonly string[] = Object.keys(glanceToNode);

/** The subset this Node build (its OpenSSL, FIPS mode …) can compute. */
export function supportedHashAlgorithms(): string[] {
  const available = new Set(getHashes());
  return HASH_ALGORITHM_NAMES.filter((name) => available.has(glanceToNode[name]!));
}

/** Node's `crypto.createHash` name for a Glance/hashlib algorithm name; throws for an unknown name. */
export function nodeHashName(glanceName: string): string {
  const name = glanceToNode[glanceName];
  if (name === undefined) throw new Error(`unknown hashing algorithm ${JSON.stringify(glanceName)}`);
  return name;
}
