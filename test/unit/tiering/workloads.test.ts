import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../src/tiering/sim/generate';
import type { Trace, TraceEvent } from '../../../src/tiering/sim/trace';
import { DAY_MS, DEFAULT_START, MIX_SHARES, Rng, WORKLOADS } from '../../../src/tiering/sim/workloads';
import { readTrace, writeTrace } from '../../../src/tiering/sim/trace-io';
import { summarizeTrace } from '../../../src/tiering/sim/trace-summary';

const H = 3_600_000;
const KB = 1024;
const GB = 1024 ** 3;
const TB = 1024 ** 4;

const gen = (workload: string, datasets: number, days: number, seed = 1): Trace =>
  WORKLOADS[workload]!.generate({ datasets, days, seed });
const all = (t: Trace): TraceEvent[] => [...t.events()];

/** Counts per key. */
function countBy<T>(xs: Iterable<T>, key: (x: T) => string | number | undefined): Map<string | number, number> {
  const m = new Map<string | number, number>();
  for (const x of xs) {
    const k = key(x);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workloads-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Rng', () => {
  test('when seeded alike, then it repeats; when the stream differs, then it does not', () => {
    const draw = (r: Rng): number[] => Array.from({ length: 5 }, () => r.next());
    expect(draw(new Rng(42, 3))).toEqual(draw(new Rng(42, 3)));
    expect(draw(new Rng(42, 3))).not.toEqual(draw(new Rng(42, 4)));
    expect(draw(new Rng(42, 3))).not.toEqual(draw(new Rng(43, 3)));
  });

  test.each([0.5, 7, 45, 2000])('when drawing Poisson(%p), then the sample mean and variance match', (lambda) => {
    const r = new Rng(9);
    const n = 20_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const k = r.poisson(lambda);
      s += k;
      s2 += k * k;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
    expect(variance / lambda).toBeGreaterThan(0.9);
    expect(variance / lambda).toBeLessThan(1.1);
  });
});

describe('workload generation', () => {
  test('when generated twice with one seed, then catalog and events are identical; another seed differs', () => {
    for (const name of ['mix', 'zipf']) {
      const a = gen(name, 300, 20, 7);
      const b = gen(name, 300, 20, 7);
      expect(b.catalog).toEqual(a.catalog);
      const ea = all(a);
      expect(all(b)).toEqual(ea);
      expect(all(a)).toEqual(ea); // events() replays the same sequence
      const c = gen(name, 300, 20, 8);
      expect(all(c)).not.toEqual(ea);
    }
  });

  test('when no options are given, then the defaults are 10,000 datasets over 180 days from 2025-01-01', () => {
    const t = WORKLOADS['read-once']!.generate();
    expect(t.catalog).toMatchObject({ workload: 'read-once', start: DEFAULT_START, days: 180 });
    expect(t.catalog.datasets).toHaveLength(10_000);
    expect(DEFAULT_START).toBe(Date.parse('2025-01-01T00:00:00Z'));
  });

  test('when options are invalid, then generate throws naming the option', () => {
    expect(() => WORKLOADS['zipf']!.generate({ datasets: 0 })).toThrow(/^datasets: /);
    expect(() => WORKLOADS['zipf']!.generate({ days: 1.5 })).toThrow(/^days: /);
    expect(() => WORKLOADS['zipf']!.generate({ seed: NaN })).toThrow(/^seed: /);
  });

  test('every workload has a name and a description for --help', () => {
    expect(Object.keys(WORKLOADS).sort()).toEqual([
      'archive',
      'cooling',
      'cycles',
      'idle-among-busy',
      'mix',
      'month-end',
      'nightly-scan',
      'read-once',
      'slow-cooling',
      'staged',
      'weekly-batch',
      'zipf',
    ]);
    for (const [name, w] of Object.entries(WORKLOADS)) {
      expect(w.name).toBe(name);
      expect(w.description.length).toBeGreaterThan(40);
    }
  });

  test.each(Object.keys(WORKLOADS))(
    'when %s is generated, then its events are ordered, in range, of catalog datasets, and never precede creation',
    (name) => {
      const days = 40;
      const t = gen(name, 300, days);
      const { start, datasets } = t.catalog;
      expect(t.catalog.workload).toBe(name);
      expect(datasets).toHaveLength(300);
      expect(new Set(datasets.map((d) => d.name)).size).toBe(300);
      const byName = new Map(datasets.map((d) => [d.name, d]));
      // Collect violations rather than expect() per event: tens of thousands of expects are slow.
      const problems: string[] = [];
      const bad = (ev: TraceEvent, why: string): void => {
        if (problems.length < 5) problems.push(`${why}: ${JSON.stringify(ev)}`);
      };
      let prev = -Infinity;
      let n = 0;
      for (const ev of t.events()) {
        n++;
        const ds = byName.get(ev.dataset);
        if (!ds) {
          bad(ev, 'unknown dataset');
          continue;
        }
        if (ev.ts < prev) bad(ev, 'out of order');
        if (ev.ts < start || ev.ts >= start + days * DAY_MS) bad(ev, 'outside the trace');
        if (ev.ts < ds.created_at) bad(ev, 'before creation');
        if (!Number.isInteger(ev.ts) || !Number.isInteger(ev.bytes)) bad(ev, 'not integer');
        if (ev.bytes < 0 || ev.bytes > ds.size_bytes) bad(ev, 'bytes outside [0, size]');
        if (ev.type !== 'read' && ev.type !== 'write') bad(ev, 'bad type');
        prev = ev.ts;
      }
      expect(problems).toEqual([]);
      expect(n).toBeGreaterThan(100);
      for (const d of datasets) {
        expect(d.location).toBeUndefined(); // the simulator's default placement
        expect(d.tier).toBeUndefined();
      }
    },
  );
});

