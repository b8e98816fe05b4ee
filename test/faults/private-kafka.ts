/**
 * A Kafka broker and Kafka Connect worker of the test's own, started by
 * scripts/kafka.sh with its state in a temporary folder and on free loopback
 * ports, that the test may SIGKILL and start again: the shared test broker
 * must never be killed. The jars come from the same Maven cache as the shared
 * one (scripts/services.sh start has resolved them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/demo/embedded';

const run = promisify(execFile);
const KAFKA_SH = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

export interface PrivateKafka {
  brokers: string[];
  connectUrl: string;
  /** SIGKILL of the broker's JVM: no controlled shutdown, no flush. */
  killBroker(): Promise<void>;
  /** `kafka.sh start`: the broker on its kept data (topics, offsets, Connect's config/offset/status topics), then Connect. */
  start(): Promise<void>;
  /** Stops both and removes the data. */
  destroy(): Promise<void>;
}

export async function startPrivateKafka(): Promise<PrivateKafka> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-kafka-'));
  const [broker, controller, connect] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    TANDEM_SERVICES_DIR: dir,
    TANDEM_KAFKA_PORT: String(broker),
    TANDEM_KAFKA_CONTROLLER_PORT: String(controller),
    TANDEM_CONNECT_PORT: String(connect),
    TANDEM_KAFKA_FRESH: '0',
  };
  const kafkaSh = async (command: string) => {
    try {
      await run('bash', [KAFKA_SH, command], { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`scripts/kafka.sh ${command} (private, in ${dir}) failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  };
  const brokerPid = () => Number(readFileSync(path.join(dir, 'kafka', 'broker.pid'), 'utf8').trim());

  async function killBroker(): Promise<void> {
    const pid = brokerPid();
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }

  await kafkaSh('start');
  return {
    brokers: [`127.0.0.1:${broker}`],
    connectUrl: `http://127.0.0.1:${connect}`,
    killBroker,
    start: () => kafkaSh('start'),
    async destroy() {
      await kafkaSh('stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
