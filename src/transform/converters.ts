import type { Value } from '../capture';
import type { ConverterSpec } from '../config/spec';
import { ConfigError, ConversionError } from '../errors';
import { divide, divideExact, formatDecimal, isZero, multiply, parseDecimal, rescale, type Decimal } from './decimal';
import { zoneConverter } from './timezone';

/**
 * Converters turn a source column's value into the canonical field value and
 * back. A mapping lists them in forward order; backward runs them in reverse,
 * so one list describes both directions. null passes every converter as is:
 * "no value" means the same on both sides.
 */

/** A compiled converter chain. Both directions throw ConversionError. */
export interface Converters {
  /** Source value → canonical value. */
  forward(value: Value): Value;
  /** Canonical value → source value. */
  backward(value: Value): Value;
}

type Step = (value: Value) => Value;
interface Converter {
  forward: Step;
  backward: Step;
}

const identity: Step = (value) => value;

/** Compiles converter specs, checking their options now (ConfigError) so no bad spec surfaces mid-stream. */
export function compileConverters(specs: readonly ConverterSpec[]): Converters {
  const steps = specs.map(compileOne);
  return {
    forward: (value) => steps.reduce((v, step) => (v === null ? v : step.forward(v)), value),
    backward: (value) => steps.reduceRight((v, step) => (v === null ? v : step.backward(v)), value),
  };
}

function compileOne(spec: ConverterSpec): Converter {
  if (typeof spec === 'string') return textConverter(spec);
  if ('decimal' in spec) return decimalConverter(spec.decimal.scale);
  if ('enum' in spec) return enumConverter(spec.enum);
  if ('factor' in spec) return factorConverter(spec.factor);
  return timezoneConverter(spec.timezone);
}

/** Case and blank handling is one-way: the canonical form is what a target accepts as written. */
function textConverter(name: 'trim' | 'upper' | 'lower' | 'empty-to-null'): Converter {
  switch (name) {
    case 'trim':
      return { forward: onText(name, (s) => s.trim()), backward: identity };
    case 'upper':
      return { forward: onText(name, (s) => s.toUpperCase()), backward: identity };
    case 'lower':
      return { forward: onText(name, (s) => s.toLowerCase()), backward: identity };
    case 'empty-to-null':
      return { forward: (v) => (v === '' ? null : v), backward: identity };
  }
}

function onText(name: string, fn: (text: string) => string): Step {
  return (value) => {
    if (typeof value !== 'string') throw new ConversionError(`${name} expects text, got ${show(value)}`);
    return fn(value);
  };
}

/**
 * Decimal with a fixed scale. Forward pads, or rounds half away from zero when
 * the source has more digits; backward hands the canonical text back as is.
 */
function decimalConverter(scale: number): Converter {
  return {
    forward: (value) => formatDecimal(rescale(decimalOf(value, 'decimal'), scale)),
    backward: identity,
  };
}

/** Enum map, source value → canonical value. Non-text source values (1, true) are looked up by their text. */
function enumConverter(map: Record<string, string>): Converter {
  const inverse = invert(map);
  const lookUp = (table: Map<string, string>, side: string): Step => (value) => {
    const key = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    const found = typeof key === 'string' ? table.get(key) : undefined;
    if (found === undefined) {
      throw new ConversionError(`enum: ${show(value)} is not a known ${side} value (known: ${[...table.keys()].map(show).join(', ')})`);
    }
    return found;
  };
  return { forward: lookUp(new Map(Object.entries(map)), 'source'), backward: lookUp(inverse, 'canonical') };
}

function invert(map: Record<string, string>): Map<string, string> {
  const inverse = new Map<string, string>();
  for (const [source, canonical] of Object.entries(map)) {
    const other = inverse.get(canonical);
    if (other !== undefined) {
      throw new ConfigError(`enum map is not invertible: source values ${show(other)} and ${show(source)} both map to ${show(canonical)}`);
    }
    inverse.set(canonical, source);
  }
  return inverse;
}

/**
 * Unit of measure: canonical = source × factor, exactly (scale = source scale
 * + factor scale: '1.5' × 12 → '18.0'). Backward divides: exact when the
 * quotient terminates (at its smallest scale: '18.0' ÷ 12 → '1.5'), otherwise
 * rounded half away from zero to max(value scale, factor scale) + 6 digits
 * ('1' ÷ 3 → '0.333333'). Numbers in, decimal strings out.
 */
function factorConverter(factorSpec: number | string): Converter {
  const factor = factorOf(factorSpec);
  return {
    forward: (value) => formatDecimal(multiply(decimalOf(value, 'factor'), factor)),
    backward: (value) => {
      const canonical = decimalOf(value, 'factor');
      const fallbackScale = Math.max(canonical.scale, factor.scale) + 6;
      return formatDecimal(divideExact(canonical, factor, fallbackScale) ?? divide(canonical, factor, fallbackScale));
    },
  };
}

function factorOf(spec: number | string): Decimal {
  let factor: Decimal;
  try {
    factor = parseDecimal(spec);
  } catch (cause) {
    throw new ConfigError(`factor ${show(spec)} is not a decimal number`, {}, { cause });
  }
  if (isZero(factor)) throw new ConfigError('factor must not be 0: the backward conversion divides by it');
  return factor;
}

/** Local time in `zone` (source) ⇄ UTC instant (canonical); see timezone.ts for DST gaps and folds. */
function timezoneConverter(zone: string): Converter {
  const convert = zoneConverter(zone);
  return {
    forward: (value) => convert.toUtc(textOf(value, `timezone ${zone}`)),
    backward: (value) => convert.toLocal(textOf(value, `timezone ${zone}`)),
  };
}

function decimalOf(value: Value, name: string): Decimal {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ConversionError(`${name} expects a number or decimal string, got ${show(value)}`);
  }
  try {
    return parseDecimal(value);
  } catch (cause) {
    // parseDecimal's message names the value and what is wrong with it.
    throw new ConversionError(`${name}: ${cause instanceof Error ? cause.message : String(cause)}`, {}, { cause });
  }
}

function textOf(value: Value, name: string): string {
  if (typeof value !== 'string') throw new ConversionError(`${name} expects a timestamp text, got ${show(value)}`);
  return value;
}

/** A value for an error message, quoted when text so '' and ' ' show. */
export function show(value: Value): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}
