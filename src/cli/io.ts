import { ConfigError, errorMessage, UsageError } from '../errors';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit';

/** Where a command writes: the process's streams, or a buffer in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/**
 * A reader that stops early (`tandem status | head -1`, `conflicts export |
 * head`) closes the pipe; the next write fails with EPIPE. Like any Unix
 * filter, tandem then ends at once, quietly, with exit 0: the reader got what
 * it asked for. Installed once for the process's streams by main().
 */
export function endQuietlyOnBrokenPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr], exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (!brokenPipeIgnored) exit(EXIT_OK);
    });
  }
}

let brokenPipeIgnored = false;

/**
 * For the long-running commands (`run`, `demo`): a log reader that goes away
 * must neither stop the sync service abruptly (its supervisor would read the
 * exit 0 as a clean stop) nor leave the demo's database running; what they
 * would have printed is dropped and they go on until they are stopped.
 */
export function keepRunningOnBrokenPipe(): void {
  brokenPipeIgnored = true;
}

/** An Io that keeps what is written, for running commands in-process. */
export function bufferIo(): Io & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (t) => void out.push(t), err: (t) => void err.push(t), stdout: () => out.join(''), stderr: () => err.join('') };
}

/**
 * Runs a command body and turns what it throws into a message and an exit
 * code, so in-process callers (tests) get the same codes as the binary.
 */
export async function runReporting(io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError) {
      const { file, path } = error.context;
      const where = [file, path].filter(Boolean).join(': ');
      io.err(`tandem: configuration error${where ? ` in ${where}` : ''}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.err(`tandem: ${errorMessage(error)}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** A plain text table: headers, a rule, and left-aligned columns. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('');
}
