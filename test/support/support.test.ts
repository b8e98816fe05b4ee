import { describe, expect, it } from 'vitest';
import { requireEnv, uniqueName, waitFor } from './index';

describe('test support', () => {
  it('requireEnv names the missing variable and how to start the servers', () => {
    delete process.env.TANDEM_TEST_NOT_SET;
    expect(() => requireEnv('TANDEM_TEST_NOT_SET')).toThrow(/TANDEM_TEST_NOT_SET.*npm run services:start/);
  });

  it('uniqueName gives safe, distinct names', () => {
    const a = uniqueName('Order Lines-9');
    expect(a).toMatch(/^order_lines_9_[0-9a-f]{8}$/);
    expect(uniqueName('9x')).toMatch(/^t_9x_/);
    expect(uniqueName('x'.repeat(100)).length).toBeLessThanOrEqual(63);
    expect(uniqueName('p')).not.toBe(uniqueName('p'));
  });

  it('waitFor returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : 0), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('waitFor throws with the message and the last error on timeout', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'never ready' },
      ),
    ).rejects.toThrow(/never ready; last error: boom/);
  });
});
