import type { Migration } from 'kysely';
import * as m001 from './001_event_pipeline';
import * as m002 from './002_bucket_rollup';
import * as m003 from './003_storage';
import * as m004 from './004_tiering';
import * as m005 from './005_decay_30d';
import * as m006 from './006_users';
import * as m007 from './007_api_keys';
import * as m008 from './008_api_key_last_used';
import * as m009 from './009_integrity';
import * as m010 from './010_stream_gaps';
import * as m011 from './011_move_copy';
import * as m012 from './012_pending_saving';
import * as m013 from './013_cost_history';
import * as m014 from './014_alerts';
import * as m015 from './015_recommendations_order';
import * as m016 from './016_master_rotation';
import * as m017 from './017_cluster';
import * as m018 from './018_alert_outbox';
import * as m019 from './019_move_restore';
import * as m020 from './020_large_reads';
import * as m021 from './021_accesses_index';
import * as m022 from './022_last_access_index';
import * as m023 from './023_read_phases';
import * as m024 from './024_bucket_user_reads';

/**
 * Every migration, in order. Listed by hand rather than read from the directory so the same
 * code runs compiled (dist/) and under ts-jest, and a stray file can never run by accident.
 */
export const migrations: Record<string, Migration> = {
  '001_event_pipeline': m001,
  '002_bucket_rollup': m002,
  '003_storage': m003,
  '004_tiering': m004,
  '005_decay_30d': m005,
  '006_users': m006,
  '007_api_keys': m007,
  '008_api_key_last_used': m008,
  '009_integrity': m009,
  '010_stream_gaps': m010,
  '011_move_copy': m011,
  '012_pending_saving': m012,
  '013_cost_history': m013,
  '014_alerts': m014,
  '015_recommendations_order': m015,
  '016_master_rotation': m016,
  '017_cluster': m017,
  '018_alert_outbox': m018,
  '019_move_restore': m019,
  '020_large_reads': m020,
  '021_accesses_index': m021,
  '022_last_access_index': m022,
  '023_read_phases': m023,
  '024_bucket_user_reads': m024,
};
