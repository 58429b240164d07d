import { HeadObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ObjectStores, StoredObjects, type TierTree } from '../../../src/storage';
import { S3ObjectStore } from '../../../src/storage/stores/s3-object-store';
import { RESTORE_GRACE_MS, RestoreFailed, SourceRestores, restoreWait } from '../../../src/storage/moves/restore-wait';

/**
 * When a move's source can be read. s3rver cannot restore, so the S3 client is a fake that
 * answers HeadObject as AWS does for an archived object and records RestoreObject calls.
 */
function restoresOver(head: { StorageClass: string; Restore?: string }, fail?: string) {
  const restores: unknown[] = [];
  const client = {
    send: (cmd: unknown) => {
      if (cmd instanceof HeadObjectCommand) return Promise.resolve({ ContentLength: 5000, ETag: '"e"', ...head });
      if (cmd instanceof RestoreObjectCommand) {
        restores.push(cmd.input);
        return fail ? Promise.reject(Object.assign(new Error(fail), { name: 'AccessDenied' })) : Promise.resolve({});
      }
      return Promise.reject(new Error(`unexpected ${String(cmd)}`));
    },
  } as unknown as S3Client;
  const store = new S3ObjectStore(
    {
      kind: 's3',
      location: 'PUBLIC',
      bucket: 'b-1',
      prefix: '',
      endpoint: undefined,
      region: 'us-east-1',
      pathStyle: false,
      classes: { HOT: 'STANDARD', WARM: 'STANDARD_IA', COLD: head.StorageClass },
      shared: true,
    },
    client,
  );
  const objects = new StoredObjects({ stores: { of: () => store } as unknown as ObjectStores, tree: {} as TierTree });
  return { check: new SourceRestores({ objects, checkEveryMs: 60_000 }), restores };
}

const COLD = { location: 'PUBLIC', tier: 'COLD' } as const;
const ID = 'a'.repeat(32);
const HOUR = 3_600_000;

describe('a move waiting for its source to be restored', () => {
  test('when the source was never restored, then a restore is started for two days at Standard and the move waits about 12 h (DEEP_ARCHIVE)', async () => {
    const { check, restores } = restoresOver({ StorageClass: 'DEEP_ARCHIVE' });
    const now = Date.now();
    const r = await check.check(COLD, ID, null, now);
    expect(r).toMatchObject({ ready: false, storageClass: 'DEEP_ARCHIVE' });
    expect(r.ready ? 0 : r.readyAt - now).toBeGreaterThanOrEqual(12 * HOUR - 1_000);
    expect(restores).toEqual([
      { Bucket: 'b-1', Key: `COLD/${ID}.enc`, RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } },
    ]);
  });

  test('when a restore is running, then no second one is asked for and the first expected time is kept', async () => {
    const { check, restores } = restoresOver({ StorageClass: 'GLACIER', Restore: 'ongoing-request="true"' });
    const expected = Date.now() + 2 * HOUR;
    await expect(check.check(COLD, ID, expected)).resolves.toEqual({
      ready: false,
      storageClass: 'GLACIER',
      readyAt: expected,
    });
    expect(restores).toHaveLength(0);
  });

  test('when the restored copy is there, or the class reads at once, then the source is ready', async () => {
    const later = new Date(Date.now() + 86_400_000).toUTCString();
    for (const head of [
      { StorageClass: 'GLACIER', Restore: `ongoing-request="false", expiry-date="${later}"` },
      { StorageClass: 'GLACIER_IR' },
    ]) {
      const { check, restores } = restoresOver(head);
      await expect(check.check(COLD, ID, Date.now() - HOUR)).resolves.toEqual({ ready: true });
      expect(restores).toHaveLength(0);
    }
  });

  test('when the restored copy expired before the move got to it, then the restore is asked for again', async () => {
    const { check, restores } = restoresOver({ StorageClass: 'GLACIER' });
    const r = await check.check(COLD, ID, Date.now() - 3 * HOUR);
    expect(r.ready).toBe(false);
    expect(restores).toHaveLength(1);
  });

  test('when the restore cannot be started, then the check fails with the reason', async () => {
    const { check } = restoresOver({ StorageClass: 'GLACIER' }, 'no permission to restore');
    const err = await check.check(COLD, ID, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreFailed);
    expect((err as Error).message).toBe(
      'the restore of the source (GLACIER) could not be started: no permission to restore; the object stays where it is',
    );
  });

  test('when a restore runs a day past its expected time, then the move is given up', async () => {
    const { check } = restoresOver({ StorageClass: 'GLACIER', Restore: 'ongoing-request="true"' });
    const expected = Date.now() - RESTORE_GRACE_MS - 1_000;
    await expect(check.check(COLD, ID, expected)).rejects.toThrow(/had not finished by .*: the move is given up/);
  });

  test('when the next look is planned, then it is at the expected time, or sooner by the check interval, never at once', () => {
    const { check } = restoresOver({ StorageClass: 'GLACIER' });
    const now = 1_000_000;
    expect(check.nextCheck(now + 5 * HOUR, now)).toBe(now + 60_000);
    expect(check.nextCheck(now + 30_000, now)).toBe(now + 30_000);
    expect(check.nextCheck(now - 5_000, now)).toBe(now + 1_000);
  });

  test('when a planned move waits for a restore, then it reads "waiting for restore, ready about …"; otherwise nothing', () => {
    const at = Date.UTC(2026, 11, 3, 20, 0, 0);
    expect(restoreWait({ state: 'planned', restore_ready_at: at })).toBe(
      'waiting for restore, ready about 2026-12-03T20:00:00Z',
    );
    expect(restoreWait({ state: 'copying', restore_ready_at: at })).toBeNull();
    expect(restoreWait({ state: 'planned', restore_ready_at: null })).toBeNull();
  });
});
