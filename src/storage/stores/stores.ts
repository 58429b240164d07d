import path from 'node:path';
import type { Readable } from 'node:stream';
import { LOCATIONS, type Location, type Tier } from '../../db';
import type { Health, Logger, Registry, Service } from '../../platform';
import { FileObjectStore } from './file-object-store';
import type { ListedObject, ObjectHead, ObjectStore, StoreDescription } from './object-store';
import type { ObjectBytes } from '../crypto';
import type { S3ObjectStore } from './s3-object-store';
import type { ObjectWrite } from './s3-parts';
import type { StoreSpec, StoreSpecs } from './spec';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A multipart upload older than this is abandoned: an upload in progress writes parts far sooner. */
const ABANDONED_MS = 24 * 3_600_000;

/** Errors and latency per store and operation, fed by every call. */
interface StoreMeters {
  observe(location: Location, op: string, seconds: number, failed: boolean): void;
}

/** What the pages show per location. */
export interface StoreView extends StoreDescription {
  health: string;
}

/**
 * Every location's store, built from STORE_* (file:// or s3://, or today's folder under
 * DATA_DIR). A Service so `/readyz` probes each (`store.<location>`: 'ok' or why not), and every
 * call is counted (errors, latency) by store and operation.
 */
export class ObjectStores implements Service {
  readonly name = 'stores';
  private readonly stores: Record<Location, ObjectStore>;
  private meters: StoreMeters | undefined;

  /** Every location's store; the AWS SDK is loaded only when a location keeps its bytes in S3. */
  static async open(specs: StoreSpecs, dataDir: string, logger?: Logger): Promise<ObjectStores> {
    const s3 = LOCATIONS.some((l) => specs[l].kind === 's3')
      ? // A dynamic import: a server on folders only never holds the SDK (~4.6 MiB idle RSS).
        (await import('./s3-object-store')).S3ObjectStore
      : undefined;
    return new ObjectStores(specs, dataDir, logger, s3);
  }

  /** Stores made of today's folders only (tools and tests that build parts by hand). */
  static folders(dataDir: string): ObjectStores {
    const specs = {} as Record<Location, StoreSpecs[Location]>;
    for (const location of LOCATIONS) specs[location] = { kind: 'file', location, root: undefined, shared: false };
    return new ObjectStores(specs, dataDir);
  }

  private constructor(
    private readonly specs: StoreSpecs,
    dataDir: string,
    private readonly logger?: Logger,
    s3?: typeof S3ObjectStore,
  ) {
    const built = {} as Record<Location, ObjectStore>;
    for (const location of LOCATIONS) {
      const spec: StoreSpec = specs[location];
      let store: ObjectStore;
      if (spec.kind === 'file')
        store = new FileObjectStore(location, spec.root ?? path.join(dataDir, 'tiers', location), spec.shared);
      else if (s3) store = new s3(spec);
      else throw new Error(`${location}: an S3 store needs ObjectStores.open`);
      built[location] = metered(store, (op, seconds, failed) => this.meters?.observe(location, op, seconds, failed));
    }
    this.stores = built;
  }

  /** An S3 location's storage class per tier (STORE_<LOCATION>_CLASSES); undefined for a file store. */
  classes(location: Location): Readonly<Record<Tier, string>> | undefined {
    const spec = this.specs[location];
    return spec.kind === 's3' ? spec.classes : undefined;
  }

  of(location: Location): ObjectStore {
    return this.stores[location];
  }

  /** The folder of each file store (the tier tree serves them by path). */
  fileRoots(): Partial<Record<Location, string>> {
    const out: Partial<Record<Location, string>> = {};
    for (const location of LOCATIONS) {
      const d = this.stores[location].describe();
      if (d.kind === 'file') out[location] = d.where;
    }
    return out;
  }

  /** Locations whose objects live in S3. */
  objectStoreLocations(): Location[] {
    return LOCATIONS.filter((l) => this.stores[l].kind === 's3');
  }

