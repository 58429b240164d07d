import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { keySecret, tempDir } from './support/harness';
import { startWebApp, type WebApp } from './support/web-harness';

/**
 * The pages in Debian's Chromium (never a downloaded browser), against the app in this process
 * on a temporary database. Moves are throttled (MOVE_BANDWIDTH) so their progress can be watched.
 * Every wait is on a condition in the page; each test saves a screenshot in test/artifacts/.
 */
// The functions passed to page.evaluate/waitForFunction run in the page; these module-local
// declarations type them without pulling the DOM library into the whole (Node) program.
declare const document: any;
declare const window: any;
type ChartLike = { data: { datasets: { data: number[]; label: string }[] } };

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, 'artifacts');
const FILE_BYTES = 3 * 1024 * 1024;

describe('the dashboard in a browser', () => {
  let w: WebApp;
  let browser: Browser;
  let page: Page;
  let datasetUrl = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    [w, browser] = await Promise.all([
      startWebApp({ MOVE_BANDWIDTH: '2mb', MOVE_CONCURRENCY: '1' }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    // The CSP must never block anything of ours: a violation fails the test at the end.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) =>
        ((window as unknown as { __csp: string[] }).__csp ??= []).push(e.violatedDirective + ' ' + e.blockedURI),
      );
    });
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const cspViolations = () => page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);

  test('when the operator signs in, then the overview shows the empty state with what to do next', async () => {
    await page.goto(`${w.base}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill(w.admin.username);
    await page.getByLabel('Password').fill(w.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${w.base}/`);
    await page.getByRole('heading', { name: 'No datasets yet' }).waitFor();
    expect(await page.locator('.empty pre').first().textContent()).toContain('curl -s -X POST');
    await page.locator('#eps-chart[data-rendered]').waitFor();
    await shot('01-overview-empty');
    expect(await cspViolations()).toEqual([]);
  });

  test('when a dataset is created with a file, then the upload progress bar completes and its page opens', async () => {
    const file = path.join(tempDir('dim-upload-'), 'sales.bin');
    fs.writeFileSync(file, crypto.randomBytes(FILE_BYTES));
    await page.goto(`${w.base}/datasets`);
    await page.getByLabel('Name', { exact: true }).fill('sales-2025');
    await page.getByLabel(/Or upload a file/).setInputFiles(file);
    // Watch the bar: it must be shown and reach 100 before the page moves on.
    const reached = page.waitForFunction(() => document.getElementById('upload-progress')?.value === 100, undefined, {
      polling: 'raf',
    });
    await page.getByRole('button', { name: 'Create' }).click();
    await reached;
    await page.waitForURL(/\/datasets\/\d+$/);
    datasetUrl = page.url();
    await page.getByRole('heading', { name: 'sales-2025' }).waitFor();
    expect(await page.locator('#dataset-live dl').textContent()).toContain('3.00 MiB');
    await shot('02-dataset-created');
  });

  test('when events are sent, then the counts and the chart update without a reload', async () => {
    await page.goto(datasetUrl);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.locator('#series-chart[data-rendered]').waitFor();
    expect(await page.locator('#access-count').textContent()).toBe('0');
    await page.getByLabel('How many').fill('25');
    await page.locator('#send-events').click();
    await page.getByText('Sent 25 read events.').waitFor();
    await page.waitForFunction(() => document.getElementById('access-count')?.textContent === '25');
    // The chart object itself holds the new bars (updated in place after the swap).
    await page.waitForFunction(() => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById('series-chart'));
      return c !== undefined && c.data.datasets[0]!.data.reduce((a: number, b: number) => a + b, 0) === 25;
    });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await shot('03-dataset-events');
    // The overview counts them too, and its events chart shows a non-zero rate.
    await page.goto(`${w.base}/`);
    await page.waitForFunction(() => document.getElementById('events-total')?.textContent === '25');
    await page.waitForFunction(() => {
      const c: ChartLike | undefined = window.Chart.getChart(document.getElementById('eps-chart'));
      return c !== undefined && c.data.datasets[0]!.data.some((v: number) => v > 0);
    });
    expect(await page.locator('[data-testid="count-PRIVATE/WARM"]').textContent()).toBe('1');
    await shot('04-overview-events');
  });

  test('when the dataset is pinned, then its move runs and the placement changes', async () => {
    await page.goto(datasetUrl);
    await page.getByLabel('Mode', { exact: true }).selectOption('pinned');
    await page.getByLabel('Location', { exact: true }).selectOption('ONPREM');
    await page.getByLabel('Tier', { exact: true }).selectOption('HOT');
    await page.locator('#policy-save').click();
    await page.getByText(/Policy saved: pinned, so move \d+ is on its way/).waitFor();
    await page.locator('#move-history tr[data-state="done"]').waitFor();
    await page.waitForFunction(() => document.getElementById('placement')?.textContent?.trim() === 'ONPREM/HOT');
    await shot('05-dataset-pinned');
  });

  test('when a move is started, then its progress bar fills on the moves page, and the Sankey shows the flows', async () => {
    await page.goto(datasetUrl);
    // A pinned dataset still moves on an operator's word; set it back to auto first, as a person would.
    await page.getByLabel('Mode', { exact: true }).selectOption('auto');
    await page.locator('#policy-save').click();
    await page.getByText('Policy saved: auto.').waitFor();
    await page.getByLabel('To location').selectOption('PUBLIC');
    await page.getByLabel('To tier').selectOption('COLD');
    await page.locator('#move-start').click();
    const queued = await page.getByText(/Move \d+ to PUBLIC\/COLD queued/).textContent();
    const moveId = /Move (\d+)/.exec(queued!)![1];
    await page.goto(`${w.base}/moves`);
    const bar = page.locator(`#inflight tr[data-move-id="${moveId}"] progress`);
    await bar.waitFor();
    // Progress is seen part-way, then the move leaves the in-flight list.
    await page.waitForFunction((id) => {
      const p = document.querySelector(`#inflight tr[data-move-id="${id}"] progress`) as { value: number } | null;
      return p !== null && p.value > 0 && p.value < 1;
    }, moveId);
    await shot('06-move-in-flight');
    await page.locator('#no-inflight').waitFor();
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
    await shot('07-moves-sankey');
    await page.goto(datasetUrl);
    await page.waitForFunction(() => document.getElementById('placement')?.textContent?.trim() === 'PUBLIC/COLD');
    expect(await page.locator('#move-history tr[data-state="done"]').count()).toBe(2);
    expect(await cspViolations()).toEqual([]);
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
    await shot('08-datasets-table');
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
    await shot('09-policy-replay');
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
    await shot('12-api-key-created');
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
    expect(await cspViolations()).toEqual([]);
  });

  test('when the screen is 390 px wide, then the overview fits without sideways scrolling of the page', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      await phone.context().addCookies((await page.context().cookies()).map((c) => ({ ...c })));
      await phone.goto(`${w.base}/`);
      await phone.locator('#eps-chart[data-rendered]').waitFor();
      const overflow = await phone.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await shot('10-overview-390px', phone);
    } finally {
      await phone.close();
    }
  });
});
