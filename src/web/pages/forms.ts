import { ValidationError } from '../../platform';

/**
 * Form bodies (application/x-www-form-urlencoded) arrive as strings. These turn them into the
 * JSON shapes the services validate, so the pages and the API share one set of rules; a value
 * that is not even the right kind fails here, naming the field.
 */
export type FormBody = Record<string, unknown>;

export function formBody(body: unknown): FormBody {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as FormBody) : {};
}

/** A trimmed string, or undefined when absent or empty. */
export function str(b: FormBody, field: string): string | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ValidationError(field, 'must be given once');
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** A number, or undefined when absent or empty. */
export function optNum(b: FormBody, field: string): number | undefined {
  const v = str(b, field);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ValidationError(field, `must be a number, got "${v.slice(0, 40)}"`);
  return n;
}

export function num(b: FormBody, field: string, def: number, min: number, max: number, integer = false): number {
  const n = optNum(b, field) ?? def;
  if (integer && !Number.isInteger(n)) throw new ValidationError(field, 'must be a whole number');
  if (n < min || n > max) throw new ValidationError(field, `must be between ${min} and ${max}`);
  return n;
}

/** A checkbox: present means on. */
export function checked(b: FormBody, field: string): boolean {
  return b[field] !== undefined && b[field] !== '' && b[field] !== 'false';
}
