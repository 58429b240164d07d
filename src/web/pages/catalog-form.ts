import { ValidationError } from '../../platform';
import { LOCATIONS, PLACEMENTS, placementKey } from '../../tiering';
import { optNum, type FormBody } from './forms';

export const PRICE_FIELDS = [
  { key: 'storage_gb_month', label: 'Storage $/GB-month' },
  { key: 'read_per_1k', label: 'Reads $/1k' },
  { key: 'write_per_1k', label: 'Writes $/1k' },
  { key: 'retrieval_per_gb', label: 'Retrieval $/GB' },
  { key: 'min_storage_days', label: 'Minimum days' },
  { key: 'min_billable_bytes', label: 'Min. billable bytes' },
  { key: 'first_byte_ms', label: 'First byte ms' },
] as const;

/**
 * The catalog form's fields (`p|ONPREM/HOT|storage_gb_month`, `e|FROM|TO`, `r|LOCATION`) as the
 * partial catalog JSON that PUT /api/catalog takes. Empty fields are left out (unchanged).
 */
export function catalogFromForm(b: FormBody): Record<string, unknown> {
  const placements: Record<string, Record<string, number>> = {};
  for (const p of PLACEMENTS) {
    const key = placementKey(p);
    for (const f of PRICE_FIELDS) {
      const v = optNum(b, `p|${key}|${f.key}`);
      if (v !== undefined) (placements[key] ??= {})[f.key] = v;
    }
  }
  const egress: Record<string, Record<string, number>> = {};
  const read: Record<string, number> = {};
  for (const from of LOCATIONS) {
    for (const to of LOCATIONS) {
      const v = optNum(b, `e|${from}|${to}`);
      if (v !== undefined) (egress[from] ??= {})[to] = v;
    }
    const r = optNum(b, `r|${from}`);
    if (r !== undefined) read[from] = r;
  }
  const out: Record<string, unknown> = {};
  if (Object.keys(placements).length) out.placements = placements;
  if (Object.keys(egress).length) out.egress_per_gb = egress;
  if (Object.keys(read).length) out.read_egress_per_gb = read;
  return out;
}

/** A refused catalog field as the form shows it: its input's name, and the message in human words. */
export interface CatalogFieldError {
  name: string;
  message: string;
}

/**
 * A validation error of the catalog form, from the form's parser (`p|PRIVATE/HOT|storage_gb_month`)
 * or the catalog's (`placements.PRIVATE/HOT.storage_gb_month`), as the input it concerns and a
 * message that names it as a person reads it ("PRIVATE · HOT · Storage $/GB-month: …").
 * Undefined for any other error.
 */
export function catalogFieldError(err: unknown): CatalogFieldError | undefined {
  if (!(err instanceof ValidationError)) return undefined;
  const name = formFieldName(err.field);
  const detail = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
  if (!name) return { name: '', message: detail };
  return { name, message: `${humanFieldName(name)}: ${detail}` };
}

/** The form input's name for a field path of either parser ('' when it names no single input). */
function formFieldName(field: string): string {
  if (/^[per]\|/.test(field)) return field;
  const [root, a, b] = field.split('.');
  if (root === 'placements' && a && b) return `p|${a}|${b}`;
  if (root === 'egress_per_gb' && a && b) return `e|${a}|${b}`;
  if (root === 'read_egress_per_gb' && a) return `r|${a}`;
  return '';
}

/** `p|PRIVATE/HOT|storage_gb_month` → "PRIVATE · HOT · Storage $/GB-month". */
export function humanFieldName(name: string): string {
  const [kind, a = '', b = ''] = name.split('|');
  if (kind === 'p') {
    const label = PRICE_FIELDS.find((f) => f.key === b)?.label ?? b;
    return `${a.split('/').join(' · ')} · ${label}`;
  }
  if (kind === 'e') return `Egress of a move · from ${a} · to ${b} $/GB`;
  if (kind === 'r') return `Egress of reads served from ${a} $/GB`;
  return name;
}
