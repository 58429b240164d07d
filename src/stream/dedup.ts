import { decodeEvent } from './event-codec';
import type { BusEvent, BusMessage } from './types';

/** Next offsets per topic, then per partition. */
export type StoredOffsets = ReadonlyMap<string, ReadonlyMap<number, number>>;

export interface Refused {
  msg: BusMessage;
  reason: string;
}

export interface Decoded {
  msg: BusMessage;
  event: BusEvent;
}

/**
 * The messages at or past the stored offset of their partition (the rest were applied by an
 * earlier delivery), and the offsets to store once they are applied, per topic.
 */
export function pastStoredOffsets(
  messages: readonly BusMessage[],
  stored: StoredOffsets,
): { fresh: BusMessage[]; replayed: number; next: Map<string, Map<number, number>> } {
  const fresh: BusMessage[] = [];
  const next = new Map<string, Map<number, number>>();
  let replayed = 0;
  for (const m of messages) {
    if (m.offset < (stored.get(m.topic)?.get(m.partition) ?? 0)) {
      replayed++;
      continue;
    }
    fresh.push(m);
    let perTopic = next.get(m.topic);
    if (!perTopic) next.set(m.topic, (perTopic = new Map<number, number>()));
    perTopic.set(m.partition, Math.max(perTopic.get(m.partition) ?? 0, m.offset + 1));
  }
  return { fresh, replayed, next };
}

/** Parses every message; the ones that do not parse are refused with the reason. */
export function decodeAll(messages: readonly BusMessage[]): { decoded: Decoded[]; refused: Refused[] } {
  const decoded: Decoded[] = [];
  const refused: Refused[] = [];
  for (const msg of messages) {
    const d = decodeEvent(msg.value);
    if (d.ok) decoded.push({ msg, event: d.event });
    else refused.push({ msg, reason: d.reason });
  }
  return { decoded, refused };
}

/** The distinct event ids of a batch (events without one carry no idempotency key). */
export function eventIdsOf(decoded: readonly Decoded[]): string[] {
  return [...new Set(decoded.flatMap((d) => (d.event.id === undefined ? [] : [d.event.id])))];
}

/** Drops events whose id was seen before, or earlier in the same batch. */
export function withoutSeenIds(
  decoded: readonly Decoded[],
  seen: ReadonlySet<string>,
): { unique: Decoded[]; repeated: number } {
  const taken = new Set(seen);
  const unique: Decoded[] = [];
  let repeated = 0;
  for (const d of decoded) {
    const id = d.event.id;
    if (id !== undefined) {
      if (taken.has(id)) {
        repeated++;
        continue;
      }
      taken.add(id);
    }
    unique.push(d);
  }
  return { unique, repeated };
}
