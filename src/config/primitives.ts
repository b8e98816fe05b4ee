import { z } from 'zod';

/**
 * The spec's building blocks that connector schemas (src/connectors/*\/schema.ts)
 * share with the rest of the spec. A leaf module: the spec composes connector
 * schemas, so they cannot import the spec itself.
 */

export const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _; starting with a letter');

/** A secret (connection URL with password, token): read from the environment or a file. */
export const secretRef = z
  .union([
    z.object({ env: z.string().min(1) }).strict(),
    z.object({ file: z.string().min(1) }).strict(),
  ])
  .describe('secret: { env: NAME } or { file: path }');
export type SecretRef = z.infer<typeof secretRef>;
