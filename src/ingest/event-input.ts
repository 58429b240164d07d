import { ValidationError, Fields } from '../platform';
import { EVENT_TYPES, type EventType } from '../stream';

/** An event as a client sent it, checked but with its dataset not yet resolved. */
export interface IncomingEvent {
  index: number | undefined;
  dataset_id?: number;
  dataset?: string;
  type: EventType;
  bytes: number;
  ts: number;
  scan: boolean;
  id?: string;
}

const FIELDS = ['id', 'dataset_id', 'dataset', 'type', 'access_type', 'bytes', 'ts', 'scan'] as const;
/** Before this, a number is far more likely seconds than milliseconds: say so instead of guessing. */
const EARLIEST_TS = Date.UTC(2000, 0, 1);
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

export interface EventRules {
  now: number;
  maxFutureSkewMs: number;
  /** Only for the original demo's route, where a missing access_type meant "read". */
  defaultType?: EventType;
}

export function parseIncomingEvent(raw: unknown, index: number | undefined, rules: EventRules): IncomingEvent {
  const f = Fields.of(raw, 'event', index);
  f.only(FIELDS);

  const hasId = f.has('dataset_id');
  const hasName = f.has('dataset');
  if (hasId && hasName) f.fail('dataset', 'give dataset_id or dataset (a name), not both');
  if (!hasId && !hasName) f.fail('dataset_id', 'is required (or give dataset, the dataset name)');

  if (f.has('type') && f.has('access_type')) f.fail('access_type', 'give type or access_type, not both');
  const typeField = f.has('access_type') ? 'access_type' : 'type';
  // The original demo's stream/send defaulted a missing access_type to "read"; that route alone keeps it.
  const type =
    f.optEnum(typeField, EVENT_TYPES, { caseInsensitive: true }) ??
    rules.defaultType ??
    f.fail('type', `is required: one of ${EVENT_TYPES.join(', ')}`);

  const ev: IncomingEvent = {
    index,
    type,
    bytes: f.optNumber('bytes', { min: 0, max: MAX_BYTES, integer: true }) ?? 0,
    ts: parseTs(f, rules),
    scan: f.optBoolean('scan') ?? false,
  };
  if (hasId) ev.dataset_id = f.optNumber('dataset_id', { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
  else ev.dataset = f.string('dataset', { min: 1, max: 200 });
  const id = f.optString('id', { min: 1, max: 200, trim: false });
  if (id !== undefined && id !== null) ev.id = id;
  return ev;
}

function parseTs(f: Fields, rules: EventRules): number {
  const v = f.raw('ts');
  if (v === undefined) return rules.now;
  let ts: number;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) f.fail('ts', 'must be whole milliseconds since the epoch or an ISO-8601 string');
    if (v < EARLIEST_TS)
      f.fail('ts', `must be milliseconds since the epoch (got ${v}: seconds? multiply by 1000) or an ISO-8601 string`);
    ts = v;
  } else if (typeof v === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(v)) {
      f.fail('ts', 'must be an ISO-8601 date-time with a zone, such as 2025-01-31T12:00:00Z');
    }
    ts = Date.parse(v);
    if (!Number.isFinite(ts)) f.fail('ts', 'is not a valid date-time');
    if (ts < EARLIEST_TS) f.fail('ts', 'must not be before 2000-01-01');
  } else {
    f.fail('ts', 'must be milliseconds since the epoch or an ISO-8601 string');
  }
  if (ts > rules.now + rules.maxFutureSkewMs) {
    f.fail('ts', `is more than ${Math.round(rules.maxFutureSkewMs / 1000)} s in the future`);
  }
  return ts;
}

/** Splits an NDJSON body into parsed lines; a bad line is a 400 naming its index. */
export function parseNdjson(text: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch (err) {
      throw new ValidationError('body', `line ${i + 1} is not valid JSON: ${(err as Error).message}`, out.length);
    }
  }
  return out;
}
