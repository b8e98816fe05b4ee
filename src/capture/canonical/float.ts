/**
 * Floating point values. A finite non-zero-signed number is a JS number;
 * NaN, ±Infinity and -0 have no JSON number form (JSON.stringify(-0) is "0"),
 * so they travel as the strings "NaN", "Infinity", "-Infinity", "-0", which
 * every SQL target accepts as float input.
 */

export function canonicalFloat(n: number): number | string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Object.is(n, -0)) return '-0';
  return n;
}

/** The shortest decimal that reads back as the same float32 (what MySQL and SQL Server print for FLOAT/REAL). */
export function canonicalFloat32(n: number): number | string {
  if (!Number.isFinite(n) || Object.is(n, -0)) return canonicalFloat(n);
  const f = Math.fround(n);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return canonicalFloat(candidate);
  }
  return canonicalFloat(f);
}

const SPECIAL: Record<string, string> = {
  NaN: 'NaN', nan: 'NaN', Infinity: 'Infinity', infinity: 'Infinity', inf: 'Infinity', '+Infinity': 'Infinity',
  '-Infinity': '-Infinity', '-infinity': '-Infinity', '-inf': '-Infinity',
};

/** Float text as a database prints it → the canonical value; null when it is not a float. */
export function canonicalFloatText(text: string): number | string | null {
  const special = SPECIAL[text];
  if (special !== undefined) return special;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return null;
  return canonicalFloat(Number(text));
}
