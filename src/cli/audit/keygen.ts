import { writeFileSync } from 'node:fs';
import { generateSigningKeyPair } from '../../audit';
import { UsageError } from '../../errors';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';

export interface KeygenOptions {
  privateKey?: string;
  publicKey?: string;
}

/** `tandem audit keygen`: a new Ed25519 key pair; files are created, never overwritten. */
export async function runAuditKeygen(options: KeygenOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const pair = generateSigningKeyPair();
    if (options.privateKey !== undefined) writeNew(options.privateKey, pair.privatePem, 0o600);
    if (options.publicKey !== undefined) writeNew(options.publicKey, pair.publicPem, 0o644);
    const lines = [`key id: ${pair.keyId}`];
    if (options.privateKey !== undefined) lines.push(`private key written to ${options.privateKey} (audit.signingKey: { file: ${options.privateKey} })`);
    else lines.push('private key (audit.signingKey; keep it secret, e.g. in a file named by { file: … } or an environment variable):', pair.privatePem.trimEnd());
    if (options.publicKey !== undefined) lines.push(`public key written to ${options.publicKey} (tandem conflicts verify --public-key ${options.publicKey})`);
    lines.push('public key (for tandem conflicts verify --public-key; keep a copy away from the state store):', pair.publicPem.trimEnd());
    lines.push(`public key, raw base64: ${pair.publicRaw}`);
    io.out(`${lines.join('\n')}\n`);
    return EXIT_OK;
  });
}

function writeNew(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'EEXIST' ? `${path} exists already: keygen does not overwrite keys` : `cannot write ${path}: ${(error as Error).message}`);
  }
}
