/**
 * Events per second over the last few minutes of wall-clock time, in a ring of fixed slots
 * (fixed memory, O(1) per add). The overview charts this rather than per-minute counts of event
 * time: events sent with old timestamps (an import, a replayed trace) and a demo's accelerated
 * clock would otherwise fall outside the chart's minutes and leave it flat while events pour in.
 */
/** The overview's window: 5 minutes in slots of 5 seconds. */
export const RATE_SLOT_MS = 5_000;
export const RATE_WINDOW_MINUTES = 5;

export class RateWindow {
  private readonly counts: Float64Array;
  /** Which slot number (now / slotMs) each ring entry holds; -1 when empty. */
  private readonly stamps: Float64Array;

  constructor(
    readonly slots = (RATE_WINDOW_MINUTES * 60_000) / RATE_SLOT_MS,
    readonly slotMs = RATE_SLOT_MS,
    private readonly now: () => number = Date.now,
  ) {
    if (!(slots > 1 && slotMs > 0)) throw new Error('RateWindow: slots must be > 1 and slotMs > 0');
    this.counts = new Float64Array(slots);
    this.stamps = new Float64Array(slots).fill(-1);
  }

  add(n: number): void {
    if (!(n > 0)) return;
    const t = Math.floor(this.now() / this.slotMs);
    const i = t % this.slots;
    if (this.stamps[i] !== t) {
      this.stamps[i] = t;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }

  /**
   * Per slot, oldest first: its start time (ms) and its rate per second. The current slot is
   * the last; its rate is over the part of it that has passed.
   */
  series(): { at: number[]; perSecond: number[] } {
    const nowMs = this.now();
    const current = Math.floor(nowMs / this.slotMs);
    const at: number[] = [];
    const perSecond: number[] = [];
    for (let t = current - this.slots + 1; t <= current; t++) {
      const i = ((t % this.slots) + this.slots) % this.slots;
      const count = this.stamps[i] === t ? this.counts[i]! : 0;
      const seconds = t === current ? Math.max(1, nowMs - t * this.slotMs) / 1000 : this.slotMs / 1000;
      at.push(t * this.slotMs);
      perSecond.push(Math.round((count / seconds) * 100) / 100);
    }
    return { at, perSecond };
  }
}
