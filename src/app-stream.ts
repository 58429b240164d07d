/** The composition root's builders for the stream and what it feeds, and for the alerts over every part (app-parts.ts holds the others). */
import {
  StatsMaintenance,
  StatsWriter,
  AnalyticsService,
  StatsRepository,
  type AnalyticsService as Analytics,
} from './analytics';
import { leaseOf, soleMemberOf } from './app-cluster';
import type { Base, StorageParts } from './app-parts';
import { DatasetsRepository, DatasetsService } from './datasets';
import { DatasetResolver, IngestService } from './ingest';
import type { Health, Service } from './platform';
import { AlertRepository, AlertService, OutboxRepository, WebhookSender } from './alerts';
import {
  AppliedOnce,
  DeadLettersRepository,
  EmbeddedBus,
  EventIdsRepository,
  EventLogRepository,
  GapsRepository,
  StreamGaps,
  createKafkaBus,
  APPLIED_OFFSETS,
  OffsetsRepository,
  type BatchHandler,
  type EventBus,
} from './stream';
import { Bandwidth, ContentService, HeaderRewrite, StorageDatasetHooks } from './storage';
import { ProductMetrics } from './web';

export type StreamParts = Awaited<ReturnType<typeof buildStream>>;

/**
 * Datasets, the bus and what it feeds: ingest publishes; the exactly-once applier (stream) skips
 * what was applied, dead-letters what cannot be, and commits the statistics (analytics) with the
 * applied offsets in one transaction; maintenance rolls buckets up and prunes.
 */
export async function buildStream(base: Base, storage: StorageParts) {
  const { config, database, db, clock, logger } = base;
  const datasetsRepo = new DatasetsRepository(db);
  // Its lookups (one per dataset not yet cached) read beside the writer, not queued on it.
  const resolver = new DatasetResolver(new DatasetsRepository(database.reader));
  const datasets = new DatasetsService(datasetsRepo, clock, [
    resolver,
    new StorageDatasetHooks(storage.repo, storage.objects),
  ]);
  const retention = {
    m: config.stats.minuteRetentionMs,
    h: config.stats.hourRetentionMs,
    d: config.stats.dayRetentionMs,
  };
  const statsRepo = new StatsRepository(db);
  const analytics: Analytics = new AnalyticsService({ stats: statsRepo, datasets, clock, retention });
  // Applied offsets belong to this database, not to a consumer group: a new KAFKA_GROUP_ID
  // (or a restart under another one) must not apply events this database already holds.
  const offsets = new OffsetsRepository(db, APPLIED_OFFSETS);
  const eventIds = new EventIdsRepository(db);
  const gaps = new GapsRepository(db);
  const deadLetters = new DeadLettersRepository(db);
  const applier = new AppliedOnce({
    // The events are durable before their 202, in the embedded log or in Kafka (acks=all): a
    // commit a power cut loses takes its offsets with it and is applied again from there, so it
    // need not be synced itself. Its fsync held the writer the embedded log's group commits wait
    // on, and on Kafka it lengthened the paced run's visibility (BENCHMARKS.md).
    db: database.unsynced,
    offsets,
    eventIds,
    deadLetters,
    gaps,
    effect: new StatsWriter({ stats: statsRepo }).effect,
    clock,
    logger,
  });
  const bus = await createBus(base, offsets, applier.handler);
  const metrics = new ProductMetrics(database.reader, bus, applier);
  storage.backups.register(metrics.registry);
  storage.stores.register(metrics.registry);
  const publisher = metrics.countingPublisher(bus.publisher);
  const ingest = new IngestService(resolver, publisher, clock, config.ingest);
  const content = new ContentService({
    repo: storage.repo,
    tree: storage.tree,
    objects: storage.objects,
    keyring: storage.keyring,
    locks: storage.locks,
    publisher,
    clock,
    logger,
    chunkSize: config.storage.chunkSize,
    faults: storage.faults,
  });
  const headerRewrite = new HeaderRewrite({
    ...storage,
    content,
    bandwidth: new Bandwidth(config.storage.scrubBandwidth),
    logger: logger.child({ part: 'rewrite' }),
  });
  const maintenance = new StatsMaintenance({
    stats: statsRepo,
    eventIds,
    clock,
    logger,
    options: {
      buckets: retention,
      idempotencyWindowMs: config.stats.idempotencyWindowMs,
      intervalMs: config.stats.pruneIntervalMs,
      rollupIntervalMs: config.stats.rollupIntervalMs,
    },
  });
  return {
    datasets,
    resolver,
    statsRepo,
    analytics,
    bus,
    applier,
    deadLetters,
    gaps,
    streamGaps: new StreamGaps({ repo: gaps, clock, logger: logger.child({ part: 'stream' }) }),
    metrics,
    ingest,
    content,
    headerRewrite,
    maintenance,
    services: [bus, maintenance] as Service[],
  };
}

async function createBus(
  { config, database, db, clock, logger, exclusive, instance, onFatal }: Base,
  offsets: OffsetsRepository,
  handler: BatchHandler,
): Promise<EventBus> {
  if (config.kafka)
    return createKafkaBus({
      config: config.kafka,
      logger: logger.child({ bus: 'kafka' }),
      offsets,
      handler,
      ...(exclusive ? { soleMember: soleMemberOf(config.kafka, instance, onFatal) } : {}),
    });
  return new EmbeddedBus({
    log: new EventLogRepository(db, database.reader),
    offsets,
    handler,
    clock,
    logger: logger.child({ bus: 'embedded' }),
    options: {
      maxBatch: config.consumer.maxBatchEvents,
      maxPending: 10 * config.ingest.maxBatchEvents,
      retentionMs: config.embedded.retentionMs,
      pruneIntervalMs: config.stats.pruneIntervalMs,
    },
  });
}

export type AlertParts = ReturnType<typeof buildAlerts>;

/** Alerts over every part: their checks read the stream, the moves and `/readyz`'s checks. */
export function buildAlerts(base: Base, stream: StreamParts, health: () => Promise<Health>) {
  const { config, db, clock, logger } = base;
  const log = logger.child({ part: 'alerts' });
  // With other instances on the database, the lease holder checks and delivers (posts wait in the database).
  const lease = base.exclusive ? undefined : leaseOf(base, 'alerts');
  const webhook = config.alerts.webhookUrl
    ? new WebhookSender({
        url: config.alerts.webhookUrl,
        outbox: new OutboxRepository(db),
        logger: log,
        ...(lease ? { leadership: lease } : {}),
      })
    : undefined;
  const alerts = new AlertService({
    repo: new AlertRepository(db),
    sources: {
      gaps: () => stream.streamGaps.unacknowledged(),
      lag: () => stream.bus.lag(),
      lagThreshold: config.alerts.lagEvents,
      health,
    },
    acknowledgeGap: (id, by) => stream.streamGaps.acknowledge(id, by),
    webhook,
    retention: { maxAgeMs: config.alerts.retentionMs, maxRows: config.alerts.maxRows },
    ...(lease ? { leadership: lease } : {}),
    clock,
    logger: log,
    intervalMs: config.alerts.checkIntervalMs,
  });
  // Stopped in reverse: the checks (which write posts) before the delivery, the delivery before its lease.
  return {
    alerts,
    lease,
    services: [...(lease ? [lease] : []), ...(webhook ? [webhook] : []), alerts] as Service[],
  };
}
