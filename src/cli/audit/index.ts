import type { Command } from 'commander';

/** `tandem audit …`: keys for signing conflict-log checkpoints. */
export function addAuditCommands(program: Command, setExit: (code: number) => void): void {
  const audit = program.command('audit').description('Keys for the signed checkpoints that anchor the conflict log (see audit in the configuration).');

  audit.command('keygen')
    .description('Make a new Ed25519 key pair for audit.signingKey. Without options both keys are printed (PEM); with them they are written to new files (the private one readable by its owner only) and only the public key is printed.')
    .option('--private-key <file>', 'write the private key (PEM, PKCS#8) to this new file, mode 0600')
    .option('--public-key <file>', 'write the public key (PEM, SPKI) to this new file')
    .action(async (opts: { privateKey?: string; publicKey?: string }) => {
      const { runAuditKeygen } = await import('./keygen');
      setExit(await runAuditKeygen(opts));
    });
}
