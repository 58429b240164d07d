import { ConfigError, parseConfig } from '../../src/config';

describe('config', () => {
  test('when nothing is set, then the defaults are the original demo port and the embedded bus', () => {
    const c = parseConfig({}, '/srv/app');
    expect(c.port).toBe(8000);
    expect(c.dataDir).toBe('/srv/app/data');
    expect(c.kafka).toBeUndefined();
    expect(c.apiKey).toBeUndefined();
  });

  test('when KAFKA_BOOTSTRAP is set, then Kafka settings are read with their defaults', () => {
    const c = parseConfig({
      KAFKA_BOOTSTRAP: 'b1:9092,b2:9092',
      KAFKA_PARTITIONS: '12',
      KAFKA_EXTRA_CONFIG: 'security.protocol=ssl, ssl.ca.location=/ca.pem',
    });
    expect(c.kafka).toMatchObject({
      bootstrap: 'b1:9092,b2:9092',
      topic: 'dataset-events',
      groupId: 'data-in-motion',
      partitions: 12,
    });
    expect(c.kafka!.extra).toEqual({ 'security.protocol': 'ssl', 'ssl.ca.location': '/ca.pem' });
  });

  test.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['API_KEY', 'short'],
    ['BASE_URL', 'ftp://x'],
    ['INGEST_MAX_BODY', '12 parsecs'],
    ['STATS_MINUTE_RETENTION', 'forever'],
    ['SQLITE_SYNCHRONOUS', 'OFF'],
    ['ALERT_RETENTION', '10m'],
    ['ALERT_RETENTION', 'a while'],
    ['ALERT_MAX_ROWS', '5'],
  ])('when %s is %p, then loading fails naming the variable', (name, value) => {
    const env: Record<string, string> = { [name]: value };
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(`^${name}: `));
  });

  test('when KAFKA_TOPIC is invalid, then loading fails naming it', () => {
    expect(() => parseConfig({ KAFKA_BOOTSTRAP: 'x:1', KAFKA_TOPIC: 'bad topic!' })).toThrow(/^KAFKA_TOPIC: /);
  });

  test('when sizes and durations carry units, then they are converted', () => {
    const c = parseConfig({ INGEST_MAX_BODY: '2mb', STATS_MINUTE_RETENTION: '6h', IDEMPOTENCY_WINDOW: '1d' });
    expect(c.ingest.maxBodyBytes).toBe(2 * 1024 * 1024);
    expect(c.stats.minuteRetentionMs).toBe(6 * 3_600_000);
    expect(c.stats.idempotencyWindowMs).toBe(86_400_000);
  });

  test('when DATABASE_URL is unset, then the state is the SQLite file; when it is a postgres URL, then PostgreSQL', () => {
    expect(parseConfig({}).databaseUrl).toBeUndefined();
    const url = 'postgres://dim:s3cret@db.internal:5432/dim';
    // Several instances may share PostgreSQL: the stores must be too (issue 14).
    const shared = { STORE_ONPREM_SHARED: 'true', STORE_PRIVATE_SHARED: 'true', STORE_PUBLIC_SHARED: 'true' };
    expect(parseConfig({ DATABASE_URL: url, ...shared }).databaseUrl).toBe(url);
    expect(parseConfig({ DATABASE_URL: 'postgresql://db/dim', ...shared }).databaseUrl).toBe('postgresql://db/dim');
  });

  test.each([['not a url at all'], ['mysql://u:s3cret@db/dim'], ['postgres://u:s3cret@db:5432/']])(
    'when DATABASE_URL is %p, then loading fails naming it without repeating the password',
    (url) => {
      let err: unknown;
      try {
        parseConfig({ DATABASE_URL: url });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^DATABASE_URL: /);
      expect((err as Error).message).not.toContain('s3cret');
    },
  );

  test('when DATABASE_URL and BACKUP_DIR are both set, then loading fails: PostgreSQL is backed up with pg_dump', () => {
    expect(() => parseConfig({ DATABASE_URL: 'postgres://db/dim', BACKUP_DIR: '/backups' })).toThrow(
      /^BACKUP_DIR: .*pg_dump/,
    );
  });
});

describe('alert retention', () => {
  test('when ALERT_RETENTION and ALERT_MAX_ROWS are unset, then closed alerts are kept 90 days and 10,000 rows at most', () => {
    expect(parseConfig({}).alerts).toMatchObject({ retentionMs: 90 * 86_400_000, maxRows: 10_000 });
    expect(parseConfig({ ALERT_RETENTION: '7d', ALERT_MAX_ROWS: '500' }).alerts).toMatchObject({
      retentionMs: 7 * 86_400_000,
      maxRows: 500,
    });
  });
});
