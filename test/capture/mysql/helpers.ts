import mysql from 'mysql2/promise';
import type { ChangeBatch, ChangeEvent, ChangeSource } from '../../../src/capture';
import { createMysqlSource, type MysqlSourceOptions } from '../../../src/capture/mysql';
import { waitFor } from '../../support';

let nextServerId = 0;
/** A replica server id unique to this test process and test. */
export function serverIdFor(): number {
  return 100_000 + (process.pid % 10_000) * 100 + (nextServerId++ % 100);
}

export async function connectTo(url: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({ uri: url, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  await conn.query(`SET time_zone = '+00:00'`);
  return conn;
}

/** Runs a source, collecting its batches (acknowledging each) until stopped. */
export class Collector {
  readonly batches: ChangeBatch[] = [];
  readonly source: ChangeSource;
  error: unknown = null;
  private done: Promise<void>;

  constructor(options: Partial<MysqlSourceOptions> & Pick<MysqlSourceOptions, 'connectionString' | 'tables'>) {
    const source = createMysqlSource({
      system: 'shop', serverId: serverIdFor(), heartbeatMs: 0, snapshot: 'never', maxBatchEvents: 500,
      snapshotted: new Set(), ...options,
    });
    this.source = source;
    this.done = (async () => {
      try {
        for await (const batch of source.batches()) {
          this.batches.push(batch);
          await source.acknowledge(batch.position);
        }
      } catch (error) {
        this.error = error;
      }
    })();
  }

  get events(): ChangeEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  async waitForEvents(n: number, timeoutMs = 20_000): Promise<ChangeEvent[]> {
    await waitFor(() => {
      if (this.error) throw this.error;
      return this.events.length >= n;
    }, { timeoutMs, message: () => `expected ${n} events, have ${this.events.length} (error: ${String(this.error)})` });
    return this.events;
  }

  /** Waits until the stream has started (a write made now is then seen). */
  async started(conn: mysql.Connection, db: string): Promise<void> {
    await conn.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.probe (id INT PRIMARY KEY)`);
    await new Promise((r) => setTimeout(r, 300));
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.done;
  }
}
