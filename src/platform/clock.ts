/** The only source of "now" in the product, so replays and demos can run on simulated time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests and simulations move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * Time that runs `factor` times faster than the wall clock from `simStart` (the demo plays
 * days in seconds). Everything that reads the product's clock (decay, cooldowns, minimum
 * durations, the scheduler's decisions) sees the accelerated time.
 */
export class AcceleratedClock implements Clock {
  private readonly realStart = Date.now();
  constructor(
    private readonly simStart: number,
    readonly factor: number,
  ) {}
  now(): number {
    return Math.floor(this.simStart + (Date.now() - this.realStart) * this.factor);
  }
  /** Wall-clock milliseconds until simulated time `t` (0 if it has passed). */
  realMsUntil(t: number): number {
    return Math.max(0, (t - this.now()) / this.factor);
  }
}
