import path from 'node:path';
import { AlertService } from '../src/alerts/service';
import { AlertRepository } from '../src/alerts/repository';
import { Database } from '../src/db/database';
import { createLogger } from '../src/platform/logger';
import { tempDir } from './support/harness';

/**
 * An acknowledgement that lands while a check is gathering its conditions: the check saw the
 * gap before it was acknowledged, and must not open the alert again from that stale view.
 */
describe('alerts: an acknowledgement during a check', () => {
  let database: Database;
  afterEach(async () => {
    await database.stop();
  });

  test('when an operator acknowledges a gap while a check gathers, then that check does not reopen it', async () => {
    database = new Database({
      path: path.join(tempDir(), 'db.sqlite'),
      synchronous: 'NORMAL',
      logger: createLogger('silent'),
    });
    await database.start();
    const gap = { id: 1, topic: 'dataset-events', partition: 0, from_offset: 10, to_offset: 15 };
    let acknowledged = false;
    // The check's read of the gaps can be held open, so the acknowledgement runs inside it.
    let hold: Promise<void> | undefined;
    const gaps = async () => {
      const seen = acknowledged ? [] : [gap];
      if (hold) await hold;
      return seen;
    };
    let now = 1_000_000;
    const alerts = new AlertService({
      repo: new AlertRepository(database.db),
      sources: { gaps, lag: async () => 0, lagThreshold: 10, health: async () => ({}) },
      acknowledgeGap: async () => {
        acknowledged = true;
      },
      webhook: undefined,
      retention: { maxAgeMs: 90 * 86_400_000, maxRows: 10_000 },
      clock: { now: () => now++ },
      logger: createLogger('silent'),
      intervalMs: 3_600_000,
    });
    await alerts.evaluate();
    const [opened] = await alerts.open();
    expect(opened).toMatchObject({ key: 'stream.gap' });

    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const check = alerts.evaluate();
    await new Promise((r) => setTimeout(r, 20));
    hold = undefined;
    await alerts.acknowledge(opened!.id, 'user:op');
    release();
    await check;

    expect(await alerts.open()).toEqual([]);
    await alerts.evaluate();
    expect(await alerts.open()).toEqual([]);
  });
});
