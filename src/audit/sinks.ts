import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Knex } from 'knex';
import { AuditSinkError } from '../errors';
import { withRetry, type RetryPolicy } from '../retry';
import { saveSinkProgress, sinkProgress } from '../store';
import { formatCheckpointLine, parseCheckpointLine, type PublishedCheckpoint } from './checkpoint';

/**
 * Where signed checkpoints are kept outside the state store. Each sink knows
 * how far it got, so checkpoints written while it was away (or before a
 * crash) are sent when it is back, in order.
 */
export interface CheckpointSink {
  /** For log lines; never holds a secret. */
  readonly name: string;
  /** The id of the newest checkpoint the sink holds ('0' for none). */
  published(knex: Knex, schema: string): Promise<string>;
  publish(checkpoints: readonly PublishedCheckpoint[], knex: Knex, schema: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * One JSON line per checkpoint, appended (O_APPEND) and fsynced before the
 * sink counts it as published. The file itself says how far it got: its last
 * line's id. A file rotated or removed while tandem runs is noticed, and the
 * new file receives every checkpoint from the first, so each file is complete
 * on its own. Several instances writing one file may repeat a line; verify
 * accepts identical repeats.
 */
export class FileSink implements CheckpointSink {
  readonly name: string;
  private handle: FileHandle | null = null;
  private last: string | null = null;

  constructor(private readonly path: string) {
    this.name = `file ${path}`;
  }

  async published(): Promise<string> {
    if (this.handle && !(await this.stillOurs(this.handle))) {
      // Rotated or removed under us: the file now at the path says where it stands.
      await this.close();
      this.last = null;
    }
    this.last ??= await lastIdInFile(this.path);
    return this.last;
  }

  private async stillOurs(handle: FileHandle): Promise<boolean> {
    const [open, named] = await Promise.all([handle.stat(), stat(this.path).catch(() => null)]);
    return named !== null && named.ino === open.ino && named.dev === open.dev;
  }

  async publish(checkpoints: readonly PublishedCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    try {
      if (!this.handle) {
        this.handle = await open(this.path, 'a', 0o640);
        await syncDirectory(dirname(this.path));
      }
      await this.handle.write(checkpoints.map((c) => `${formatCheckpointLine(c)}\n`).join(''));
      await this.handle.sync();
    } catch (error) {
      await this.close();
      throw new AuditSinkError(`cannot append to the checkpoint file ${this.path}: ${(error as Error).message}`, { file: this.path }, { cause: error });
    }
    this.last = checkpoints.at(-1)!.id;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => {});
  }
}

/** The id on the last complete line of a checkpoint file ('0' if there is none or no file). */
export async function lastIdInFile(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '0';
    throw new AuditSinkError(`cannot read the checkpoint file ${path}: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    // A torn last line (a crash mid-write) has no id to trust: the line before it counts.
    for (const line of lines.reverse()) {
      try {
        return parseCheckpointLine(line).id;
      } catch {
        continue;
      }
    }
    return '0';
  } finally {
    await handle.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  // A new file's name is durable only once its directory is synced.
  const dir = await open(path, 'r').catch(() => null);
  await dir?.sync().catch(() => {});
  await dir?.close();
}

/** The retries a webhook delivery gets before the sink waits for the next round. */
export const WEBHOOK_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

/**
 * POSTs each checkpoint as JSON, one request per checkpoint, retried with
 * backoff. Delivery is at least once: the receiver can use `id` to drop
 * repeats. How far it got is kept in `audit_sink_progress`. The URL is a
 * secret (it may carry a token) and is never logged.
 */
export class WebhookSink implements CheckpointSink {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly options: { timeoutMs?: number; retry?: RetryPolicy; signal?: AbortSignal } = {},
  ) {}

  published(knex: Knex, schema: string): Promise<string> {
    return sinkProgress(knex, schema, this.name);
  }

  async publish(checkpoints: readonly PublishedCheckpoint[], knex: Knex, schema: string): Promise<void> {
    for (const checkpoint of checkpoints) {
      await withRetry(() => this.post(checkpoint), this.options.retry ?? WEBHOOK_RETRY, { signal: this.options.signal });
      await saveSinkProgress(knex, schema, this.name, checkpoint.id);
    }
  }

  private async post(checkpoint: PublishedCheckpoint): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: formatCheckpointLine(checkpoint),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new AuditSinkError(`the audit webhook could not be reached: ${(error as Error).message}`, {}, { cause: error });
    }
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new AuditSinkError(`the audit webhook answered ${response.status} to checkpoint ${checkpoint.id}`, {});
  }

  async close(): Promise<void> {}
}
