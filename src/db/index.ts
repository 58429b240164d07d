export { bulkAddJson, bulkWrite, bulkWriteJson } from './bulk';
export { Database, type Db } from './database';
export { fenced, isWriteRefused, WriteRefused, type Fence } from './fence';
export { asFlag, dbNow, dialectOf, greatest, least, type DialectName } from './dialect';
export { isBusy, isDataError, isUniqueViolation } from './errors';
export { together } from './together';
export {
  ACTIVE_MOVE_STATES,
  LOCATIONS,
  MOVE_STATES,
  TIERS,
  type AlertOutboxTable,
  type AlertsTable,
  type ApiKeysTable,
  type CostHistoryTable,
  type BucketResolution,
  type DB,
  type DatasetRow,
  type DatasetStatsRow,
  type DatasetStatsTable,
  type IntegrityFinder,
  type LeasesTable,
  type DecisionsTable,
  type Location,
  type MoveRow,
  type MoveState,
  type NewDataset,
  type Tier,
} from './schema';
