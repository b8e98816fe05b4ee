/**
 * Whether a target column can hold every value a source column can send,
 * judged from the two types alone. Pure: catalog facts in, a reason out.
 */
import type { ColumnInfo } from './catalog';

/** Why some values of `from` cannot be written into `to` unchanged, or null when all can. */
export function capacityProblem(from: ColumnInfo, to: ColumnInfo): string | null {
  if (from.family === 'text' && to.family !== 'text' && to.family !== 'other') {
    return `text values that are not valid ${to.family === 'integer' || to.family === 'decimal' || to.family === 'float' ? 'numbers' : `${to.family}s`} for ${to.type} will be rejected`;
  }
  switch (to.family) {
    case 'text':
      if (from.family !== 'text' || to.length === null) return null;
      if (from.length === null) return `values longer than ${to.length} characters will be rejected (the source is unbounded)`;
      return from.length > to.length ? `values longer than ${to.length} characters will be rejected` : null;
    case 'integer':
      return intoInteger(from, to);
    case 'decimal':
      return intoDecimal(from, to);
    case 'float':
      if (from.family === 'decimal' && (from.precision === null || from.precision > 15)) return 'decimals of more than 15 significant digits are rounded by the target (the systems then hold different values)';
      if (from.family === 'integer' && from.range !== null && digits(from.range) > 15) return 'integers of more than 15 digits are rounded by the target (the systems then hold different values)';
      return null;
    case 'timestamp':
    case 'time':
      if (from.dialect === 'mysql' && from.dataType === 'time' && to.dialect !== 'mysql' && to.family === 'time') {
        return 'MariaDB/MySQL TIME values that are negative or of 24 hours and more will be rejected (a PostgreSQL interval column holds them all)';
      }
      if ((from.family === 'timestamp' || from.family === 'time') && from.fractionDigits !== null && to.fractionDigits !== null && from.fractionDigits > to.fractionDigits) {
        return `fractional seconds beyond ${to.fractionDigits} digit${to.fractionDigits === 1 ? '' : 's'} are cut or rounded by the target (the systems then hold different values)`;
      }
      return null;
    case 'date':
      return from.family === 'timestamp' ? 'the time of day is dropped by the target (the systems then hold different values)' : null;
    default:
      return null;
  }
}

function intoInteger(from: ColumnInfo, to: ColumnInfo): string | null {
  const range = to.range!;
  switch (from.family) {
    case 'integer':
      return from.range!.min < range.min || from.range!.max > range.max ? `values outside ${range.min}..${range.max} will be rejected` : null;
    case 'decimal':
      if (from.scale === null || from.scale > 0) return 'values with a fraction will be rejected or rounded';
      return from.precision! > digits(range) - 1 ? `values outside ${range.min}..${range.max} will be rejected` : null;
    case 'float':
      return 'values with a fraction, or beyond the integer range, will be rejected or rounded';
    default:
      return null;
  }
}

function intoDecimal(from: ColumnInfo, to: ColumnInfo): string | null {
  if (to.precision === null) return null;
  const toScale = to.scale ?? 0;
  const toWhole = to.precision - toScale;
  switch (from.family) {
    case 'decimal': {
      if (from.precision === null) return `unconstrained decimals: values of more than ${toWhole} integer digits will be rejected, digits beyond the ${toScale}. decimal are rounded`;
      const fromScale = from.scale ?? 0;
      const problems: string[] = [];
      if (from.precision - fromScale > toWhole) problems.push(`values of more than ${toWhole} integer digits will be rejected`);
      if (fromScale > toScale) problems.push(`digits beyond the ${toScale}. decimal are rounded by the target (the systems then hold different values)`);
      return problems.length > 0 ? problems.join('; ') : null;
    }
    case 'integer':
      return digits(from.range!) > toWhole ? `values of more than ${toWhole} digits will be rejected` : null;
    case 'float':
      return `floating-point values are rounded to ${toScale} decimals by the target`;
    default:
      return null;
  }
}

/** Decimal digits of the largest magnitude in the range. */
function digits(range: { min: bigint; max: bigint }): number {
  const magnitude = -range.min > range.max ? -range.min : range.max;
  return magnitude.toString().length;
}
