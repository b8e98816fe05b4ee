import { randomBytes } from 'node:crypto';

/** `<prefix>_<8 random hex>`, lower case, only [a-z0-9_], at most 63 characters. */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 't';
  const safe = /^[a-z_]/.test(clean) ? clean : `t_${clean}`;
  return `${safe.slice(0, 54)}_${randomBytes(4).toString('hex')}`;
}
