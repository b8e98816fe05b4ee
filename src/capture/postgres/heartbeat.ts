/**
 * Heartbeats: a non-transactional logical message written on a normal
 * connection. It travels through the slot like a change, so when it comes
 * back the source knows it has seen everything before it, even when none of
 * the database's changes are in the publication (a quiet database's slot
 * would otherwise never advance and retain WAL forever).
 */
import type { Client } from 'pg';
import { HEARTBEAT_PREFIX } from './change-decoder';
import { normalClient } from './connection';
import type { LogFn } from './options';

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private client: Client | null = null;
  private busy = false;

  constructor(private readonly connectionString: string, private readonly intervalMs: number, private readonly log: LogFn) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const client = await this.connected();
      await client.query(`SELECT pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]);
    } catch (error) {
      // A failed heartbeat only delays slot advancement; the next tick reconnects.
      this.log('warn', 'heartbeat failed', { error: (error as Error).message });
      const client = this.client;
      this.client = null;
      await client?.end().catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }

  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    const client = normalClient(this.connectionString, 'tandem-heartbeat');
    client.on('error', () => undefined); // surfaced by the next query instead
    await client.connect();
    this.client = client;
    return client;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
