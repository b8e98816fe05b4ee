import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createConsole } from '../console';
import { createLogger, type Logger } from '../log';
import { startPipeline, type RunningPipeline } from '../pipeline';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { createDemoSchemas } from './schema';
import { seedDemo } from './seed';
import { demoEnv, exportLines } from './shell-env';
import { statusLine, watch } from './status-line';
import { checkConvergence, formatVerdict } from './verdict';
import { runWorkload, type WorkloadRecord } from './workload';

export interface DemoOptions {
  /** Workload duration; absent: until SIGINT. */
  seconds?: number;
  /** Keep the embedded server (and its data) after the verdict until Ctrl-C, for inspection. */
  keep?: boolean;
  /** Structured logs of the pipeline; the demo's own output goes to `print`. */
  log?: Logger;
  /** Lines for the person watching (default: stdout). */
  print?: (line: string) => void;
  seed?: number;
  /** Workload edits per second. */
  rate?: number;
}

export const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;
const DRAIN_TIMEOUT_MS = 5 * 60_000;

/**
 * `tandem demo`: real PostgreSQL, an ERP and a CRM, seeded, edited on both
 * sides at once through the live pipeline, then checked for convergence.
 * Returns the exit code: 0 only when both systems agree.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const interrupt = interruptSignal();
  let server: EmbeddedServer | undefined;
  let pipeline: RunningPipeline | undefined;
  try {
    print('starting embedded PostgreSQL (erp, crm, tandem databases)…');
    server = await startEmbeddedPostgres({ keepData: options.keep ?? false });
    const seed = options.seed ?? 42;
    await createDemoSchemas(server.urls.erp, server.urls.crm);
    const counts = await seedDemo({ erpUrl: server.urls.erp, crmUrl: server.urls.crm, seed });
    print(`seeded (seed ${seed}): ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);

    const env = demoEnv(server);
    Object.assign(process.env, env);
    const loaded = loadConfig(DEMO_CONFIG, { ...process.env, ...env });
    const logFile = resolve(dirname(DEMO_CONFIG), '..', '.tandem', 'demo-pipeline.log');
    rmSync(logFile, { force: true });
    pipeline = await startPipeline(loaded, { logger: options.log ?? createLogger(loaded.config.log.level, { file: logFile }), env: { ...process.env, ...env }, http: createConsole });
    print(`pipeline logs: ${logFile}`);
    const address = pipeline.httpAddress();
    if (address) print(`console: ${address}/  (metrics: ${address}/metrics, port ${new URL(address).port})`);
    const running = pipeline;
    // A pipeline that fails for good ends the workload: nothing would converge.
    let failure: unknown = null;
    running.done.catch((error: unknown) => {
      failure = error ?? new Error('pipeline failed');
      interrupt.abort();
    });

    print('pipeline started; waiting for the initial snapshot to reach both sides…');
    await running.drain({ timeoutMs: SNAPSHOT_TIMEOUT_MS });
    print(`initial snapshot drained: ${statusLine(running.stats(), null, 1)}`);

    const workload = await watch(running, print, () =>
      runWorkload({
        erpUrl: server!.urls.erp, crmUrl: server!.urls.crm, seconds: options.seconds, rate: options.rate, seed,
        signal: interrupt.signal, state: { url: server!.urls.tandem, schema: loaded.config.stateStore.schema },
      }),
    );
    print(workloadSummary(workload));
    if (failure) throw failure;

    print('workload stopped; draining the pipeline…');
    await running.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
    const verdict = await checkConvergence({
      erpUrl: server.urls.erp, crmUrl: server.urls.crm, stateUrl: server.urls.tandem,
      schema: loaded.config.stateStore.schema, config: loaded.config, workload,
    });
    print(formatVerdict(verdict));
    const httpAddress = pipeline.httpAddress();
    if (options.keep) await keepRunning(server, httpAddress ? Number(new URL(httpAddress).port) : null, print);
    return verdict.ok ? 0 : 1;
  } catch (error) {
    print(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    interrupt.dispose();
    await pipeline?.stop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
  }
}


function workloadSummary(w: WorkloadRecord): string {
  const kinds = Object.entries(w.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`);
  const errors = w.errors > 0 ? `\n  workload errors: ${w.errors} (${w.errorSamples.slice(0, 3).join('; ')})` : '';
  return `workload: ${w.operations} edits in ${(w.elapsedMs / 1000).toFixed(1)} s\n  ${kinds.join(', ')}${errors}`;
}

/** SIGINT/SIGTERM end the workload (the demo then drains and judges) instead of killing the process. */
function interruptSignal(): { signal: AbortSignal; abort(): void; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    abort: onSignal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function keepRunning(server: EmbeddedServer, metricsPort: number | null, print: (line: string) => void): Promise<void> {
  print(`\nembedded PostgreSQL kept running on port ${server.port}, the pipeline with it:`);
  for (const [name, url] of Object.entries(server.urls)) print(`  ${name}: ${url}`);
  print('\nto point the CLI at them (tandem status, tandem conflicts list, …), in another shell:');
  for (const line of exportLines(DEMO_CONFIG, server, metricsPort)) print(`  ${line}`);
  print('\npress Ctrl-C to stop them (the data stays under .tandem/demo)');
  const interrupt = interruptSignal();
  await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
  interrupt.dispose();
}
