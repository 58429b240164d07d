import { ConfigError, parseConfig } from '../../../src/config';

const PG = 'postgres://dim@db:5432/dim';
const sharedOf = (c: ReturnType<typeof parseConfig>): Record<string, boolean> =>
  Object.fromEntries(Object.entries(c.storage.stores).map(([l, s]) => [l, s.shared]));

describe('cluster settings', () => {
  test('when nothing is set, then the lease lasts 15 s, no store is shared and the instance id is generated later', () => {
    const c = parseConfig({});
    expect(c.cluster).toEqual({ instanceId: undefined, leaseTtlMs: 15_000 });
    // Whether a store is shared is now read with the store (STORE_<LOCATION>_SHARED).
    expect(sharedOf(c)).toEqual({ ONPREM: false, PRIVATE: false, PUBLIC: false });
  });

  test('when DATABASE_URL is set and a location keeps a local folder, then loading fails naming STORE_<LOCATION>_SHARED', () => {
    const env = { DATABASE_URL: PG, STORE_ONPREM_SHARED: 'true', STORE_PRIVATE_SHARED: 'true' };
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(/^STORE_PUBLIC_SHARED: .*reachable from all of them/);
  });

  test('when DATABASE_URL is set and every store is S3 or declared shared, then the config loads', () => {
    const c = parseConfig({
      DATABASE_URL: PG,
      STORE_ONPREM_SHARED: 'true',
      STORE_PRIVATE: 's3://bucket/private',
      STORE_PUBLIC_SHARED: 'yes',
      INSTANCE_ID: 'node-a',
      LEASE_TTL: '30s',
    });
    expect(c.cluster).toEqual({ instanceId: 'node-a', leaseTtlMs: 30_000 });
    expect(sharedOf(c)).toEqual({ ONPREM: true, PRIVATE: true, PUBLIC: true });
  });

  test.each([
    ['LEASE_TTL', '500ms'],
    ['LEASE_TTL', 'soon'],
    ['STORE_ONPREM_SHARED', 'maybe'],
  ])('when %s is %p, then loading fails naming the variable', (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });
});
