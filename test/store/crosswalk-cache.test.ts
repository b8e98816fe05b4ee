import { describe, expect, it } from 'vitest';
import { CrosswalkCache } from '../../src/store';

const link = (entity: string, system: string, localKey: string) => ({ entity, system, localKey, canonicalKey: `${system}:${localKey}` });

describe('CrosswalkCache', () => {
  it('answers both directions, per entity and system, and nothing it was not told', () => {
    const cache = new CrosswalkCache(10);
    cache.remember([link('customer', 'erp', '1'), link('customer', 'crm', '1'), link('order', 'erp', '1')]);
    expect(cache.canonical('customer', 'erp', '1')).toBe('erp:1');
    expect(cache.canonical('customer', 'crm', '1')).toBe('crm:1');
    expect(cache.local('customer', 'erp', 'erp:1')).toBe('1');
    expect(cache.local('customer', 'crm', 'erp:1')).toBeUndefined();
    expect(cache.canonical('contact', 'erp', '1')).toBeUndefined();
  });

  it('stays within its capacity: full, it starts over (a miss only costs a query)', () => {
    const cache = new CrosswalkCache(3);
    cache.remember([link('e', 's', '1'), link('e', 's', '2')]);
    cache.remember([link('e', 's', '2')]); // known already: not counted twice
    cache.remember([link('e', 's', '3')]);
    expect(cache.canonical('e', 's', '1')).toBe('s:1');
    cache.remember([link('e', 's', '4')]);
    expect(cache.canonical('e', 's', '1')).toBeUndefined();
    expect(cache.canonical('e', 's', '4')).toBe('s:4');
  });
});
