import type { Trace, TraceEvent } from '../../../src/tiering/sim/trace';
import { DAY_MS, WORKLOADS } from '../../../src/tiering/sim/workloads';

const gen = (workload: string, datasets: number, days: number, seed = 1): Trace =>
  WORKLOADS[workload]!.generate({ datasets, days, seed });

function byDataset(t: Trace): Map<string, TraceEvent[]> {
  const m = new Map<string, TraceEvent[]>();
  for (const ev of t.events()) {
    let a = m.get(ev.dataset);
    if (!a) m.set(ev.dataset, (a = []));
    a.push(ev);
  }
  return m;
}

describe('workloads the policy was not tuned on (issue 13)', () => {
  test.each(['staged', 'weekly-batch', 'slow-cooling', 'archive', 'idle-among-busy'])(
    'when %s is generated, then its expected use is known for every dataset and matches what was drawn',
    (name) => {
      const days = 60;
      const t = gen(name, 400, days);
      const use = t.expected!();
      expect([...use.known].every((k) => k === 1)).toBe(true);
      let reads = 0;
      let writes = 0;
      for (const ev of t.events()) {
        if (ev.type === 'read') reads++;
        else writes++;
      }
      const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
      // Within four standard deviations of a Poisson count (most are in a tenth of one).
      const near = (drawn: number, expected: number): boolean =>
        Math.abs(drawn - expected) < 4 * Math.sqrt(expected) + 1;
      expect(near(reads, sum(use.reads))).toBe(true);
      expect(near(writes, sum(use.writes))).toBe(true);
    },
  );

  test('when data is staged, then nothing reads a dataset in the 3 days after its creation write', () => {
    const t = gen('staged', 500, 90);
    const created = new Map(t.catalog.datasets.map((d) => [d.name, d.created_at]));
    let early = 0;
    let read = 0;
    for (const ev of t.events()) {
      if (ev.type !== 'read') continue;
      read++;
      if (ev.ts < created.get(ev.dataset)! + 3 * DAY_MS) early++;
    }
    expect(read).toBeGreaterThan(1_000);
    expect(early).toBe(0);
  });

  test('when a weekly batch runs, then each dataset is read whole once a week on one weekday, not as a scan', () => {
    const t = gen('weekly-batch', 200, 28);
    const size = new Map(t.catalog.datasets.map((d) => [d.name, d.size_bytes]));
    for (const [name, evs] of byDataset(t)) {
      const whole = evs.filter((e) => e.type === 'read' && e.bytes === size.get(name) && e.bytes > 1024 ** 2);
      if (size.get(name)! <= 1024 ** 2) continue; // a small dataset's every read is whole
      expect(whole.length).toBeGreaterThanOrEqual(4);
      expect(new Set(whole.map((e) => new Date(e.ts).getUTCDay())).size).toBeLessThanOrEqual(2);
      expect(whole.every((e) => e.scan === undefined)).toBe(true);
    }
  });

  test('when data cools slowly, then a month after creation it is still read about a third as much as on day 1', () => {
    const t = gen('slow-cooling', 3_000, 180);
    const created = new Map(t.catalog.datasets.map((d) => [d.name, d.created_at]));
    const byAge = new Float64Array(200);
    for (const ev of t.events()) {
      if (ev.type !== 'read') continue;
      const age = Math.floor((ev.ts - created.get(ev.dataset)!) / DAY_MS);
      if (age < 200) byAge[age]!++;
    }
    const ratio = byAge[30]! / byAge[1]!;
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.5);
    expect(byAge[90]!).toBeLessThan(byAge[30]!);
  });

  test('when the archive is generated, then every night scans each dataset and its real reads are rare whole audits', () => {
    const days = 30;
    const t = gen('archive', 300, days);
    const size = new Map(t.catalog.datasets.map((d) => [d.name, d.size_bytes]));
    let scans = 0;
    let audits = 0;
    for (const ev of t.events()) {
      if (ev.scan) scans++;
      else if (ev.type === 'read') {
        audits++;
        expect(ev.bytes).toBe(size.get(ev.dataset));
      }
    }
    expect(scans).toBe(300 * days);
    expect(audits / (300 * days)).toBeLessThan(0.05);
  });

  test('when a few idle datasets sit among busy ones, then about 5% are read at most once in two months', () => {
    const t = gen('idle-among-busy', 2_000, 60);
    const reads = new Map(t.catalog.datasets.map((d) => [d.name, 0]));
    for (const ev of t.events()) if (ev.type === 'read') reads.set(ev.dataset, reads.get(ev.dataset)! + 1);
    const idle = [...reads.values()].filter((n) => n <= 1).length / 2_000;
    expect(idle).toBeGreaterThan(0.03);
    expect(idle).toBeLessThan(0.07);
  });
});
