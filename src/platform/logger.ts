export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Whether a logger made with `configured` writes lines of `level`. */
export function logsAt(configured: LogLevel, level: Exclude<LogLevel, 'silent'>): boolean {
  return ORDER[level] >= ORDER[configured];
}

/** Structured JSON lines with stable event names; one line per call. */
export function createLogger(
  level: LogLevel,
  base: LogFields = {},
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  const min = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, event: string, fields?: LogFields): void => {
    if (ORDER[lvl] < min) return;
    const rec: LogFields = { time: new Date().toISOString(), level: lvl, event, ...base, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { name: v.name, message: v.message };
    write(JSON.stringify(rec) + '\n');
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
