import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, GuardedContext, launchChromium, PHONE } from './support/browser';
import { keySecret, tempDir } from './support/harness';
import { startWebApp, type WebApp } from './support/web-harness';

/**
 * The pages in Debian's Chromium (never a downloaded browser), against the app in this process
 * on a temporary database, at 1440 px and at 390 px. Moves are throttled (MOVE_BANDWIDTH) so
 * their progress can be watched. Every page visited is watched for Content-Security-Policy
 * violations (the DOM event and the console error): any fails the test that caused it. Every
 * wait is on a condition in the page; each test saves a screenshot in test/artifacts/.
 */
// The functions passed to page.evaluate/waitForFunction run in the page; these module-local
// declarations type them without pulling the DOM library into the whole (Node) program.
declare const document: any;
declare const window: any;
declare const MutationObserver: any;
declare const sessionStorage: any;
type ChartLike = {
  data: { labels: string[]; datasets: { data: number[]; label: string }[] };
  options: { scales?: Record<string, { stacked?: boolean; title?: { text?: string } }> };
};

const ARTIFACTS = path.join(__dirname, 'artifacts');
const FILE_BYTES = 3 * 1024 * 1024;

describe('the dashboard in a browser', () => {
  let w: WebApp;
  let browser: Browser;
  let desktop: GuardedContext;
  let phone: GuardedContext | undefined;
  let page: Page;
  let datasetUrl = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    [w, browser] = await Promise.all([startWebApp({ MOVE_BANDWIDTH: '1mb', MOVE_CONCURRENCY: '1' }), launchChromium()]);
    desktop = await GuardedContext.open(browser, DESKTOP);
    page = await desktop.page();
  });
  afterEach(() => {
    // The CSP must never block anything of ours, on any page any test visited.
    expect([...desktop.violations, ...(phone?.violations ?? [])]).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const chartOf = (p: Page, id: string) =>
    p.evaluate((i) => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById(i));
      return c ? { labels: c.data.labels.length, scales: JSON.parse(JSON.stringify(c.options.scales ?? {})) } : null;
    }, id);
  /** A second tab at 390 px, signed in as the first. */
  const phonePage = async () => {
    phone ??= await GuardedContext.open(browser, PHONE, await desktop.context.cookies());
    return phone.page();
  };
  /** Counts the swaps of each polled element from now on (window.__swaps[id]). */
  const countSwaps = (p: Page) =>
    p.evaluate(() => {
      window.__swaps = {};
      document.addEventListener('htmx:afterSettle', (e: { detail: { elt: { id: string } } }) => {
        window.__swaps[e.detail.elt.id] = (window.__swaps[e.detail.elt.id] ?? 0) + 1;
      });
    });

  test('when the operator signs in, then the overview shows the empty state, and an empty chart is one short line', async () => {
    await page.goto(`${w.base}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill(w.admin.username);
    await page.getByLabel('Password').fill(w.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${w.base}/`);
    await page.getByRole('heading', { name: 'No datasets yet' }).waitFor();
    expect(await page.locator('.empty pre').first().textContent()).toContain('curl -s -X POST');
    await page.locator('#eps-chart[data-rendered]').waitFor({ state: 'attached' });
    // No event yet: the events chart is replaced by its empty-state line, not a blank box.
    const box = page.locator('.chart-box:has(#eps-chart)');
    await page.getByText('No event applied in the last').waitFor();
    expect((await box.boundingBox())!.height).toBeLessThan(60);
    await shot('01-overview-empty');
  });

  test('when a dataset is created with a file, then the upload progress bar completes and its page opens', async () => {
    const file = path.join(tempDir('dim-upload-'), 'sales.bin');
    fs.writeFileSync(file, crypto.randomBytes(FILE_BYTES));
    await page.goto(`${w.base}/datasets`);
    await page.getByLabel('Name', { exact: true }).fill('sales-2025');
    await page.getByLabel(/Or upload a file/).setInputFiles(file);
    // Watch the bar: it must be shown and reach 100 before the page moves on. Every change is kept
    // in the tab's sessionStorage as it happens (polling could miss the last value when the page
    // moves on at once, as it does on a loaded machine), and read back on the next page.
    await page.evaluate(() => {
      const bar = document.getElementById('upload-progress');
      new MutationObserver(() => {
        if (!bar.hidden) sessionStorage.setItem('upload-progress-seen', String(bar.value));
      }).observe(bar, { attributes: true, attributeFilter: ['value', 'hidden'] });
    });
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/datasets\/\d+$/);
    expect(await page.evaluate(() => sessionStorage.getItem('upload-progress-seen'))).toBe('100');
    datasetUrl = page.url();
    await page.getByRole('heading', { name: 'sales-2025' }).waitFor();
    expect(await page.locator('#dataset-live dl').textContent()).toContain('3.00 MiB');
    await shot('02-dataset-created');
  });

  test('when events are sent, then the counts and the chart update in place, reads and writes stacked, axes titled', async () => {
    await page.goto(datasetUrl);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    // The upload that created it is the dataset's first write.
    await page.waitForFunction(() => document.getElementById('access-count')?.textContent === '1');
    await page.getByLabel('How many').fill('25');
    await page.locator('#send-events').click();
    await page.getByText('Sent 25 read events.').waitFor();
    await page.getByLabel('Type', { exact: true }).selectOption('write');
    await page.getByLabel('How many').fill('5');
    await page.locator('#send-events').click();
    await page.getByText('Sent 5 write events.').waitFor();
    await page.waitForFunction(() => document.getElementById('access-count')?.textContent === '31');
    // The chart object itself holds the new bars (updated in place after the swap).
    await page.waitForFunction(() => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById('series-chart'));
      const sum = (i: number) => c!.data.datasets[i]!.data.reduce((a: number, b: number) => a + b, 0);
      return c !== undefined && sum(0) === 25 && sum(1) === 6;
    });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    const series = (await chartOf(page, 'series-chart'))!;
    expect(series.scales.y).toMatchObject({ stacked: true, title: { text: 'Accesses per hour' } });
    expect(series.scales.x).toMatchObject({ stacked: true, title: { text: 'Time (UTC)' } });
    await shot('03-dataset-events');
    // The overview counts them too, and its events chart shows a non-zero rate.
    await page.goto(`${w.base}/`);
    await page.waitForFunction(() => document.getElementById('events-total')?.textContent === '31');
    await page.waitForFunction(() => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById('eps-chart'));
      return c !== undefined && c.data.datasets[0]!.data.some((v: number) => v > 0);
    });
    expect((await chartOf(page, 'eps-chart'))!.scales.y!.title).toMatchObject({ text: 'Events per second' });
    expect(await page.locator('[data-testid="count-PRIVATE/WARM"]').textContent()).toBe('1');
    await shot('04-overview-events');
  });

  test('when the page polls, then the chosen range, its tab, open sections, focus and a half-typed input survive, and the chart is never rebuilt', async () => {
    await page.goto(datasetUrl);
    await page.getByRole('link', { name: 'Last 30 days, per day' }).click();
    await page.waitForURL(/series=d/);
    await page.waitForFunction(() => document.getElementById('series-key')?.value === 'd');
    await page.locator('details:has-text("Features the forecast used") summary').click();
    await page.locator('#m-reason').fill('half-typ');
    await page.locator('#series-tab-d').focus();
    await page.evaluate(() => (window.__chart = window.Chart.getChart(document.getElementById('series-chart'))));
    await countSwaps(page);
    // A refresh of every part (the event a change sends), then a poll of the series (every 5 s).
    await page.evaluate(() => document.body.dispatchEvent(new Event('dataset-changed')));
    await page.waitForFunction(
      () => (window.__swaps['dataset-series'] ?? 0) >= 2 && window.__swaps['dataset-decision'] >= 1,
    );
    const state = await page.evaluate(() => ({
      current: [...document.querySelectorAll('.tabs a[aria-current]')].map((a: { id: string }) => a.id),
      key: document.getElementById('series-key').value,
      open: document.querySelector('#dataset-decision details').open,
      typed: document.getElementById('m-reason').value,
      focus: document.activeElement?.id,
      same: window.Chart.getChart(document.getElementById('series-chart')) === window.__chart,
    }));
    expect(state).toEqual({
      current: ['series-tab-d'],
      key: 'd',
      open: true,
      typed: 'half-typ',
      focus: 'series-tab-d',
      same: true,
    });
    expect((await chartOf(page, 'series-chart'))!.labels).toBeGreaterThanOrEqual(30);
    expect((await chartOf(page, 'series-chart'))!.scales.y!.title).toMatchObject({ text: 'Accesses per day' });
    await shot('05-dataset-state-kept');
  });

  test('when the dataset is pinned, then its move runs and the placement changes', async () => {
    await page.goto(datasetUrl);
    await page.getByLabel('Mode', { exact: true }).selectOption('pinned');
    await page.getByLabel('Location', { exact: true }).selectOption('ONPREM');
    await page.getByLabel('Tier', { exact: true }).selectOption('HOT');
    await page.locator('#policy-save').click();
    await page.getByText(/Policy saved: pinned, so move \d+ is on its way/).waitFor();
    // Off screen the history is not polled; scrolled back to, it is brought up to date at once.
    await page.locator('#dataset-live').scrollIntoViewIfNeeded();
    await page.locator('#move-history tr[data-state="done"]').waitFor();
    await page.waitForFunction(() => document.getElementById('placement')?.textContent?.trim() === 'ONPREM/HOT');
    await shot('06-dataset-pinned');
  });

  test('when a pinned dataset is moved from its page, then the page asks; unpinned, it moves, its progress fills, and the Sankey shows the flows', async () => {
    await page.goto(datasetUrl);
    await page.getByLabel('To location').selectOption('PUBLIC');
    await page.getByLabel('To tier').selectOption('COLD');
    await page.locator('#move-start').click();
    await page.locator('#pinned-choice').getByText('This dataset is pinned to ONPREM/HOT.').waitFor();
    await shot('07-pinned-asks');
    await page.locator('#move-unpin').click();
    const queued = await page.getByText(/Unpinned \(policy auto\)\. Move \d+ to PUBLIC\/COLD queued/).textContent();
    const moveId = /Move (\d+)/.exec(queued!)![1];
    // The policy form on the page says so too, without a reload.
    expect(await page.locator('#p-mode').inputValue()).toBe('auto');
    await page.goto(`${w.base}/moves`);
    const bar = page.locator(`#inflight tr[data-move-id="${moveId}"] progress`);
    await bar.waitFor();
    // Progress is seen part-way (with its rate, read in the same instant), then the move leaves the in-flight list.
    const during = await page.waitForFunction((id) => {
      const row = document.querySelector(`#inflight tr[data-move-id="${id}"]`);
      const p = row?.querySelector('progress') as { value: number } | null;
      const text: string = row?.querySelector('.small')?.textContent ?? '';
      return p && p.value > 0 && p.value < 1 && text.includes('/s') ? text : null;
    }, moveId);
    // The rate is in real seconds: 1 MiB/s of bandwidth (3 s of copying: the page polls every 2 s), a few seconds left.
    expect(await during.jsonValue()).toMatch(/[\d.]+ (KiB|MiB)\/s, \d+ s left/);
    await shot('08-move-in-flight');
    await page.locator('#no-inflight').waitFor();
    // The latest moves say so too (polled as well, once scrolled to): the move is not left "copying" there.
    await page.locator('#moves-recent').scrollIntoViewIfNeeded();
    await page.locator(`#moves-recent tr[data-move-id="${moveId}"] td.state-done`).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#flows-table tbody tr').length === 2);
    await page.locator('#sankey-chart[data-rendered]').waitFor();
    const flows = await page.locator('#flows-table tbody').textContent();
    expect(flows).toContain('PRIVATE/WARM');
    expect(flows).toContain('PUBLIC/COLD');
    await page.getByLabel('number of moves').check();
    await page.waitForFunction(() => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById('sankey-chart'));
      return c?.data.datasets[0]?.label === 'Moves';
    });
    const timeline = (await chartOf(page, 'timeline-chart'))!;
    expect(timeline.scales.x!.title).toMatchObject({ text: 'Hour (UTC)' });
    expect(timeline.scales.y!.title).toMatchObject({ text: 'Moves finished per hour' });
    await shot('09-moves-sankey');
    await page.goto(datasetUrl);
    await page.waitForFunction(() => document.getElementById('placement')?.textContent?.trim() === 'PUBLIC/COLD');
    expect(await page.locator('#move-history tr[data-state="done"]').count()).toBe(2);
    expect(await page.locator('#p-mode').inputValue()).toBe('auto');
  });

  test('when the datasets table is searched and sorted, then only the table is swapped and the URL follows', async () => {
    const api = (name: string) =>
      fetch(`${w.base}/api/datasets`, {
        method: 'POST',
        headers: { 'x-api-key': 'test-api-key-0123', 'content-type': 'application/json' },
        body: JSON.stringify({ name, size_gb: name.length }),
      });
    for (const name of ['logs-a', 'logs-bb', 'metrics']) expect((await api(name)).status).toBe(201);
    await page.goto(`${w.base}/datasets`);
    await page.evaluate(() => (window.marker = 7));
    await page.getByLabel('Name contains').fill('logs');
    await page.waitForFunction(() => document.getElementById('dataset-count')?.textContent?.startsWith('2 datasets'));
    await page.getByRole('link', { name: 'Size' }).click();
    await page.waitForURL(/sort=size/);
    await page.locator('th[aria-sort="ascending"] >> text=Size').waitFor();
    expect(await page.locator('table.datasets tbody tr td:first-child').allTextContents()).toEqual([
      'logs-a',
      'logs-bb',
    ]);
    // The filter form keeps the new sort when a filter changes next.
    await page.getByLabel('Tier').selectOption('WARM');
    await page.waitForURL(/tier=WARM/);
    expect(page.url()).toContain('sort=size');
    expect(await page.evaluate(() => window.marker)).toBe(7);
    await shot('10-datasets-table');
  });

  test('when the policy page runs a what-if replay, then the result table lists the policies and the matrix every price variant', async () => {
    await page.goto(`${w.base}/policy`);
    await page.locator('#replay-run').click();
    await page.locator('#replay-table').waitFor();
    const text = await page.locator('#replay-table').textContent();
    for (const p of ['product', 'always-hot', 'optimum']) expect(text).toContain(p);
    const matrix = page.locator('#replay-matrix');
    expect(await matrix.locator('tbody tr').count()).toBe(7);
    const m = await matrix.textContent();
    for (const v of ['list', 'cold-retrieval-x3', 'min-days-180']) expect(m).toContain(v);
    expect(await page.locator('#replay-matrix-note').textContent()).toMatch(/seven replays in [\d.]+ s/);
    await shot('11-policy-replay');
  });

  test('when prices are saved, then "Saved as version N" stays and the heading follows; no change makes no version; a bad price is named and marked', async () => {
    await page.goto(`${w.base}/policy`);
    const version = Number(await page.locator('#catalog-version').textContent());
    const versions = () => page.locator('#catalog-versions li').count();
    const before = await versions();
    await page.locator('#p-ONPREM-HOT-storage_gb_month').fill('0.123');
    await page.locator('#catalog-save').click();
    await page.locator('#catalog-saved', { hasText: `Saved as version ${version + 1}.` }).waitFor();
    expect(await page.locator('#catalog-version').textContent()).toBe(String(version + 1));
    expect(await versions()).toBe(before + 1);
    expect(await page.locator('#r-catalog option').first().textContent()).toBe(`current (version ${version + 1})`);
    // Whatever refreshes on a catalog change has refreshed: the message is still there.
    await page.evaluate(() => document.body.dispatchEvent(new Event('catalog-changed')));
    await page.waitForLoadState('networkidle');
    expect(await page.locator('#catalog-saved').textContent()).toBe(`Saved as version ${version + 1}.`);
    // The same prices again: no version.
    await page.locator('#catalog-save').click();
    await page.locator('#catalog-saved', { hasText: 'No change' }).waitFor();
    expect(await page.locator('#catalog-version').textContent()).toBe(String(version + 1));
    expect(await versions()).toBe(before + 1);
    // A refused price: named as a person reads it, the field marked and focused.
    await page.locator('#p-PRIVATE-HOT-min_storage_days').fill('1.5');
    await page.locator('#catalog-save').click();
    const error = page.locator('#catalog-result [role="alert"]');
    await error.waitFor();
    expect(await error.textContent()).toContain('PRIVATE · HOT · Minimum days: must be a whole number');
    expect(await error.textContent()).not.toContain('p|');
    const field = page.locator('#p-PRIVATE-HOT-min_storage_days');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('class')).toContain('invalid');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('p-PRIVATE-HOT-min_storage_days');
    expect(await page.locator('#catalog-version').textContent()).toBe(String(version + 1));
    await shot('12-catalog-error');
  });

  test('when an operator creates an API key on the keys page, then its secret is shown once and works; revoked, it stops working', async () => {
    await page.goto(`${w.base}/`);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(`${w.base}/keys`);
    await page.locator('#k-name').fill('browser-made');
    await page.locator('#key-create').click();
    await page.locator('#k-scopes-error').waitFor(); // no scope chosen: the error sits next to the boxes
    await page.getByRole('checkbox', { name: /datasets:write/ }).check();
    await page.locator('#key-create').click();
    const key = (await page.locator('#new-key-secret').textContent())!.trim();
    expect(key).toMatch(/^dim_\d+_[A-Za-z0-9_-]{43}$/);
    await page.locator('#keys-table tr[data-state="live"] >> text=browser-made').waitFor();
    await shot('13-api-key-created');
    const use = () =>
      fetch(`${w.base}/api/datasets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `via-key-${Date.now()}` }),
      });
    expect((await use()).status).toBe(201);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke browser-made' }).click();
    await page.getByText(/Key \d+ revoked/).waitFor();
    await page.locator(`#keys-table tr[data-key-id="${key.split('_')[1]}"][data-state="revoked"]`).waitFor();
    expect((await use()).status).toBe(401);
    // Shown once: the page, opened again, does not hold the secret.
    await page.goto(`${w.base}/keys`);
    expect(await page.content()).not.toContain(keySecret(key));
  });

  const PAGES = ['/', '/datasets', 'DATASET', '/moves', '/policy', '/model', '/users', '/keys'];

  test('when every page is opened at 1440 px, then each chart names its axes and nothing trips the CSP', async () => {
    for (const p of PAGES) {
      await page.goto(p === 'DATASET' ? datasetUrl : `${w.base}${p}`);
      await page.locator('main h1').waitFor();
      const untitled = await page.evaluate(() =>
        [...document.querySelectorAll('canvas[data-chart]:not([data-chart="sankey"])')]
          .filter(
            (c: { getAttribute(n: string): string | null }) =>
              !c.getAttribute('data-x-title') || !c.getAttribute('data-y-title'),
          )
          .map((c: { id: string }) => c.id),
      );
      expect({ page: p, untitled }).toEqual({ page: p, untitled: [] });
    }
  });

  test('when the screen is 390 px wide, then no page scrolls sideways, and a table scrolled inside its box stays scrolled over a refresh', async () => {
    const p = await phonePage();
    try {
      for (const path of PAGES) {
        await p.goto(path === 'DATASET' ? datasetUrl : `${w.base}${path}`);
        await p.locator('main h1').waitFor();
        const width = await p.evaluate(() => document.documentElement.scrollWidth);
        expect({ page: path, width: Math.min(width, 390) === width ? 'fits' : width }).toEqual({
          page: path,
          width: 'fits',
        });
        if (path === '/') await shot('14-overview-390px', p);
        if (path === '/keys') await shot('15-keys-390px', p);
      }
      // The dataset page: its cost table scrolls inside its own box; a refresh keeps the place.
      await p.goto(datasetUrl);
      const wrap = p.locator('#dataset-decision .table-wrap');
      await wrap.evaluate((el: { scrollLeft: number }) => (el.scrollLeft = 120));
      expect(await wrap.evaluate((el: { scrollLeft: number }) => el.scrollLeft)).toBeGreaterThan(100);
      await countSwaps(p);
      await p.evaluate(() => document.body.dispatchEvent(new Event('dataset-changed')));
      await p.waitForFunction(() => window.__swaps['dataset-decision'] >= 1);
      expect(await wrap.evaluate((el: { scrollLeft: number }) => el.scrollLeft)).toBeGreaterThan(100);
      await shot('16-dataset-390px', p);
    } finally {
      await p.close();
    }
  });

  test('when the tab is hidden, then it stops polling, and polls again at once when shown', async () => {
    await page.goto(`${w.base}/`);
    await page.locator('#overview-summary').waitFor();
    const polls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/parts/')) polls.push(r.url());
    });
    await page.evaluate(() => {
      window.__hidden = true;
      Object.defineProperty(document, 'visibilityState', {
        configurable: true,
        get: () => (window.__hidden ? 'hidden' : 'visible'),
      });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    // Two poll periods of the summary (every 2 s), one of the stream and the gaps (every 5 s).
    await page.waitForTimeout(5_500);
    expect(polls).toEqual([]);
    const refreshed = page.waitForRequest((r) => r.url().includes('/parts/overview/summary'), { timeout: 1_000 });
    await page.evaluate(() => {
      window.__hidden = false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await refreshed;
  });

  test('when the server stops under an open page, then a banner says since when and the figures are marked stale; both clear when it is back', async () => {
    await page.goto(`${w.base}/moves`);
    await page.locator('#moves-live').waitFor();
    const port = new URL(w.base).port;
    await w.stop();
    // Within one refresh period (2 s) and a little: the banner and the stale marks.
    const banner = page.locator('#conn-banner');
    await banner.waitFor({ state: 'visible', timeout: 5_000 });
    expect(await banner.textContent()).toMatch(/^Server unreachable since \d\d:\d\d:\d\d\./);
    await page.locator('#moves-live.stale').waitFor({ state: 'attached' });
    expect(await page.locator('.chart-box.stale').count()).toBeGreaterThan(0);
    await shot('17-server-unreachable');
    // Backing off: one probe at a time (2 s, then 4 s, …), not every part every period. Without
    // it, the live part (2 s) and the flows (5 s) would send 3 or more in 5 s.
    const probes: string[] = [];
    const note = (r: { url(): string }) => void (r.url().includes('/moves/parts/') && probes.push(r.url()));
    page.on('request', note);
    await page.waitForTimeout(5_000);
    page.off('request', note);
    expect(probes.length).toBeLessThanOrEqual(2);
    // Back on the same port, with the same data (the session holds): the marks clear.
    w = await startWebApp({ MOVE_BANDWIDTH: '2mb', MOVE_CONCURRENCY: '1', DATA_DIR: w.dir, PORT: port });
    await banner.waitFor({ state: 'hidden', timeout: 15_000 });
    await page.waitForFunction(() => !document.querySelector('#moves-live.stale'));
  });
});
