/**
 * `npm run cli -- recover [--dry-run] [--json]`: with the product stopped, on the same
 * configuration and master key as `npm start`, rebuilds the catalog of datasets with content
 * from the objects in every location's store (their labels), or compares an existing database
 * with the stores and repairs the differences. It opens the database and the stores directly:
 * no instance is involved.
 */
import { type Config, ConfigError, loadConfig } from '../config';
import { Database } from '../db';
import { createLogger, systemClock } from '../platform';
import {
  CatalogRecovery,
  Keyring,
  NOT_IN_OBJECTS,
  ObjectStores,
  type RecoverReport,
  StoredObjects,
  TierTree,
} from '../storage';

export async function recover(opts: { dryRun: boolean; json: boolean }, env?: NodeJS.ProcessEnv): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Warnings only, on stderr: the report is the output.
  const logger = createLogger('warn', { part: 'recover' }, (l) => void process.stderr.write(l));
  const database = new Database({ path: config.databasePath, synchronous: 'FULL', url: config.databaseUrl, logger });
  await database.start();
  try {
    const keyring = new Keyring(
      database.db,
      {
        encryptionKey: config.storage.encryptionKey,
        encryptionKeyFile: config.storage.encryptionKeyFile,
        // Objects written before a master key rotation finished unwrap with the previous key.
        previousKey: config.storage.previousKey,
        previousKeyFile: config.storage.previousKeyFile,
        dataDir: config.dataDir,
      },
      systemClock,
      logger,
    );
    await keyring.start();
    const stores = await ObjectStores.open(config.storage.stores, config.dataDir);
    const objects = new StoredObjects({ stores, tree: new TierTree(config.dataDir, stores.fileRoots()) });
    const report = await new CatalogRecovery({ db: database.db, objects, keyring, clock: systemClock }).run(opts);
    process.stdout.write(
      opts.json ? JSON.stringify({ ...report, note: NOT_IN_OBJECTS }, null, 2) + '\n' : text(report),
    );
    return report.findings.some((f) => f.action === 'unreadable') ? 1 : 0;
  } finally {
    await database.stop();
  }
}

function text(r: RecoverReport): string {
  const lines = [
    `${r.dryRun ? 'recover (dry run: nothing written)' : 'recover'}: ${r.objects} objects in the stores, ` +
      `${r.matched} already in the catalog where they are`,
  ];
  const counts = new Map<string, number>();
  for (const f of r.findings) counts.set(f.action, (counts.get(f.action) ?? 0) + 1);
  if (counts.size > 0) lines.push([...counts].map(([a, n]) => `${a}: ${n}`).join(', '));
  for (const f of r.findings) {
    const who = [f.dataset_id === undefined ? '' : `dataset ${f.dataset_id}`, f.object ?? ''].filter(Boolean).join(' ');
    lines.push(`  ${f.action.padEnd(10)} ${who}: ${f.detail}`);
  }
  if (r.temporaries > 0)
    lines.push(`${r.temporaries} temporary files (interrupted writes) are left; the next start removes them`);
  lines.push(NOT_IN_OBJECTS);
  return lines.join('\n') + '\n';
}
