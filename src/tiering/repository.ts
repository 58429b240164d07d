import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { CatalogRepository } from './catalog-repository';
import { CostHistoryRepository } from './cost-history-repository';
import { DecisionRepository, type DecisionRow } from './decision-repository';
import { HindsightRepository } from './hindsight-repository';
import { HistoryRepository } from './history-repository';
import { ObservationRepository } from './observation-repository';
import { PendingRepository } from './pending-repository';
import { DatasetPolicyRepository } from './policy-repository';
import { RunRepository } from './run-repository';
import { ScanRepository } from './scan-repository';

export type { CandidateRow } from './scan-repository';
export type { DecisionRow } from './decision-repository';
export { toPolicy } from './policy-repository';

/** Everything the tiering capability keeps in SQLite, one repository per job. */
export class TieringRepository {
  readonly catalogs: CatalogRepository;
  readonly policies: DatasetPolicyRepository;
  readonly scan: ScanRepository;
  readonly decisions: DecisionRepository;
  readonly runs: RunRepository;
  readonly observations: ObservationRepository;
  /** The recorded history the what-if replay reads. */
  readonly history: HistoryRepository;
  /** What happened after each logged move. */
  readonly hindsight: HindsightRepository;
  /** The pending moves' saving. */
  readonly pending: PendingRepository;
  /** Where the bytes are and the daily cost snapshots. */
  readonly costHistory: CostHistoryRepository;

  /** `reader`: a read-only connection for the scheduler's scans (see Database.reader). */
  constructor(db: Kysely<DB>, reader: Kysely<DB> = db) {
    this.catalogs = new CatalogRepository(db);
    this.policies = new DatasetPolicyRepository(db, reader);
    this.scan = new ScanRepository(db, reader);
    this.decisions = new DecisionRepository(db);
    this.runs = new RunRepository(db);
    this.observations = new ObservationRepository(db);
    this.history = new HistoryRepository(db);
    this.hindsight = new HindsightRepository(db);
    this.pending = new PendingRepository(db);
    this.costHistory = new CostHistoryRepository(db, reader);
  }

  /** The dataset page (web/pages/dataset-detail.ts) reads a stored decision here; it should ask TieringService.decision(). */
  decision(datasetId: number): Promise<DecisionRow | undefined> {
    return this.decisions.get(datasetId);
  }
}
