import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Ed25519 keys for signing conflict-log checkpoints.
 *
 * A signing key is either PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`, what
 * `tandem audit keygen` and `openssl genpkey -algorithm ed25519` write) or the
 * raw 32-byte seed in base64. A public key is PEM (SPKI,
 * `-----BEGIN PUBLIC KEY-----`) or the raw 32 bytes in base64.
 */

// DER prefixes that wrap a raw Ed25519 seed / public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function parseSigningKey(text: string): KeyObject {
  const trimmed = text.trim();
  const pem = trimmed.startsWith('-----BEGIN');
  const der = pem ? null : Buffer.concat([PKCS8_PREFIX, rawBytes(trimmed, 'seed')]);
  let key: KeyObject;
  try {
    key = der ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : createPrivateKey(trimmed);
  } catch (error) {
    throw new Error(`not an Ed25519 private key (PEM PKCS#8, or the 32-byte seed in base64): ${(error as Error).message}`);
  }
  return requireEd25519(key, 'private');
}

export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const pem = trimmed.startsWith('-----BEGIN');
  const der = pem ? null : Buffer.concat([SPKI_PREFIX, rawBytes(trimmed, 'public key')]);
  let key: KeyObject;
  try {
    key = der ? createPublicKey({ key: der, format: 'der', type: 'spki' }) : createPublicKey(trimmed);
  } catch (error) {
    throw new Error(`not an Ed25519 public key (PEM SPKI, or the 32 raw bytes in base64): ${(error as Error).message}`);
  }
  // A private key given where the public one is expected still names its public half.
  return requireEd25519(key.type === 'private' ? createPublicKey(key) : key, 'public');
}

/** The raw 32-byte public key. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** A short, stable name of a key pair: the first 16 hex digits of SHA-256 over the raw public key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

export interface GeneratedKeyPair {
  privatePem: string;
  publicPem: string;
  publicRaw: string;
  keyId: string;
}

export function generateSigningKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicRaw: rawPublicKey(publicKey).toString('base64'),
    keyId: keyIdOf(publicKey),
  };
}

function rawBytes(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error(`the ${what} is neither PEM nor base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 32) throw new Error(`a raw Ed25519 ${what} is 32 bytes; this base64 holds ${bytes.length}`);
  return bytes;
}

function requireEd25519(key: KeyObject, kind: 'private' | 'public'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the ${kind} key is ${key.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519`);
  if (key.type !== kind) throw new Error(`expected a ${kind} key, got a ${key.type} key`);
  return key;
}
