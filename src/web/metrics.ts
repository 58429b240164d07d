import type { Kysely } from 'kysely';
import express, { type RequestHandler, type Router } from 'express';
import type { DB } from '../db';
import { Registry, routeOf } from '../platform';
import { type AppliedOnce, type EventBus, type EventPublisher, GapsRepository } from '../stream';
import { MetricsRepository } from './metrics-repository';
import { IntegrityMetricsRepository } from './integrity-metrics-repository';
import { RateWindow } from './rate-window';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The product's Prometheus metrics: events received and applied, consumer lag, batch latency,
 * moves by state, bytes moved, bytes per placement, decisions, scheduler runs, HTTP latency by
 * route. Counters are fed as things happen; gauges read from the database and the bus at scrape.
 */
export class ProductMetrics {
  readonly registry = new Registry();
  private readonly received = this.registry.counter(
    'dim_events_received_total',
    'Events accepted by the API (durable on the bus).',
  );
  private readonly applied = this.registry.counter('dim_events_applied_total', 'Events applied to the statistics.');
  private readonly duplicates = this.registry.counter(
    'dim_events_duplicate_total',
    'Events skipped as already applied (redelivery or a repeated id).',
  );
  private readonly redelivered = this.registry.counter(
    'dim_events_redelivered_skipped_total',
    'Messages handed to the applier again below the offset already applied for their partition (read from a stale position).',
  );
  private readonly dead = this.registry.counter('dim_events_dead_lettered_total', 'Events that could not be applied.');
  private readonly batch = this.registry.histogram(
    'dim_apply_batch_seconds',
    'Time to apply one consumer batch.',
    LATENCY_BUCKETS,
  );
  private readonly lag = this.registry.gauge('dim_consumer_lag', 'Events on the bus not yet applied.');
  private readonly connected = this.registry.gauge('dim_bus_connected', '1 when the bus takes events.');
  private readonly gaps = this.registry.counter(
    'dim_stream_gaps_total',
    'Stretches of the log found gone (truncated or expired) before they were applied.',
  );
  private readonly lost = this.registry.counter(
    'dim_events_lost_total',
    'Acknowledged events never applied: the offsets of the gaps found.',
  );
  private readonly openGaps = this.registry.gauge(
    'dim_stream_gaps_unacknowledged',
    'Recorded gaps no operator has acknowledged yet.',
  );
  private readonly split = this.registry.counter(
    'dim_batches_split_total',
    'Batches the database refused for something in their data, split to apply the rest (a poison event, or a statement every batch fails).',
  );
  private readonly refused = this.registry.counter(
    'dim_lease_writes_refused_total',
    "Writes the database refused because this instance no longer held the job's lease (a stale leader, by job).",
  );
  private readonly claimsLost = this.registry.counter(
    'dim_move_claims_lost_total',
    'Moves this instance gave up mid-run because another instance claimed them (this one stalled past its claim).',
  );
  private readonly moves = this.registry.gauge('dim_moves', 'Moves by state.');
  private readonly moved = this.registry.gauge('dim_bytes_moved_total', 'Bytes of content carried by finished moves.');
  private readonly placement = this.registry.gauge(
    'dim_placement_bytes',
    'Bytes per placement (content, or the declared size of catalog-only datasets).',
  );
  private readonly datasets = this.registry.gauge('dim_placement_datasets', 'Datasets per placement.');
  private readonly decisions = this.registry.gauge('dim_decisions', 'Stored decisions by action and rule.');
  private readonly runs = this.registry.gauge('dim_scheduler_runs_total', 'Scheduler runs, by outcome.');
  private readonly integrity = this.registry.gauge(
    'dim_integrity_failures_total',
    'Stored objects found damaged, by what found it (download, move, scrub).',
  );
  private readonly damaged = this.registry.gauge('dim_datasets_damaged', 'Datasets marked damaged.');
  private readonly scrub = this.registry.gauge(
    'dim_scrub_last',
    'The last scrub that went through every object: finished_timestamp_seconds, objects verified, bytes, damaged, skipped.',
  );
  private readonly http = this.registry.histogram(
    'dim_http_request_seconds',
    'HTTP request latency by route.',
    LATENCY_BUCKETS,
  );

