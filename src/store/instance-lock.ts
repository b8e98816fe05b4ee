import pg from 'pg';
import { errorMessage, StateStoreError } from '../errors';

/**
 * Who may apply against a state-store schema: one instance alone (it hands
 * tasks to its apply stages in memory, see store/intents.ts) or any number
 * of scale-out instances (each task is a leased outbox row). A PostgreSQL
 * advisory lock on a session of its own says which: exclusive for the single
 * instance, shared for scale-out ones, so the two kinds never run together
 * and a second single instance waits as a standby until the first is gone.
 * The lock ends with its session, so a crashed instance never holds it.
 */
export interface InstanceLockOptions {
  url: string;
  schema: string;
  mode: 'single' | 'scale-out';
  /** How often a standby asks again. */
  retryMs?: number;
  /** Called while waiting (another instance holds the lock), at most every `retryMs`. */
  onWait?: (waitedMs: number) => void;
  /** Called when the lock's session ends and the lock cannot be taken again (another instance took it). */
  onLost?: (reason: string) => void;
  /** Called on a lost session, before it is taken again. */
  onSessionLost?: (reason: string) => void;
}

export class InstanceLock {
  private client: pg.Client | null = null;
  private closed = false;

  private constructor(private readonly o: InstanceLockOptions) {}

  /** Takes the lock, waiting (as a standby) while an instance of the other kind, or another single instance, holds it. */
  static async acquire(o: InstanceLockOptions, signal?: AbortSignal): Promise<InstanceLock> {
    const lock = new InstanceLock(o);
    await lock.take(signal);
    return lock;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (signal?.aborted || this.closed) throw new StateStoreError('stopped while waiting for the state store\'s instance lock', {});
      let client: pg.Client | null;
      try {
        client = await this.tryLock();
      } catch (error) {
        throw new StateStoreError(`cannot take the state store's instance lock: ${errorMessage(error)}`, {}, { cause: error });
      }
      if (client) return this.watch(client);
      this.o.onWait?.(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, this.o.retryMs ?? 2_000));
    }
  }

  /** A session holding the lock, or null when another instance holds it. */
  private async tryLock(): Promise<pg.Client | null> {
    const client = new pg.Client({ connectionString: this.o.url });
    client.on('error', () => {});
    try {
      await client.connect();
      const fn = this.o.mode === 'single' ? 'pg_try_advisory_lock' : 'pg_try_advisory_lock_shared';
      const { rows } = await client.query(`SELECT ${fn}(hashtext($1)) AS taken`, [`tandem apply ${this.o.schema}`]);
      if (rows[0]?.taken === true) return client;
      await client.end().catch(() => {});
      return null;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  /** A session that ends (the state store restarted, the connection terminated) is replaced and the lock taken again. */
  private watch(client: pg.Client): void {
    this.client = client;
    const lost = (reason: string) => {
      if (this.closed || this.client !== client) return;
      this.client = null;
      this.o.onSessionLost?.(reason);
      void this.retake();
    };
    client.removeAllListeners('error');
    client.on('error', (error) => lost(errorMessage(error)));
    client.on('end', () => lost('session ended'));
  }

  private async retake(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const client = await this.tryLock();
        if (this.closed) {
          await client?.end().catch(() => {});
          return;
        }
        if (client) return this.watch(client);
        this.o.onLost?.('another instance took the state store\'s instance lock while this one\'s session was down');
        return;
      } catch {
        // The state store is away: keep trying (the pipeline's own retries wait for it too).
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  async release(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}
