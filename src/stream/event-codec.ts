import { EVENT_TYPES, type BusEvent } from './types';

/**
 * The JSON of `e`, written out by hand: ingest has checked every field (safe integers, a boolean,
 * one of EVENT_TYPES), and `JSON.stringify` of the object cost ~0.7 µs per event on the batch
 * path against ~0.1 µs for this. Strings still go through `JSON.stringify` for their escaping.
 */
export function encodeEvent(e: BusEvent): string {
  const head =
    `{"v":${e.v},"dataset_id":${e.dataset_id},"type":${JSON.stringify(e.type)},"bytes":${e.bytes},` +
    `"ts":${e.ts},"scan":${e.scan},"received_at":${e.received_at}`;
  return e.id === undefined ? `${head}}` : `${head},"id":${JSON.stringify(e.id)}}`;
}

export type Decoded = { ok: true; event: BusEvent } | { ok: false; reason: string };

/** Parses a record read back from the bus. Anything off goes to the dead letters, never throws. */
export function decodeEvent(value: string): Decoded {
  let o: unknown;
  try {
    o = JSON.parse(value);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, reason: 'not a JSON object' };
  const r = o as Record<string, unknown>;
  if (r.v !== 1) return { ok: false, reason: `unsupported event version ${JSON.stringify(r.v)}` };
  if (!Number.isSafeInteger(r.dataset_id) || (r.dataset_id as number) <= 0)
    return { ok: false, reason: 'dataset_id: not a positive integer' };
  if (!EVENT_TYPES.includes(r.type as never))
    return { ok: false, reason: `type: not one of ${EVENT_TYPES.join(', ')}` };
  if (!Number.isSafeInteger(r.bytes) || (r.bytes as number) < 0)
    return { ok: false, reason: 'bytes: not a non-negative integer' };
  if (!Number.isSafeInteger(r.ts)) return { ok: false, reason: 'ts: not an integer timestamp' };
  if (typeof r.scan !== 'boolean') return { ok: false, reason: 'scan: not a boolean' };
  if (r.id !== undefined && (typeof r.id !== 'string' || r.id.length === 0))
    return { ok: false, reason: 'id: not a non-empty string' };
  const received = Number.isSafeInteger(r.received_at) ? (r.received_at as number) : (r.ts as number);
  const event: BusEvent = {
    v: 1,
    dataset_id: r.dataset_id as number,
    type: r.type as BusEvent['type'],
    bytes: r.bytes as number,
    ts: r.ts as number,
    scan: r.scan,
    received_at: received,
  };
  if (r.id !== undefined) event.id = r.id;
  return { ok: true, event };
}