  async start(): Promise<void> {
    for (const location of this.objectStoreLocations()) {
      const aborted = await this.stores[location].abortAbandoned(ABANDONED_MS).catch((err: unknown) => {
        this.logger?.warn('storage.multipart_sweep_failed', { location, error: err as Error });
        return 0;
      });
      if (aborted === undefined) this.logger?.info('storage.multipart_sweep_unsupported', { location });
      else if (aborted > 0) this.logger?.warn('storage.multipart_aborted', { location, uploads: aborted });
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  async health(): Promise<Health> {
    const out: Health = {};
    await Promise.all(
      LOCATIONS.map(async (location) => {
        out[`store.${location}`] = await this.stores[location].probe().then(
          () => 'ok',
          (err: unknown) => `${this.stores[location].describe().where}: ${reasonOf(err)}`,
        );
      }),
    );
    return out;
  }

  /** Each location's store with its health, for the pages. */
  async views(): Promise<StoreView[]> {
    const health = await this.health();
    return LOCATIONS.map((l) => ({ ...this.stores[l].describe(), health: health[`store.${l}`] ?? 'unknown' }));
  }

  register(registry: Registry): void {
    const errors = registry.counter(
      'dim_store_errors_total',
      'Failed calls to an object store, by store and operation.',
    );
    const latency = registry.histogram(
      'dim_store_seconds',
      'Latency of object store calls, by store and operation.',
      LATENCY_BUCKETS,
    );
    this.meters = {
      observe: (location, op, seconds, failed) => {
        latency.observe(seconds, { store: location, op });
        if (failed) errors.inc(1, { store: location, op });
      },
    };
  }
}

function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return [e.name, status ? `HTTP ${status}` : undefined, e.message].filter(Boolean).join(': ') || String(err);
}

/** The store with every call timed and its failures counted (a stream's own later errors are not). */
function metered(store: ObjectStore, observe: (op: string, seconds: number, failed: boolean) => void): ObjectStore {
  const time = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = process.hrtime.bigint();
    let failed = true;
    try {
      const out = await fn();
      failed = false;
      return out;
    } finally {
      observe(op, Number(process.hrtime.bigint() - t0) / 1e9, failed);
    }
  };
  const wrapped: ObjectStore = {
    location: store.location,
    kind: store.kind,
    describe: () => store.describe(),
    put: (key: string, body: Readable, tier: Tier) => time('put', () => store.put(key, body, tier)),
    get: (key: string, range?: { start: number; end: number }) => time('get', () => store.get(key, range)),
    head: (key: string): Promise<ObjectHead | undefined> => time('head', () => store.head(key)),
    delete: (key: string) => time('delete', () => store.delete(key)),
    list: (prefix?: string): AsyncIterable<ListedObject> => store.list(prefix),
    copy: (from: string, to: string, tier: Tier) => time('copy', () => store.copy(from, to, tier)),
    probe: () => time('probe', () => store.probe()),
    abortAbandoned: (ms: number) => time('abort_abandoned', () => store.abortAbandoned(ms)),
  };
  if (store.write) {
    const write = store.write.bind(store);
    (wrapped as { ringBytes?: number }).ringBytes = store.ringBytes;
    // Timed from the start of the write to its finish: the whole streamed upload.
    wrapped.write = (key: string, tier: Tier, bytes: ObjectBytes): ObjectWrite => {
      const t0 = process.hrtime.bigint();
      const w = write(key, tier, bytes);
      const seconds = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
      return {
        finish: async (patch) => {
          try {
            const out = await w.finish(patch);
            observe('write', seconds(), false);
            return out;
          } catch (err) {
            observe('write', seconds(), true);
            throw err;
          }
        },
        abort: () => w.abort(),
      };
    };
  }
  if (store.remoteGet) {
    const remoteGet = store.remoteGet.bind(store);
    // Timed as `get` is: from the call until the response's status is in (the worker reports it).
    wrapped.remoteGet = async (key: string, range?: { start: number; end: number }) => {
      const t0 = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
      const read = await remoteGet(key, range).catch((err: unknown) => {
        observe('get', seconds(), true);
        throw err;
      });
      return {
        ...read,
        settled: (failed: boolean) => {
          read.settled(failed);
          observe('get', seconds(), failed);
        },
      };
    };
  }
  if (store.restore) {
    const restore = store.restore.bind(store);
    wrapped.restore = (key: string, days?: number) => time('restore', () => restore(key, days));
  }
  return wrapped;
}
