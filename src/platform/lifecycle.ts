/** A long-running part of the app: started in order, stopped in reverse. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A promise that can be resolved from outside: a one-shot wake-up signal. */
export class Signal {
  private waiters: Array<() => void> = [];
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(fire, ms);
      const self = this;
      function fire(): void {
        clearTimeout(t);
        self.waiters = self.waiters.filter((w) => w !== fire);
        resolve();
      }
      this.waiters.push(fire);
    });
  }
  notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
