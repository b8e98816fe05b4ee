import { describe, expect, it } from 'vitest';
import { IntentLedger } from '../../src/pipeline/intent-ledger';

const task = (id: string, intent?: string) => ({ id, intent });

describe('IntentLedger', () => {
  it('an intent is deleted once every one of its tasks is settled, whatever the order; twice settled is harmless', async () => {
    const ledger = new IntentLedger();
    ledger.track('i1', ['1', '2', '3']);
    ledger.track('i2', ['4']);
    const removed: string[][] = [];
    const remove = async (ids: string[]) => void removed.push(ids);
    ledger.settle([task('3', 'i1'), task('4', 'i2'), task('4', 'i2')]);
    await ledger.flush(remove);
    expect(removed).toEqual([['i2']]);
    expect(ledger.isOutstanding(task('1', 'i1'))).toBe(true);
    ledger.settle([task('1', 'i1'), task('9'), task('2', 'i1')]);
    expect(ledger.isOutstanding(task('1', 'i1'))).toBe(false);
    expect(ledger.open).toBe(0);
    await ledger.flush(remove);
    await ledger.flush(remove);
    expect(removed).toEqual([['i2'], ['i1']]);
  });

  it('an intent without tasks is settled at once; a delete that fails is tried again', async () => {
    const ledger = new IntentLedger();
    ledger.track('empty', []);
    let fail = true;
    const removed: string[] = [];
    const remove = async (ids: string[]) => {
      if (fail) throw new Error('state store away');
      removed.push(...ids);
    };
    await expect(ledger.flush(remove)).rejects.toThrow('state store away');
    fail = false;
    await ledger.flush(remove);
    expect(removed).toEqual(['empty']);
  });

  it('sweep deletes settled intents as it goes and once more when stopped', async () => {
    const ledger = new IntentLedger();
    const removed: string[] = [];
    const abort = new AbortController();
    const sweeping = ledger.sweep(async (ids) => void removed.push(...ids), 10, abort.signal);
    ledger.track('a', ['1']);
    ledger.settle([task('1', 'a')]);
    for (let i = 0; i < 100 && removed.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(removed).toEqual(['a']);
    ledger.track('b', ['2']);
    ledger.settle([task('2', 'b')]);
    abort.abort();
    await sweeping;
    expect(removed).toEqual(['a', 'b']);
  });
});
