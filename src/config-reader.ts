const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks one environment variable at a time; every error names the variable. */
export class Reader {
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  str(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  optStr(name: string): string | undefined {
    return this.raw(name);
  }

  optSecret(name: string, minLength: number): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && v.length < minLength) {
      throw new ConfigError(name, `must be at least ${minLength} characters long`);
    }
    return v;
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    throw new ConfigError(name, `must be true or false, got "${v}"`);
  }

  number(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^-?\d+(\.\d+)?$/.test(v) || !Number.isFinite(n)) throw new ConfigError(name, `must be a number, got "${v}"`);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /** A number, or `none` for no limit. */
  optNumber(name: string, def: number | null, min: number, max: number): number | null {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (/^none$/i.test(v)) return null;
    return this.number(name, 0, min, max);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    const match = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
    if (!match) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${v}"`);
    return match;
  }

  url(name: string, def: string): string {
    const v = this.raw(name) ?? def;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new ConfigError(name, `must be an http(s) URL, got "${v}"`);
    }
    return v.replace(/\/+$/, '');
  }

  /** A `postgres://` URL, or undefined; the error never repeats the URL (it may hold a password). */
  optPostgresUrl(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(name, 'must be a URL such as postgres://user:password@host:5432/database');
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
      throw new ConfigError(name, `must be a postgres:// URL (SQLite is the default without it), got "${u.protocol}"`);
    }
    if (!u.hostname && !u.searchParams.get('host')) throw new ConfigError(name, 'must name a host');
    if (u.pathname.replace(/^\//, '') === '')
      throw new ConfigError(name, 'must name a database (postgres://host/NAME)');
    return v;
  }

  topic(name: string, def: string): string {
    const v = this.raw(name) ?? def;
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(v)) {
      throw new ConfigError(name, `must be a Kafka topic name (letters, digits, ".", "_", "-"), got "${v}"`);
    }
    return v;
  }

  /** `512k`, `16mb`, `1g` or plain bytes. */
  bytes(name: string, def: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const m = /^(\d+)\s*(b|k|kb|m|mb|g|gb)?$/i.exec(v);
    if (!m) throw new ConfigError(name, `must be a size such as 16mb or 1048576, got "${v}"`);
    const mult: Record<string, number> = {
      b: 1,
      k: 1024,
      kb: 1024,
      m: 1024 ** 2,
      mb: 1024 ** 2,
      g: 1024 ** 3,
      gb: 1024 ** 3,
    };
    const n = Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]!;
    if (n < 1024) throw new ConfigError(name, `must be at least 1kb, got "${v}"`);
    return n;
  }

  /** Like bytes(), but 0 is allowed and means "no limit". */
  bytesOrZero(name: string, def: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (/^0+\s*(b|k|kb|m|mb|g|gb)?$/i.test(v)) return 0;
    return this.bytes(name, def);
  }

  /** `500ms`, `30s`, `10m`, `6h`, `7d` or plain milliseconds. */
  duration(name: string, def: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(v);
    if (!m) throw new ConfigError(name, `must be a duration such as 500ms, 30s, 10m, 6h or 7d, got "${v}"`);
    const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR, d: DAY };
    const n = Number(m[1]) * mult[m[2] ?? 'ms']!;
    if (n <= 0) throw new ConfigError(name, `must be greater than zero, got "${v}"`);
    return n;
  }

  keyValues(name: string): Record<string, string> {
    const v = this.raw(name);
    const out: Record<string, string> = {};
    if (v === undefined) return out;
    for (const part of v.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new ConfigError(name, `must be key=value pairs separated by commas, got "${part}"`);
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    return out;
  }
}
