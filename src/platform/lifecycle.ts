import type { Logger } from './logger';

/** Checks for `/readyz`: each check's name to `'ok'` or the reason it fails. */
export type Health = Record<string, string>;

/**
 * A long-running part of the app: started in order, stopped in reverse, asked for its health
 * by `/readyz`. `stop()` is idempotent and never exits the process.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Absent: the service has nothing to report beyond having started. */
  health?(): Promise<Health> | Health;
  /** Facts `/readyz` shows without judging readiness by them (the last backup, the last scrub). */
  details?(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** A Service from plain functions, for a part whose start or stop is one call or a few. */
export function serviceOf(
  name: string,
  fns: { start?: () => Promise<void>; stop?: () => Promise<void>; health?: () => Promise<Health> | Health },
): Service {
  return {
    name,
    start: fns.start ?? (() => Promise.resolve()),
    stop: fns.stop ?? (() => Promise.resolve()),
    ...(fns.health ? { health: fns.health } : {}),
  };
}

/**
 * The app's services as data: `start()` runs them forward, `stop()` backward (each step
 * best-effort, a failure logged and the rest still stopped), `health()` asks every started one.
 */
export class ServiceList {
  private readonly services: Service[] = [];
  private started: Service[] = [];

  constructor(private readonly logger: Logger) {}

  add(...services: Service[]): this {
    this.services.push(...services);
    return this;
  }

  /** Starts each in order, skipping those already started; on a failure it throws, and stop() stops those started. */
  async start(): Promise<void> {
    for (const s of this.services) {
      if (this.started.includes(s)) continue;
      try {
        await s.start();
      } catch (err) {
        this.logger.error('service.start_failed', { service: s.name, error: err as Error });
        throw err;
      }
      this.started.push(s);
    }
  }

  /** Stops the started services in reverse order; every one is tried even if another fails. */
  async stop(): Promise<void> {
    const toStop = this.started.reverse();
    this.started = [];
    for (const s of toStop) {
      try {
        await s.stop();
      } catch (err) {
        this.logger.error('service.stop_failed', { service: s.name, error: err as Error });
      }
    }
  }

  /** Every service's checks, merged; a service whose check throws reports the error. */
  async health(): Promise<Health> {
    const out: Health = {};
    for (const s of this.services) {
      if (!s.health) continue;
      try {
        Object.assign(out, await s.health());
      } catch (err) {
        out[s.name] = (err as Error).message;
      }
    }
    return out;
  }

  /** Every service's details, merged; one that throws reports its error instead. */
  async details(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const s of this.services) {
      if (!s.details) continue;
      try {
        Object.assign(out, await s.details());
      } catch (err) {
        out[s.name] = { error: (err as Error).message };
      }
    }
    return out;
  }

  names(): string[] {
    return this.services.map((s) => s.name);
  }
}

/**
 * "Never run twice at once": while a call is running, further calls join it (get its promise)
 * instead of starting another. `running` tells whether one is going; `idle()` waits for it.
 */
export function oneAtATime<A extends unknown[], T>(fn: (...args: A) => Promise<T>): OneAtATime<A, T> {
  let current: Promise<T> | undefined;
  const call = ((...args: A): Promise<T> => {
    current ??= fn(...args).finally(() => {
      current = undefined;
    });
    return current;
  }) as OneAtATime<A, T>;
  Object.defineProperty(call, 'running', { get: () => current !== undefined });
  call.idle = async (): Promise<void> => {
    await current?.catch(() => undefined);
  };
  return call;
}

export interface OneAtATime<A extends unknown[], T> {
  (...args: A): Promise<T>;
  /** A call is in progress. */
  readonly running: boolean;
  /** Resolves once no call is in progress (a failure included). */
  idle(): Promise<void>;
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
      const fire = (): void => {
        clearTimeout(t);
        this.waiters = this.waiters.filter((w) => w !== fire);
        resolve();
      };
      const t = setTimeout(fire, ms);
      this.waiters.push(fire);
    });
  }
  notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** One holder at a time per key (here: per dataset), FIFO. */
export class KeyedLock<K> {
  private readonly tails = new Map<K, Promise<void>>();

  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
