import { Registry } from '../../../src/platform';

describe('metric series', () => {
  test('when the same labels come in another order, then they count in one series', async () => {
    const r = new Registry();
    const c = r.counter('dim_test_total', 'test');
    c.inc(1, { method: 'POST', route: '/api/events', status: '2xx' });
    c.inc(2, { status: '2xx', route: '/api/events', method: 'POST' });
    const lines = (await r.scrape()).split('\n').filter((l) => l.startsWith('dim_test_total'));
    expect(lines).toEqual(['dim_test_total{method="POST",route="/api/events",status="2xx"} 3']);
  });

  test('when label values would run together, then they stay separate series', async () => {
    const r = new Registry();
    const h = r.histogram('dim_test_seconds', 'test', [1]);
    h.observe(0.5, { a: 'x', b: 'y' });
    h.observe(0.5, { a: 'x1:by' });
    h.observe(0.5, {});
    const counts = (await r.scrape()).split('\n').filter((l) => l.startsWith('dim_test_seconds_count'));
    expect(counts.sort()).toEqual([
      'dim_test_seconds_count 1',
      'dim_test_seconds_count{a="x",b="y"} 1',
      'dim_test_seconds_count{a="x1:by"} 1',
    ]);
  });
});
