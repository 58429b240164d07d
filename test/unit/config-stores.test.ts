import { ConfigError, parseConfig } from '../../src/config';

describe('object store config', () => {
  test('when no STORE_* is set, then every location keeps its folder under DATA_DIR', () => {
    const { stores } = parseConfig({}, '/srv/app').storage;
    for (const l of ['ONPREM', 'PRIVATE', 'PUBLIC'] as const)
      expect(stores[l]).toEqual({ kind: 'file', location: l, root: undefined, shared: false });
  });

  test('when a location names a file URL and SHARED, then it is that absolute folder on a shared mount', () => {
    const { stores } = parseConfig({ STORE_ONPREM: 'file:///mnt/nfs/dim/', STORE_ONPREM_SHARED: 'true' }).storage;
    expect(stores.ONPREM).toEqual({ kind: 'file', location: 'ONPREM', root: '/mnt/nfs/dim', shared: true });
  });

  test('when a location names an S3 bucket, then its endpoint, region, style and classes are read', () => {
    const { stores } = parseConfig({
      STORE_PRIVATE: 's3://dim-private/tiers/a',
      STORE_PRIVATE_ENDPOINT: 'http://minio:9000',
      STORE_PRIVATE_REGION: 'eu-west-1',
      STORE_PRIVATE_PATH_STYLE: 'true',
      STORE_PRIVATE_CLASSES: 'COLD:DEEP_ARCHIVE',
      STORE_PUBLIC: 's3://dim-public',
    }).storage;
    expect(stores.PRIVATE).toEqual({
      kind: 's3',
      location: 'PRIVATE',
      bucket: 'dim-private',
      prefix: 'tiers/a/',
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      pathStyle: true,
      classes: { HOT: 'STANDARD', WARM: 'STANDARD_IA', COLD: 'DEEP_ARCHIVE' },
      shared: true,
    });
    expect(stores.PUBLIC).toMatchObject({ kind: 's3', bucket: 'dim-public', prefix: '', endpoint: undefined });
  });

  test.each([
    ['STORE_PUBLIC', { STORE_PUBLIC: 'ftp://x/y' }],
    ['STORE_PUBLIC', { STORE_PUBLIC: 'file://relative/path' }],
    ['STORE_PUBLIC', { STORE_PUBLIC: 's3://B_ad/x' }],
    ['STORE_PUBLIC', { STORE_PUBLIC: 's3://key:secret@bucket/x' }],
    ['STORE_PUBLIC', { STORE_PUBLIC: 'not a url' }],
    ['STORE_PUBLIC_CLASSES', { STORE_PUBLIC: 's3://bucket', STORE_PUBLIC_CLASSES: 'TEPID:STANDARD' }],
    ['STORE_PUBLIC_CLASSES', { STORE_PUBLIC: 's3://bucket', STORE_PUBLIC_CLASSES: 'COLD' }],
    ['STORE_PUBLIC_ENDPOINT', { STORE_PUBLIC: 's3://bucket', STORE_PUBLIC_ENDPOINT: 'nowhere' }],
    ['STORE_PUBLIC_PATH_STYLE', { STORE_PUBLIC: 's3://bucket', STORE_PUBLIC_PATH_STYLE: 'maybe' }],
    ['STORE_ONPREM_SHARED', { STORE_ONPREM_SHARED: 'perhaps' }],
  ])('when %s is wrong, then start-up fails naming it', (variable, env) => {
    let err: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
  });
});
