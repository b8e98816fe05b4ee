import { InvalidArgumentError } from 'commander';

/** Commander parser for counts and limits. */
export function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}
