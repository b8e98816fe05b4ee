import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicUuid, isTandemOrigin, originSlotName } from '../../src/apply';
import { isTransientDbError } from '../../src/apply/sql-errors';
import { decimalKey, instantKey, sameValue, toMysqlDateTime, toValue } from '../../src/apply/sql-values';
import { UUID_V5 } from './helpers';

describe('value comparison', () => {
  it('compares decimals exactly, whatever the notation', () => {
    expect(sameValue('12.50', '12.5', 'decimal')).toBe(true);
    expect(sameValue('12.50', 12.5, 'decimal')).toBe(true);
    expect(sameValue('1.25e1', '12.5', 'decimal')).toBe(true);
    expect(sameValue('-0.00', '0', 'decimal')).toBe(true);
    expect(sameValue('0012', '12', 'decimal')).toBe(true);
    expect(sameValue('12345678901234567890.1', '12345678901234567890.10000', 'decimal')).toBe(true);
    expect(sameValue('12345678901234567890.1', '12345678901234567890.2', 'decimal')).toBe(false);
    expect(sameValue('1', true, 'decimal')).toBe(true); // MySQL TINYINT(1)
    // Text columns keep text semantics: a zip code is not a number.
    expect(sameValue('01234', '1234', 'other')).toBe(false);
  });

  it('decimal keys agree with numeric equality of safe integers scaled', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat({ max: 12 }), fc.nat({ max: 5 }), (unscaled, scale, pad) => {
        const text = formatScaled(unscaled, scale);
        const padded = scale + pad > 0 ? formatScaled(unscaled * 10n ** BigInt(pad), scale + pad) : text;
        expect(decimalKey(text)).toBe(decimalKey(padded));
        expect(decimalKey(text)).not.toBe(decimalKey(formatScaled(unscaled + 1n, scale)));
      }),
    );
  });

  it('compares timestamps as instants, to the nanosecond', () => {
    expect(sameValue('2024-03-01 10:00:00+00', '2024-03-01T10:00:00Z', 'instant')).toBe(true);
    expect(sameValue('2024-03-01T12:00:00.000+02:00', '2024-03-01T10:00:00Z', 'instant')).toBe(true);
    expect(sameValue('2024-03-01 10:00:00.000000', '2024-03-01T10:00:00', 'instant')).toBe(true);
    expect(sameValue('2024-03-01T10:00:00.000001Z', '2024-03-01T10:00:00Z', 'instant')).toBe(false);
    expect(instantKey('0099-01-01T00:00:00Z')).not.toBe(instantKey('1999-01-01T00:00:00Z'));
    expect(sameValue('infinity', 'infinity', 'instant')).toBe(true);
  });

  it('compares JSON values by content', () => {
    expect(sameValue({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, 'other')).toBe(true);
    expect(sameValue({ a: 1 }, { a: 2 }, 'other')).toBe(false);
    expect(sameValue(['1.0', '2'], ['1', '2.00'], 'decimal')).toBe(true);
  });

  it('turns driver values into Values', () => {
    expect(toValue(Buffer.from([1, 2, 255]))).toBe('AQL/');
    expect(toValue(10n)).toBe('10');
    expect(toValue(new Date('2024-01-02T03:04:05Z'))).toBe('2024-01-02T03:04:05.000Z');
    expect(toValue(undefined)).toBe(null);
  });

  it('writes zoned instants as UTC MySQL datetimes', () => {
    expect(toMysqlDateTime('2024-05-01T10:00:00+02:00')).toBe('2024-05-01 08:00:00');
    expect(toMysqlDateTime('2024-05-01T10:00:00.123400Z')).toBe('2024-05-01 10:00:00.1234');
    expect(toMysqlDateTime('2024-05-01 10:00:00')).toBe('2024-05-01 10:00:00');
    expect(toMysqlDateTime('2024-05-01')).toBe('2024-05-01');
    expect(toMysqlDateTime('not-a-time-02')).toBe('not-a-time-02');
  });
});

describe('deterministic UUIDs', () => {
  it('are valid RFC 4122 version-5 UUIDs, stable per (system, entity, key)', () => {
    const a = deterministicUuid('crm', 'contact', 'erp:42');
    expect(a).toMatch(UUID_V5);
    expect(deterministicUuid('crm', 'contact', 'erp:42')).toBe(a);
    expect(deterministicUuid('crm', 'contact', 'erp:43')).not.toBe(a);
    expect(deterministicUuid('erp', 'contact', 'erp:42')).not.toBe(a);
    expect(deterministicUuid('crm', 'contac', 't\u0000erp:42')).not.toBe(a);
  });
});

describe('replication origin slots', () => {
  it('names slots and recognises only its own', () => {
    expect(originSlotName('tandem', 0)).toBe('tandem');
    expect(originSlotName('tandem', 3)).toBe('tandem:3');
    expect(isTandemOrigin('tandem', 'tandem')).toBe(true);
    expect(isTandemOrigin('tandem', 'tandem:3')).toBe(true);
    expect(isTandemOrigin('tandem', 'tandem_other')).toBe(false);
    expect(isTandemOrigin('tandem', 'tandem:x')).toBe(false);
    expect(isTandemOrigin('tandem', null)).toBe(false);
  });
});

describe('driver error classification', () => {
  it('retries connection loss, deadlocks, serialization and lock timeouts only', () => {
    for (const code of ['ECONNREFUSED', '08006', '40001', '40P01', '55P03', '57P01', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST']) {
      expect(isTransientDbError({ code }), code).toBe(true);
    }
    expect(isTransientDbError({ errno: 1213 })).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }))).toBe(true);
    expect(isTransientDbError(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true);
    for (const code of ['23505', '23503', '22P02', '42P01', '42703', 'ER_DUP_ENTRY', 'ER_NO_SUCH_TABLE', 'EPERM']) {
      expect(isTransientDbError({ code }), code).toBe(false);
    }
    expect(isTransientDbError(new TypeError('bug'))).toBe(false);
  });
});

function formatScaled(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}
