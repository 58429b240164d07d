import { HeadObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../../../src/platform';
import { type ObjectStores, StoredObjects, type TierTree } from '../../../src/storage';
import { S3ObjectStore } from '../../../src/storage/stores/s3-object-store';

/**
 * The restore decision for classes that must be restored before reading (GLACIER,
 * DEEP_ARCHIVE). s3rver cannot emulate a restore, so the S3 client here is a fake that answers
 * HeadObject as AWS does and records RestoreObject calls.
 */
function fakeClient(head: { StorageClass: string; Restore?: string }): { client: S3Client; restores: unknown[] } {
  const restores: unknown[] = [];
  const client = {
    send: (cmd: unknown) => {
      if (cmd instanceof HeadObjectCommand) return Promise.resolve({ ContentLength: 5000, ETag: '"e"', ...head });
      if (cmd instanceof RestoreObjectCommand) {
        restores.push(cmd.input);
        return Promise.resolve({});
      }
      return Promise.reject(new Error(`unexpected ${String(cmd)}`));
    },
  } as unknown as S3Client;
  return { client, restores };
}

function objectsOver(store: S3ObjectStore): StoredObjects {
  const stores = { of: () => store } as unknown as ObjectStores;
  return new StoredObjects({ stores, tree: {} as TierTree });
}

const spec = (cold: string) =>
  ({
    kind: 's3',
    location: 'PUBLIC',
    bucket: 'b-1',
    prefix: '',
    endpoint: undefined,
    region: 'us-east-1',
    pathStyle: false,
    classes: { HOT: 'STANDARD', WARM: 'STANDARD_IA', COLD: cold },
    shared: true,
  }) as const;

describe('reading an object in a class that needs a restore', () => {
  test('when nothing was restored yet, then the read starts a restore and answers 409 with when it is ready', async () => {
    const { client, restores } = fakeClient({ StorageClass: 'DEEP_ARCHIVE' });
    const objects = objectsOver(new S3ObjectStore(spec('DEEP_ARCHIVE'), client));
    const err = await objects.source('PUBLIC', 'COLD', 'a'.repeat(32)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(409);
    expect((err as Error).message).toMatch(/DEEP_ARCHIVE.*restore is running, ready about/);
    expect(restores).toHaveLength(1);
  });

  test('when a restore is running, then the read answers 409 without asking for another', async () => {
    const { client, restores } = fakeClient({ StorageClass: 'GLACIER', Restore: 'ongoing-request="true"' });
    const objects = objectsOver(new S3ObjectStore(spec('GLACIER'), client));
    await expect(objects.source('PUBLIC', 'COLD', 'b'.repeat(32))).rejects.toMatchObject({ status: 409 });
    expect(restores).toHaveLength(0);
  });

  test('when the restored copy is ready, or the class reads at once, then the object is read', async () => {
    for (const head of [
      { StorageClass: 'GLACIER', Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2040 00:00:00 GMT"' },
      { StorageClass: 'GLACIER_IR' },
    ]) {
      const { client, restores } = fakeClient(head);
      const objects = objectsOver(new S3ObjectStore(spec('GLACIER'), client));
      await expect(objects.source('PUBLIC', 'COLD', 'c'.repeat(32))).resolves.toMatchObject({ size: 5000 });
      expect(restores).toHaveLength(0);
    }
  });
});