  /** Events applied per second of wall-clock time, for the overview's live chart. */
  readonly appliedRate = new RateWindow();

  constructor(reader: Kysely<DB>, bus: EventBus, applier: Pick<AppliedOnce, 'onApplied' | 'onSplit'>) {
    applier.onSplit(() => this.split.inc(1));
    applier.onApplied((b) => {
      this.applied.inc(b.applied);
      this.appliedRate.add(b.applied);
      if (b.duplicates) this.duplicates.inc(b.duplicates);
      if (b.replayed) this.redelivered.inc(b.replayed);
      if (b.deadLettered) this.dead.inc(b.deadLettered);
      if (b.ms !== undefined && b.applied + b.duplicates > 0) this.batch.observe(b.ms / 1000);
      for (const g of b.gaps) {
        this.gaps.inc(1);
        this.lost.inc(g.to_offset - g.from_offset);
      }
    });
    const gaps = new GapsRepository(reader);
    this.registry.collect(async () => {
      this.openGaps.set(await gaps.countUnacknowledged());
    });
    this.registry.collect(async () => {
      const lag = await bus.lag().catch(() => undefined);
      if (lag !== undefined) this.lag.set(lag);
      this.connected.set(bus.status().connected ? 1 : 0);
    });
    const repo = new MetricsRepository(reader);
    this.registry.collect(async () => {
      const m = await repo.snapshot();
      this.moves.replace(m.moves.map((x) => ({ labels: { state: x.state }, value: x.n })));
      this.moved.set(m.movedBytes);
      this.placement.replace(
        m.placements.map((r) => ({ labels: { location: r.location, tier: r.tier }, value: r.bytes })),
      );
      this.datasets.replace(m.placements.map((r) => ({ labels: { location: r.location, tier: r.tier }, value: r.n })));
      this.decisions.replace(
        m.decisions.map((d) => ({ labels: { action: d.action, rule: d.rule ?? 'none' }, value: d.n })),
      );
      this.runs.replace(m.runs.map((r) => ({ labels: { outcome: r.outcome }, value: r.n })));
    });
    const integrity = new IntegrityMetricsRepository(reader);
    this.registry.collect(async () => {
      const i = await integrity.snapshot();
      this.integrity.replace(
        ['download', 'move', 'scrub'].map((by) => ({
          labels: { found_by: by },
          value: i.failures.find((f) => f.found_by === by)?.n ?? 0,
        })),
      );
      this.damaged.set(i.damaged);
      const last = i.lastScrub;
      this.scrub.replace(
        last
          ? [
              { labels: { field: 'finished_timestamp_seconds' }, value: last.finished_at / 1000 },
              { labels: { field: 'objects' }, value: last.objects },
              { labels: { field: 'bytes' }, value: last.bytes },
              { labels: { field: 'damaged' }, value: last.damaged },
              { labels: { field: 'skipped' }, value: last.skipped },
            ]
          : [],
      );
    });
  }

  /** Counts the writes a lease's fence refused. */
  countRefusals(lease: { onRefused(fn: (job: string) => void): void }): void {
    lease.onRefused((job) => this.refused.inc(1, { job }));
  }

  /** Counts the moves given up to another instance's claim. */
  countClaimsLost(moves: { onClaimLost(fn: (moveId: number) => void): void }): void {
    moves.onClaimLost(() => this.claimsLost.inc(1));
  }

  /** Counts events as the bus accepts them (wraps the publisher the API and downloads use). */
  countingPublisher(inner: EventPublisher): EventPublisher {
    return {
      publish: async (events) => {
        await inner.publish(events);
        this.received.inc(events.length);
      },
    };
  }

  /** Times every request, labelled by the route that matched (not the raw path: ids would explode the series). */
  httpTimer(): RequestHandler {
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const route = routeOf(req);
        this.http.observe(Number(process.hrtime.bigint() - start) / 1e9, {
          method: req.method,
          route,
          status: `${Math.floor(res.statusCode / 100)}xx`,
        });
      });
      next();
    };
  }

  routes(): Router {
    const r = express.Router();
    r.get('/metrics', async (_req, res) => {
      res.type('text/plain; version=0.0.4').send(await this.registry.scrape());
    });
    return r;
  }
}
