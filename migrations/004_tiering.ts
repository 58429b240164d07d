import { sql, type Kysely } from 'kysely';
import { portable } from './portable';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  // Price catalogs are versioned: a decision names the version it was priced with.
  await db.schema
    .createTable('catalog_versions')
    .addColumn('version', t.int, (c) => t.autoId(c))
    .addColumn('catalog', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('created_at', t.int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dataset_policies')
    .addColumn('dataset_id', t.int, (c) => c.primaryKey().references('datasets.id').onDelete('cascade'))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('auto','pinned','never-tier')`))
    .addColumn('pin_location', 'text', (c) => c.check(sql`pin_location in ('ONPREM','PRIVATE','PUBLIC')`))
    .addColumn('pin_tier', 'text', (c) => c.check(sql`pin_tier in ('HOT','WARM','COLD')`))
    .addColumn('max_latency_ms', t.real)
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .execute();

  // The latest decision for each dataset, replaced on every run.
  await db.schema
    .createTable('decisions')
    .addColumn('dataset_id', t.int, (c) => c.primaryKey().references('datasets.id').onDelete('cascade'))
    .addColumn('run_id', t.int, (c) => c.notNull())
    .addColumn('made_at', t.int, (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('stay','move','held')`))
    .addColumn('rule', 'text')
    .addColumn('from_location', 'text', (c) => c.notNull())
    .addColumn('from_tier', 'text', (c) => c.notNull())
    .addColumn('to_location', 'text', (c) => c.notNull())
    .addColumn('to_tier', 'text', (c) => c.notNull())
    .addColumn('forecast_accesses', t.real, (c) => c.notNull())
    .addColumn('cost_now_month', t.real, (c) => c.notNull())
    .addColumn('cost_target_month', t.real, (c) => c.notNull())
    .addColumn('saving_month', t.real, (c) => c.notNull())
    .addColumn('move_cost', t.real, (c) => c.notNull())
    .addColumn('break_even_days', t.real)
    .addColumn('catalog_version', t.int, (c) => c.notNull())
    .addColumn('explanation', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('decisions_action').on('decisions').columns(['action', 'saving_month']).execute();

  // Decisions that were carried out as moves, kept after later runs replace `decisions`.
  await db.schema
    .createTable('decision_log')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('run_id', t.int, (c) => c.notNull())
    .addColumn('made_at', t.int, (c) => c.notNull())
    .addColumn('from_location', 'text', (c) => c.notNull())
    .addColumn('from_tier', 'text', (c) => c.notNull())
    .addColumn('to_location', 'text', (c) => c.notNull())
    .addColumn('to_tier', 'text', (c) => c.notNull())
    .addColumn('rule', 'text')
    .addColumn('saving_month', t.real, (c) => c.notNull())
    .addColumn('catalog_version', t.int, (c) => c.notNull())
    .addColumn('explanation', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('decision_log_dataset').on('decision_log').columns(['dataset_id', 'id']).execute();

  await db.schema
    .createTable('scheduler_runs')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('started_at', t.int, (c) => c.notNull())
    .addColumn('finished_at', t.int)
    .addColumn('datasets', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('moves', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('held', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('catalog_version', t.int)
    .addColumn('error', 'text')
    .execute();

  // Settings changed through the API (scheduler interval, budgets, policy knobs), over the config.
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('predictor_state')
    .addColumn('id', t.int, (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .execute();

  // A sample of forecasts, each labelled once its horizon has passed: the training data and the
  // measure of the model's quality.
  await db.schema
    .createTable('forecast_observations')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('observed_at', t.int, (c) => c.notNull())
    .addColumn('due_at', t.int, (c) => c.notNull())
    .addColumn('features', 'text', (c) => c.notNull())
    .addColumn('warm_total', t.int, (c) => c.notNull())
    .addColumn('predicted', t.real, (c) => c.notNull())
    .addColumn('seed_regression', t.real, (c) => c.notNull())
    .addColumn('seed_ewma', t.real, (c) => c.notNull())
    .addColumn('actual', t.real)
    .addColumn('matured_at', t.int)
    .execute();
  await sql`create index forecast_observations_due on forecast_observations (due_at) where actual is null`.execute(db);
  await db.schema
    .createIndex('forecast_observations_matured')
    .on('forecast_observations')
    .column('matured_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'forecast_observations',
    'predictor_state',
    'settings',
    'scheduler_runs',
    'decision_log',
    'decisions',
    'dataset_policies',
    'catalog_versions',
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
