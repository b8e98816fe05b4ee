/**
 * Checkpoint keys and signatures: both key forms load, a signature verifies
 * under its key only, and any change to what was signed breaks it.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkpointSignatureProblem, checkpointSigner, FileSink, formatCheckpointLine, generateSigningKeyPair, keyIdOf, lastIdInFile,
  parseCheckpointLine, parsePublicKey, parseSigningKey, rawPublicKey, type CheckpointClaim,
} from '../../src/audit';

const pair = generateSigningKeyPair();
const signer = checkpointSigner(parseSigningKey(pair.privatePem));
const publicKey = parsePublicKey(pair.publicPem);

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const claim = fc.record({
  seq: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
  hash: hex64,
  time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
});

describe('checkpoint keys', () => {
  it('loads PEM and raw base64 forms of the same key, with the same key id', () => {
    const der = createPrivateKey(pair.privatePem).export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32).toString('base64');
    const fromSeed = checkpointSigner(parseSigningKey(seed));
    expect(fromSeed.keyId).toBe(pair.keyId);
    expect(keyIdOf(parsePublicKey(pair.publicRaw))).toBe(pair.keyId);
    expect(rawPublicKey(publicKey).toString('base64')).toBe(pair.publicRaw);
    // The same seed signs the same bytes (Ed25519 is deterministic).
    const c = { seq: '7', hash: 'a'.repeat(64), time: '2026-01-01T00:00:00.000Z' };
    expect(fromSeed.sign(c).signature).toBe(signer.sign(c).signature);
  });

  it('refuses what is not an Ed25519 key, saying what it expected', () => {
    expect(() => parseSigningKey('c2hvcnQ=')).toThrow(/32 bytes; this base64 holds 5/);
    expect(() => parseSigningKey('not a key!')).toThrow(/neither PEM nor base64/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => parseSigningKey(rsa)).toThrow(/rsa, not Ed25519/);
    expect(() => parseSigningKey(pair.publicPem)).toThrow(/Ed25519 private key/);
    expect(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(/Ed25519 public key/);
  });
});

describe('checkpoint signatures', () => {
  it('verify under the signing key for any claim', () => {
    fc.assert(fc.property(claim, (c) => checkpointSignatureProblem(signer.sign(c), [publicKey]) === null), { numRuns: 200 });
  });

  it('break when any signed field changes', () => {
    const field = fc.constantFrom<keyof CheckpointClaim>('seq', 'hash', 'time');
    fc.assert(fc.property(claim, claim, field, (c, other, f) => {
      fc.pre(c[f] !== other[f]);
      const forged = { ...signer.sign(c), [f]: other[f] };
      return /does not verify/.test(checkpointSignatureProblem(forged, [publicKey]) ?? '');
    }), { numRuns: 200 });
  });

  it('break when the signature is altered in any bit', () => {
    fc.assert(fc.property(claim, fc.nat({ max: 511 }), (c, bit) => {
      const signed = signer.sign(c);
      const bytes = Buffer.from(signed.signature, 'base64');
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      return checkpointSignatureProblem({ ...signed, signature: bytes.toString('base64') }, [publicKey]) !== null;
    }), { numRuns: 200 });
  });

  it('do not verify under another key, even one claiming the same key id', () => {
    const other = generateSigningKeyPair();
    const otherSigner = checkpointSigner(parseSigningKey(other.privatePem));
    const c = { seq: '12', hash: 'b'.repeat(64), time: '2026-11-29T12:00:00.000Z' };
    expect(checkpointSignatureProblem(otherSigner.sign(c), [publicKey])).toMatch(new RegExp(`signed with key ${other.keyId}, which is not among`));
    // A forger who copies our key id still cannot make our key verify their signature.
    expect(checkpointSignatureProblem({ ...otherSigner.sign(c), keyId: pair.keyId }, [publicKey])).toMatch(/does not verify/);
    // Rotated keys: either verifies its own checkpoints.
    expect(checkpointSignatureProblem(otherSigner.sign(c), [publicKey, parsePublicKey(other.publicPem)])).toBeNull();
  });

  it('round-trip through a checkpoint file line', () => {
    fc.assert(fc.property(claim, fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), (c, id) => {
      const published = { ...signer.sign(c), id: String(id) };
      const back = parseCheckpointLine(formatCheckpointLine(published));
      expect(back).toEqual(published);
      return checkpointSignatureProblem(back, [publicKey]) === null;
    }), { numRuns: 100 });
    expect(() => parseCheckpointLine('{"id":"1"}')).toThrow(/"seq" is missing/);
    expect(() => parseCheckpointLine('{"id":"1","seq":"x","hash":"h","time":"t","keyId":"k","signature":"s"}')).toThrow(/not a row id/);
  });
});

describe('checkpoint file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-audit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says how far it got from its last complete line, ignoring a torn one', async () => {
    const file = join(dir, 'checkpoints.jsonl');
    expect(await lastIdInFile(file)).toBe('0');
    const line = (id: string) => formatCheckpointLine({ ...signer.sign({ seq: id, hash: 'c'.repeat(64), time: '2026-11-29T12:00:00.000Z' }), id });
    writeFileSync(file, `${line('1')}\n${line('2')}\n`);
    expect(await lastIdInFile(file)).toBe('2');
    appendFileSync(file, line('3').slice(0, 40));
    expect(await lastIdInFile(file)).toBe('2');
  });

  it('appends fsynced lines, and starts a rotated file over from the first checkpoint', async () => {
    const file = join(dir, 'sink.jsonl');
    const checkpoint = (id: string) => ({ ...signer.sign({ seq: id, hash: 'd'.repeat(64), time: '2026-11-29T12:00:00.000Z' }), id });
    const sink = new FileSink(file);
    try {
      expect(await sink.published()).toBe('0');
      await sink.publish([checkpoint('1'), checkpoint('2')]);
      expect(await sink.published()).toBe('2');
      await sink.publish([checkpoint('3')]);
      expect(readFileSync(file, 'utf8').trim().split('\n').map((l: string) => parseCheckpointLine(l).id)).toEqual(['1', '2', '3']);
      renameSync(file, `${file}.1`);
      expect(await sink.published()).toBe('0');
      await sink.publish([checkpoint('1'), checkpoint('2'), checkpoint('3'), checkpoint('4')]);
      expect(readFileSync(file, 'utf8').trim().split('\n').map((l: string) => parseCheckpointLine(l).id)).toEqual(['1', '2', '3', '4']);
      expect(readFileSync(`${file}.1`, 'utf8').trim().split('\n')).toHaveLength(3);
    } finally {
      await sink.close();
    }
  });
});
