import winston from 'winston';

export type Logger = winston.Logger;

const SECRET_KEYS = /pass(word)?|secret|token|authorization|api[-_]?key|credential/i;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@/\s]+)(@)/gi;

/** Removes passwords from connection URLs and values of secret-looking keys. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(URL_PASSWORD, '$1***$3');
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '***' : redact(v, depth + 1);
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = info[key];
    info[key] = SECRET_KEYS.test(key) ? '***' : redact(v);
  }
  if (typeof info.message === 'string') info.message = redact(info.message) as string;
  return info;
});

/**
 * Structured JSON logs, on stderr (stdout is for command output) or, with
 * `file`, appended to that file.
 */
export function createLogger(level: string = process.env.TANDEM_LOG_LEVEL ?? 'info', options: { file?: string } = {}): Logger {
  const transport = options.file
    ? new winston.transports.File({ filename: options.file })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] });
  return winston.createLogger({
    level,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}

/** A logger that drops everything (tests, quiet commands). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
