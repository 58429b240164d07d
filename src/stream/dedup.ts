import { groupBy } from '../platform';
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

/** A stretch [from_offset, to_offset) of a partition that is not in the log any more. */
export interface LostRange {
  topic: string;
  partition: number;
  from_offset: number;
  to_offset: number;
}

/**
 * The messages at or past the stored offset of their partition (the rest were applied by an
 * earlier delivery), the offsets to store once they are applied, per topic, and the stretches
 * skipped: a partition's offsets run without holes, so a first fresh offset above the stored one
 * (or a hole inside the batch) is log that was gone (truncated or expired) before it was read.
 * A partition with no stored offset has no known start, so nothing before its first message counts.
 */
export function pastStoredOffsets(
  messages: readonly BusMessage[],
  stored: StoredOffsets,
): { fresh: BusMessage[]; replayed: number; next: Map<string, Map<number, number>>; gaps: LostRange[] } {
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
  return { fresh, replayed, next, gaps: holes(fresh, stored) };
}

function holes(fresh: readonly BusMessage[], stored: StoredOffsets): LostRange[] {
  const gaps: LostRange[] = [];
  for (const list of groupBy(fresh, (m) => `${m.topic}\u0000${m.partition}`).values()) {
    const { topic, partition } = list[0]!;
    let expected = stored.get(topic)?.get(partition);
    for (const offset of list.map((m) => m.offset).sort((a, b) => a - b)) {
      if (expected !== undefined && offset > expected)
        gaps.push({ topic, partition, from_offset: expected, to_offset: offset });
      expected = Math.max(expected ?? 0, offset + 1);
    }
  }
  return gaps;
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
