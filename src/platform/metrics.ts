/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels, plus collectors that fill gauges at scrape time. Hand-written rather than a
 * dependency: the format is a page long and the product needs a dozen series.
 */
type Labels = Record<string, string>;

/**
 * A series' map key: label names in code-unit order, each name and value length-prefixed (no two
 * label sets share a key). Runs on every observation (the HTTP timer, per request): plain `sort`
 * and string building, not `localeCompare` and JSON, which cost ~10 µs a request.
 */
function key(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let k = '';
  for (const n of names) {
    const v = labels[n]!;
    k += `${n.length}:${n}${v.length}:${v}`;
  }
  return k;
}
const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const render = (labels: Labels, extra?: [string, string]): string => {
  const all = Object.entries(labels);
  if (extra) all.push(extra);
  return all.length ? `{${all.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
};
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract lines(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
  }
}

export class Counter extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(n = 1, labels: Labels = {}): void {
    const k = key(labels);
    const v = this.values.get(k);
    if (v) v.value += n;
    else this.values.set(k, { labels, value: n });
  }
  lines(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values.values()].map((v) => `${this.name}${render(v.labels)} ${num(v.value)}`);
  }
}

export class Gauge extends Metric {
  private values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(key(labels), { labels, value });
  }
  /** Replaces every series at once (a collector's scrape). */
  replace(series: { labels: Labels; value: number }[]): void {
    this.values = new Map(series.map((s) => [key(s.labels), s]));
  }
  lines(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${render(v.labels)} ${num(v.value)}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${render(s.labels, ['le', num(b)])} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${render(s.labels, ['le', '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${render(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${render(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly collectors: (() => Promise<void>)[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** Runs before each scrape, to refresh gauges read from elsewhere (the database, the bus). */
  collect(fn: () => Promise<void>): void {
    this.collectors.push(fn);
  }

  async scrape(): Promise<string> {
    await Promise.all(this.collectors.map((c) => c()));
    return this.metrics.flatMap((m) => [...m.header(), ...m.lines()]).join('\n') + '\n';
  }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
}
