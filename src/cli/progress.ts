/**
 * A progress bar on stderr for long work: redrawn in place on a terminal, a line every few
 * seconds otherwise (CI logs, pipes), and always a final line.
 */
export class Progress {
  private done = 0;
  private last = 0;
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: 'bytes' | 'items',
  ) {}

  add(n: number): void {
    this.done += n;
    const now = Date.now();
    if (now - this.last < (this.tty ? 100 : 3_000)) return;
    this.last = now;
    this.draw(false);
  }

  finish(): void {
    this.draw(true);
  }

  private draw(final: boolean): void {
    const secs = Math.max(0.001, (Date.now() - this.started) / 1000);
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const rate = this.done / secs;
    const eta = rate > 0 && this.total > this.done ? ` ETA ${Math.ceil((this.total - this.done) / rate)} s` : '';
    const line = `${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(this.done, this.unit)}/${fmt(this.total, this.unit)} ${fmt(rate, this.unit)}/s${final ? ` in ${secs.toFixed(1)} s` : eta}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else process.stderr.write(line + '\n');
  }
}

function fmt(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return Math.round(n).toLocaleString('en-US');
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
