import { ValidationError } from './errors';

/**
 * Small, explicit validators for JSON bodies and query strings. Each throws a ValidationError
 * naming the field (and the batch index, where there is one); none fills in a silent default
 * for a value that was given but is wrong.
 */
export class Fields {
  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly index?: number,
    private readonly prefix = '',
  ) {}

  static of(value: unknown, what: string, index?: number): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ValidationError(what, 'must be a JSON object', index);
    }
    return new Fields(value as Record<string, unknown>, index);
  }

  fail(field: string, message: string): never {
    throw new ValidationError(this.prefix + field, message, this.index);
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }

  raw(field: string): unknown {
    return this.obj[field];
  }

  /** Rejects fields this body does not know: a typo is an error, not a silently ignored value. */
  only(allowed: readonly string[]): void {
    for (const k of Object.keys(this.obj))
      if (!allowed.includes(k)) this.fail(k, `unknown field (expected one of: ${allowed.join(', ')})`);
  }

  optString(
    field: string,
    opts: { min?: number; max: number; trim?: boolean; nullable?: boolean },
  ): string | null | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (v === null && opts.nullable) return null;
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    const s = opts.trim === false ? v : v.trim();
    if (s.length < (opts.min ?? 0))
      this.fail(field, opts.min === 1 ? 'must not be empty' : `must be at least ${opts.min} characters`);
    if (s.length > opts.max) this.fail(field, `must be at most ${opts.max} characters`);
    // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
    if (/[\u0000-\u001f\u007f]/.test(s)) this.fail(field, 'must not contain control characters');
    return s;
  }

  string(field: string, opts: { min?: number; max: number }): string {
    const v = this.optString(field, opts);
    if (v === undefined || v === null) this.fail(field, 'is required');
    return v;
  }

  optNumber(field: string, opts: { min: number; max: number; integer?: boolean }): number | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'must be a number');
    if (opts.integer && !Number.isSafeInteger(v)) this.fail(field, 'must be a whole number');
    if (v < opts.min) this.fail(field, `must be at least ${opts.min}`);
    if (v > opts.max) this.fail(field, `must be at most ${opts.max}`);
    return v;
  }

  optBoolean(field: string): boolean | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  optEnum<T extends string>(
    field: string,
    allowed: readonly T[],
    opts: { caseInsensitive?: boolean } = {},
  ): T | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    const match =
      typeof v === 'string'
        ? allowed.find((a) => (opts.caseInsensitive ? a.toLowerCase() === v.toLowerCase() : a === v))
        : undefined;
    if (match === undefined) this.fail(field, `must be one of ${allowed.join(', ')}`);
    return match;
  }

  optStringArray(field: string, opts: { maxItems: number; maxLength: number }): string[] | undefined {
    const v = this.obj[field];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(field, 'must be an array of strings');
    if (v.length > opts.maxItems) this.fail(field, `must have at most ${opts.maxItems} items`);
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.fail(`${field}[${i}]`, 'must be a string');
      const s = item.trim();
      if (s.length === 0) this.fail(`${field}[${i}]`, 'must not be empty');
      if (s.length > opts.maxLength) this.fail(`${field}[${i}]`, `must be at most ${opts.maxLength} characters`);
      // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
      if (/[\u0000-\u001f\u007f]/.test(s)) this.fail(`${field}[${i}]`, 'must not contain control characters');
      if (!out.includes(s)) out.push(s);
    });
    return out;
  }
}

/** Query-string values arrive as strings (or arrays of them when repeated). */
export class Query {
  constructor(private readonly q: Record<string, unknown>) {}

  private one(field: string): string | undefined {
    const v = this.q[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ValidationError(field, 'must be given once, as a plain value');
    return v;
  }

  optString(field: string, max = 200): string | undefined {
    const v = this.one(field);
    if (v === undefined || v === '') return undefined;
    if (v.length > max) throw new ValidationError(field, `must be at most ${max} characters`);
    return v;
  }

  number(field: string, def: number, opts: { min: number; max: number; integer?: boolean }): number {
    const v = this.one(field);
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ValidationError(field, `must be a number, got "${v}"`);
    if (opts.integer && !Number.isSafeInteger(n))
      throw new ValidationError(field, `must be a whole number, got "${v}"`);
    if (n < opts.min || n > opts.max)
      throw new ValidationError(field, `must be between ${opts.min} and ${opts.max}, got ${v}`);
    return n;
  }

  optEnum<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const v = this.one(field);
    if (v === undefined || v === '') return undefined;
    const m = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
    if (m === undefined) throw new ValidationError(field, `must be one of ${allowed.join(', ')}, got "${v}"`);
    return m;
  }
}

/** A positive integer path parameter such as `:id`. */
export function parseId(value: unknown, field = 'id'): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) <= 0) {
    const shown = typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value);
    throw new ValidationError(field, `must be a positive whole number, got "${shown}"`);
  }
  return Number(value);
}