describe('workload behaviours', () => {
  test('when datasets cool, then reads on day 1 after creation are about 10x those on day 7', () => {
    const days = 90;
    const t = gen('cooling', 500, days);
    const end = t.catalog.start + days * DAY_MS;
    // Datasets created inside the trace whose day 7 ends inside it too.
    const created = new Map(
      t.catalog.datasets
        .filter((d) => d.created_at >= t.catalog.start && d.created_at + 8 * DAY_MS <= end)
        .map((d) => [d.name, d.created_at]),
    );
    expect(created.size).toBeGreaterThan(300);
    const byAgeDay = countBy(t.events(), (ev) => {
      const c = created.get(ev.dataset);
      return c === undefined || ev.type !== 'read' ? undefined : Math.floor((ev.ts - c) / DAY_MS);
    });
    const day1 = byAgeDay.get(1)!;
    const day7 = byAgeDay.get(7)!;
    expect(day1 / day7).toBeGreaterThan(5);
    expect(day1 / day7).toBeLessThan(20);
    expect(byAgeDay.get(0)!).toBeGreaterThan(day1); // the first day is the hottest...
    expect(byAgeDay.get(30)!).toBeLessThan(day7 / 3); // ...and reads keep falling
    // Written mostly at creation: each new dataset's first event is a write of its whole size.
    const first = new Map<string, TraceEvent>();
    for (const ev of t.events()) if (created.has(ev.dataset) && !first.has(ev.dataset)) first.set(ev.dataset, ev);
    for (const [name, ev] of first) {
      expect(ev).toMatchObject({ type: 'write', ts: created.get(name) });
      expect(ev.bytes).toBe(t.catalog.datasets.find((d) => d.name === name)!.size_bytes);
    }
  });

  test('when popularity is Zipf, then the top 1% of datasets take a large share of reads and the bottom half very little', () => {
    const t = gen('zipf', 1000, 60);
    const reads = countBy(t.events(), (ev) => (ev.type === 'read' ? ev.dataset : undefined));
    const counts = t.catalog.datasets.map((d) => reads.get(d.name) ?? 0).sort((a, b) => b - a);
    const total = counts.reduce((s, x) => s + x, 0);
    const top1 = counts.slice(0, 10).reduce((s, x) => s + x, 0);
    const bottomHalf = counts.slice(500).reduce((s, x) => s + x, 0);
    expect(top1 / total).toBeGreaterThan(0.4);
    expect(bottomHalf / total).toBeLessThan(0.1);
    expect(total / (1000 * 60)).toBeGreaterThan(0.6); // ~0.8 reads per dataset-day
    expect(total / (1000 * 60)).toBeLessThan(1);
  });

  test('when usage cycles, then weekdays are much busier than weekends and business hours than nights', () => {
    const t = gen('cycles', 500, 28); // 2025-01-01 is a Wednesday: 20 weekdays, 8 weekend days
    const perDow = countBy(t.events(), (ev) => (ev.type === 'read' ? new Date(ev.ts).getUTCDay() : undefined));
    const weekday = [1, 2, 3, 4, 5].reduce((s, d) => s + perDow.get(d)!, 0) / 20;
    const weekend = (perDow.get(0)! + perDow.get(6)!) / 8;
    expect(weekday / weekend).toBeGreaterThan(4);
    const perHour = countBy(t.events(), (ev) => {
      const d = new Date(ev.ts);
      return ev.type === 'read' && d.getUTCDay() >= 1 && d.getUTCDay() <= 5 ? d.getUTCHours() : undefined;
    });
    const hours = Array.from({ length: 24 }, (_, h) => perHour.get(h) ?? 0);
    expect(Math.max(...hours) / Math.min(...hours)).toBeGreaterThan(3);
  });

  test('when reporting is at month end, then the last days of each month are far busier than mid-month', () => {
    const t = gen('month-end', 500, 90); // January to March
    const perDay = countBy(t.events(), (ev) =>
      ev.type === 'read' ? new Date(ev.ts).toISOString().slice(0, 10) : undefined,
    );
    const at = (date: string): number => perDay.get(date) ?? 0;
    const lastTwo = ['2025-01-30', '2025-01-31', '2025-02-27', '2025-02-28', '2025-03-30', '2025-03-31'].map(at);
    const midMonth = ['2025-01-15', '2025-02-14', '2025-03-14'].map(at);
    const avg = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(avg(lastTwo) / Math.max(1, avg(midMonth))).toBeGreaterThan(30);
    expect(avg(midMonth)).toBeLessThan(0.1 * 500); // idle: under one read per ten datasets a day
    expect(at('2025-02-01')).toBeGreaterThan(avg(midMonth)); // stragglers on the 1st...
    expect(at('2025-02-03')).toBeLessThan(at('2025-02-01')); // ...then cool again
  });

  test('when datasets are read once, then each is written at creation and read in full once or twice within days', () => {
    const days = 60;
    const t = gen('read-once', 400, days);
    const byDataset = new Map<string, TraceEvent[]>();
    for (const ev of t.events()) (byDataset.get(ev.dataset) ?? byDataset.set(ev.dataset, []).get(ev.dataset)!).push(ev);
    let twice = 0;
    for (const d of t.catalog.datasets) {
      const evs = byDataset.get(d.name)!;
      expect(evs[0]).toEqual({ ts: d.created_at, dataset: d.name, type: 'write', bytes: d.size_bytes });
      const reads = evs.slice(1);
      expect(reads.length).toBeLessThanOrEqual(2);
      for (const r of reads) {
        expect(r).toMatchObject({ type: 'read', bytes: d.size_bytes });
        expect(r.scan).toBeUndefined();
        expect(r.ts - d.created_at).toBeLessThan(5 * DAY_MS);
      }
      if (reads.length === 2) twice++;
      // Only a dataset created near the end may miss its read.
      if (reads.length === 0) expect(d.created_at).toBeGreaterThan(t.catalog.start + (days - 2) * DAY_MS);
    }
    expect(twice / 400).toBeGreaterThan(0.15);
    expect(twice / 400).toBeLessThan(0.4);
  });

  test('when datasets are scanned nightly, then every night has one flagged full-size scan per dataset and real reads are rare', () => {
    const days = 30;
    const t = gen('nightly-scan', 300, days);
    const size = new Map(t.catalog.datasets.map((d) => [d.name, d.size_bytes]));
    const scans = new Map<string, number>();
    let reads = 0;
    for (const ev of t.events()) {
      if (ev.scan) {
        expect(ev.type).toBe('read');
        expect(ev.bytes).toBe(size.get(ev.dataset));
        expect(new Date(ev.ts).getUTCHours()).toBeLessThan(6);
        scans.set(ev.dataset, (scans.get(ev.dataset) ?? 0) + 1);
      } else if (ev.type === 'read') {
        reads++;
        expect(ev).not.toHaveProperty('scan');
      }
    }
    expect(scans.size).toBe(300);
    for (const n of scans.values()) expect(n).toBe(days);
    expect(reads / (300 * days)).toBeLessThan(0.1);
  });

  test('when other workloads are generated, then none of their events are scans', () => {
    for (const name of ['cooling', 'zipf', 'cycles', 'month-end', 'read-once']) {
      for (const ev of gen(name, 100, 10).events()) expect(ev.scan).toBeUndefined();
    }
  });

  test('when the mix is generated at its default size, then it holds 10,000 datasets of every behaviour over 180 days and 1-5 million ordered events', () => {
    const t = WORKLOADS['mix']!.generate();
    const { datasets } = t.catalog;
    expect(datasets.length).toBeGreaterThanOrEqual(10_000);
    expect(t.catalog.days).toBe(180);
    const perKind = countBy(datasets, (d) => d.name.replace(/-\d+$/, ''));
    for (const [kind, share] of Object.entries(MIX_SHARES))
      expect(perKind.get(kind)).toBe(Math.round(share * datasets.length));
    // Sizes: log-normal-ish, median in the tens of GB, some small objects, nothing over 5 TB.
    const sizes = datasets.map((d) => d.size_bytes).sort((a, b) => a - b);
    expect(sizes[sizes.length >> 1]! / GB).toBeGreaterThan(10);
    expect(sizes[sizes.length >> 1]! / GB).toBeLessThan(50);
    expect(sizes.filter((s) => s < 128 * KB).length).toBeGreaterThan(100);
    expect(sizes[0]!).toBeGreaterThanOrEqual(KB);
    expect(sizes[sizes.length - 1]!).toBeLessThanOrEqual(5 * TB);
    let n = 0;
    let prev = -Infinity;
    let ordered = true;
    for (const ev of t.events()) {
      n++;
      if (ev.ts < prev) ordered = false;
      prev = ev.ts;
    }
    expect(ordered).toBe(true);
    expect(n).toBeGreaterThan(1_000_000);
    expect(n).toBeLessThan(5_000_000);
  });
});

