/**
 * What Debezium cannot carry exactly even with the recommended settings, as
 * the matrix asserts it (the documented conversion, see the README's
 * "Types and exact values"). Starts empty: every difference found is added
 * here with its reason, never silently.
 */
import type { Matrix } from './columns';

export function PG_DEBEZIUM_EXPECTATIONS(matrix: Matrix): Matrix {
  return matrix;
}

export function MY_DEBEZIUM_EXPECTATIONS(matrix: Matrix): Matrix {
  return matrix;
}
