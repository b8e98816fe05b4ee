import { isAbsolute, resolve } from 'node:path';
import type { Knex } from 'knex';
import { readSecret, type AuditConfig } from '../config';
import { ConfigError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { sleep } from '../retry';
import { checkpointsAfter } from '../store';
import { checkpointSigner } from './checkpoint';
import { Checkpointer } from './checkpointer';
import { parseSigningKey } from './keys';
import { FileSink, WebhookSink, type CheckpointSink } from './sinks';

export interface AuditDeps {
  store: Knex;
  schema: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Directory of the configuration file: relative sink paths and secret files are read from it. */
  baseDir: string;
  /** How often the loop looks for due checkpoints and unpublished ones (default 1 s). */
  pollMs?: number;
}

/** The pipeline's audit: the checkpointer the resolve stage anchors with, and the loop that signs on time and publishes. */
export interface AuditRuntime {
  checkpointer: Checkpointer;
  sinks: readonly CheckpointSink[];
  keyId: string;
  /** After a commit that may have written a checkpoint: publish without waiting for the next poll. */
  wake(): void;
  /** Publishes every checkpoint a sink does not hold yet; returns how many were sent in all. */
  publishPending(): Promise<number>;
  run(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export function createAudit(config: AuditConfig, deps: AuditDeps): AuditRuntime {
  const env = deps.env ?? process.env;
  let key;
  try {
    key = parseSigningKey(readSecret(config.signingKey, 'audit.signingKey', env, deps.baseDir));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`audit.signingKey: ${errorMessage(error)}`, { path: 'audit.signingKey' });
  }
  const signer = checkpointSigner(key);
  const checkpointer = new Checkpointer(signer, { rows: config.checkpointEvery.rows, intervalMs: config.checkpointEvery.interval });
  const sinks: CheckpointSink[] = [];
  const stop = new AbortController();
  if (config.sinks.file !== undefined) {
    sinks.push(new FileSink(isAbsolute(config.sinks.file) ? config.sinks.file : resolve(deps.baseDir, config.sinks.file)));
  }
  if (config.sinks.webhook !== undefined) {
    const url = readSecret(config.sinks.webhook, 'audit.sinks.webhook', env, deps.baseDir);
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new ConfigError('audit.sinks.webhook is not an http(s) URL', { path: 'audit.sinks.webhook' });
    sinks.push(new WebhookSink(url, { signal: stop.signal }));
  }

  let wakeUp: (() => void) | null = null;
  // What is failing, and when it was last logged: one line when it starts, then one a minute, and one when it is back.
  const failing = new Map<string, number>();
  function failed(what: string, message: string, context: Record<string, unknown>): void {
    const last = failing.get(what);
    if (last !== undefined && Date.now() - last < 60_000) return;
    failing.set(what, Date.now());
    deps.logger.error(message, context);
  }
  function recovered(what: string, message: string, context: Record<string, unknown>): void {
    if (failing.delete(what)) deps.logger.info(message, context);
  }

  async function publishPending(): Promise<number> {
    let sent = 0;
    for (const sink of sinks) {
      try {
        for (;;) {
          const batch = await checkpointsAfter(deps.store, deps.schema, await sink.published(deps.store, deps.schema), 500);
          if (batch.length === 0) break;
          await sink.publish(batch, deps.store, deps.schema);
          sent += batch.length;
        }
        recovered(sink.name, 'audit checkpoints published again', { sink: sink.name });
      } catch (error) {
        // The checkpoints stay in the state store: the next round sends them.
        failed(sink.name, 'audit checkpoints not published', { sink: sink.name, error: errorMessage(error) });
      }
    }
    return sent;
  }

  async function run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => stop.abort(), { once: true });
    deps.logger.info('conflict log checkpoints on', { keyId: signer.keyId, everyRows: config.checkpointEvery.rows, everyMs: config.checkpointEvery.interval, sinks: sinks.map((s) => s.name) });
    while (!signal.aborted) {
      try {
        if (await checkpointer.tick(deps.store, deps.schema)) deps.logger.debug('conflict log checkpoint signed on time');
        recovered('tick', 'conflict log checkpoints signed again', {});
      } catch (error) {
        failed('tick', 'conflict log checkpoint not signed', { error: errorMessage(error) });
      }
      await publishPending();
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        void sleep(deps.pollMs ?? 1_000, signal).then(resolve);
      });
      wakeUp = null;
    }
  }

  return {
    checkpointer, sinks, keyId: signer.keyId, publishPending, run,
    wake: () => wakeUp?.(),
    close: async () => {
      stop.abort();
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