describe('trace files', () => {
  const catalog = {
    workload: 'hand',
    description: 'hand-written',
    start: DEFAULT_START,
    days: 2,
    datasets: [
      { name: 'a', size_bytes: 100, created_at: DEFAULT_START - 1 },
      { name: 'b', size_bytes: 50, created_at: DEFAULT_START + 3 * H, location: 'ONPREM', tier: 'COLD' },
    ],
  };
  const good = [
    { ts: DEFAULT_START, dataset: 'a', type: 'read', bytes: 10 },
    { ts: DEFAULT_START + H, dataset: 'a', type: 'write', bytes: 50 },
    { ts: DEFAULT_START + 3 * H, dataset: 'b', type: 'write', bytes: 50 },
  ];
  function files(lines: string[], name: string): [string, string] {
    const c = path.join(tmp, `${name}.catalog.json`);
    const e = path.join(tmp, `${name}.jsonl`);
    fs.writeFileSync(c, JSON.stringify(catalog));
    fs.writeFileSync(e, lines.join('\n') + '\n');
    return [c, e];
  }

  test('when a trace is written and read back, then catalog and events are equal', async () => {
    const t = gen('mix', 300, 20);
    const { catalogPath, eventsPath } = await writeTrace(t, path.join(tmp, 'rt'), 'mix-small');
    expect(catalogPath).toBe(path.join(tmp, 'rt', 'mix-small.catalog.json'));
    expect(eventsPath).toBe(path.join(tmp, 'rt', 'mix-small.jsonl'));
    expect(fs.readdirSync(path.join(tmp, 'rt')).sort()).toEqual(['mix-small.catalog.json', 'mix-small.jsonl']);
    const back = readTrace(catalogPath, eventsPath);
    expect(back.catalog).toEqual(t.catalog);
    const events = all(t);
    expect(events.some((e) => e.scan)).toBe(true);
    expect(all(back)).toEqual(events);
    expect(all(back)).toEqual(events); // lazily re-read on each call
    expect(fs.readFileSync(eventsPath, 'utf8').split('\n')[0]).toBe(JSON.stringify(events[0]));
  });

  test('when a hand-written trace is valid, then it reads, keeping placements and skipping blank lines', () => {
    const [c, e] = files(
      [JSON.stringify(good[0]), '', JSON.stringify({ ...good[1], scan: true }), JSON.stringify(good[2])],
      'hand-ok',
    );
    const t = readTrace(c, e);
    expect(t.catalog.datasets[1]).toEqual(catalog.datasets[1]);
    expect(all(t)).toEqual([good[0], { ...good[1], scan: true }, good[2]]);
  });

  test.each([
    ['unknown dataset', { dataset: 'zz' }, /:3: dataset: unknown dataset "zz"/],
    ['missing dataset', { dataset: undefined }, /:3: dataset: missing/],
    ['bad type', { type: 'delete' }, /:3: type: must be "read" or "write"/],
    ['negative bytes', { bytes: -5 }, /:3: bytes: must be a non-negative integer, got -5/],
    ['string bytes', { bytes: '5' }, /:3: bytes: /],
    ['ts out of order', { ts: DEFAULT_START }, /:3: ts: out of order/],
    ['ts after the end', { ts: DEFAULT_START + 2 * 86_400_000 }, /:3: ts: .* outside the trace/],
    ['ts before creation', { dataset: 'b' }, /:3: ts: .* precedes the creation of b/],
    ['non-boolean scan', { scan: 'yes' }, /:3: scan: must be a boolean/],
    ['unknown field', { scna: true }, /:3: scna: unknown field/],
  ])('when line 3 has %s, then reading throws naming the line and field', (_what, patch, message) => {
    const bad = { ts: DEFAULT_START + 2 * H, dataset: 'a', type: 'read', bytes: 1, ...patch };
    const [c, e] = files(
      [JSON.stringify(good[0]), JSON.stringify(good[1]), JSON.stringify(bad), JSON.stringify(good[2])],
      'hand-bad',
    );
    const t = readTrace(c, e); // the catalog is fine; events are checked as they are read
    expect(() => all(t)).toThrow(message);
  });

  test('when a line is not JSON, then reading throws naming the line', () => {
    const [c, e] = files([JSON.stringify(good[0]), '{"ts": 1,'], 'hand-json');
    expect(() => all(readTrace(c, e))).toThrow(/hand-json\.jsonl:2: \(line\): invalid JSON/);
  });

  test('when the catalog is invalid, then readTrace throws naming the field', () => {
    const c = path.join(tmp, 'bad.catalog.json');
    const e = path.join(tmp, 'bad.jsonl');
    fs.writeFileSync(e, '');
    fs.writeFileSync(
      c,
      JSON.stringify({ ...catalog, datasets: [catalog.datasets[0], { name: 'a', size_bytes: 1, created_at: 0 }] }),
    );
    expect(() => readTrace(c, e)).toThrow(/datasets\[1\]\.name: duplicate/);
    fs.writeFileSync(c, JSON.stringify({ ...catalog, datasets: [{ name: 'x', size_bytes: -1, created_at: 0 }] }));
    expect(() => readTrace(c, e)).toThrow(/datasets\[0\]\.size_bytes: /);
    fs.writeFileSync(
      c,
      JSON.stringify({ ...catalog, datasets: [{ name: 'x', size_bytes: 1, created_at: 0, tier: 'LUKEWARM' }] }),
    );
    expect(() => readTrace(c, e)).toThrow(/datasets\[0\]\.tier: /);
    fs.writeFileSync(c, JSON.stringify(catalog));
    expect(() => readTrace(c, path.join(tmp, 'missing.jsonl'))).toThrow(/ENOENT/);
  });

  test('when events are read in chunks, then lines spanning chunk boundaries are intact', async () => {
    // > 1 MB of events so the reader's 1 MB buffer splits lines.
    const t = gen('zipf', 1000, 40);
    const { catalogPath, eventsPath } = await writeTrace(t, tmp, 'chunks');
    expect(fs.statSync(eventsPath).size).toBeGreaterThan(2 << 20);
    expect(all(readTrace(catalogPath, eventsPath))).toEqual(all(t));
  });
});

