import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** Service name on every line (coordinator, evaluator, trainer, cli). */
  service: string;
  level?: string;
  /** Fields on every line, e.g. { sweep, trial }. */
  defaults?: Record<string, unknown>;
  /** Human-readable lines instead of JSON (the CLI on a terminal). */
  pretty?: boolean;
  /** Where lines go; stderr by default so stdout stays for command output. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

/** Keys whose values never reach a log line, at any depth. */
const SECRET_KEY =
  /(secret|password|passwd|token|authorization|credential|api[-_]?key|access[-_]?key|private[-_]?key|session)/i;
const REDACTED = '[redacted]';

/** Replaces secret-looking fields; also masks `user:pass@` in URLs. Exported for tests and for error payloads. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') return value.replace(/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1***:***@');
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object' && !(value instanceof Error)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
    return out;
  }
  return value;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = SECRET_KEY.test(key) ? REDACTED : redact(info[key]);
  }
  if (typeof info.message === 'string') info.message = redact(info.message) as string;
  return info;
});

/**
 * A winston logger writing one JSON object per line (timestamp, level, service, message, and the
 * given defaults such as sweep/trial ids) with secrets redacted. Level from `level` or LOG_LEVEL.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = winston.format.combine(
    winston.format.errors({ stack: true }),
    redactFormat(),
    winston.format.timestamp(),
    options.pretty
      ? winston.format.printf((i) => `${String(i.timestamp).slice(11, 19)} ${i.level.padEnd(5)} ${String(i.message)}`)
      : winston.format.json(),
  );
  return winston.createLogger({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    defaultMeta: { service: options.service, ...options.defaults },
    format,
    silent: options.silent ?? false,
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
  });
}