describe('generate CLI', () => {
  test('when run with a workload and an output directory, then it writes the files and prints a summary that matches them', async () => {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const code = await main([
        '--workload',
        'nightly-scan',
        '--out',
        path.join(tmp, 'cli'),
        '--datasets=50',
        '--days',
        '3',
        '--seed',
        '5',
      ]);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const summary = JSON.parse(out.join('').trim()) as Record<string, unknown>;
    const t = readTrace(
      path.join(tmp, 'cli', 'nightly-scan.catalog.json'),
      path.join(tmp, 'cli', 'nightly-scan.jsonl'),
    );
    expect(summary).toMatchObject({ ...summarizeTrace(t), seed: 5 });
    expect(summary).toMatchObject({ datasets: 50, scans: 150 });
    expect(all(t)).toEqual(all(WORKLOADS['nightly-scan']!.generate({ datasets: 50, days: 3, seed: 5 })));
  });

  test('when --help is given, then every workload is listed with its description; bad options exit 2', async () => {
    const out: string[] = [];
    const spyOut = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const spyErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await main(['--help'])).toBe(0);
      for (const w of Object.values(WORKLOADS)) expect(out.join('')).toContain(w.description);
      out.length = 0;
      expect(await main(['--workload', 'nope', '--out', tmp])).toBe(2);
      expect(out.join('')).toMatch(/unknown workload "nope"/);
      expect(await main(['--workload', 'mix', '--out', tmp, '--days', '-3'])).toBe(2);
    } finally {
      spyOut.mockRestore();
      spyErr.mockRestore();
    }
  });
});
