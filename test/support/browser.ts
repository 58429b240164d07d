import { chromium, type Browser, type BrowserContext, type Cookie, type Page } from 'playwright-core';

/** Debian's Chromium: never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

export const DESKTOP = { width: 1440, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
  });
}

// The function passed to addInitScript runs in the page; these declarations type it without
// pulling the DOM library into the whole (Node) program.
declare const document: { addEventListener(type: string, fn: (e: CspEvent) => void): void };
declare const window: { __noteCsp?: (s: string) => void };
interface CspEvent {
  violatedDirective: string;
  blockedURI: string;
  sourceFile: string;
  lineNumber: number;
}

/**
 * A browser context whose every page reports Content-Security-Policy violations, both the
 * `securitypolicyviolation` DOM event and Chromium's console error, into `violations`. A test
 * asserts `violations` is empty at its end (see `expectNoCspViolation`).
 */
export class GuardedContext {
  readonly violations: string[] = [];

  private constructor(readonly context: BrowserContext) {}

  static async open(browser: Browser, viewport: { width: number; height: number }, cookies: Cookie[] = []) {
    const context = await browser.newContext({ viewport });
    const g = new GuardedContext(context);
    if (cookies.length) await context.addCookies(cookies);
    await context.exposeFunction('__noteCsp', (s: string) => void g.violations.push(s));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        void window.__noteCsp?.(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    context.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) g.violations.push(m.text());
    });
    return g;
  }

  async page(): Promise<Page> {
    const p = await this.context.newPage();
    p.setDefaultTimeout(15_000);
    return p;
  }

  close(): Promise<void> {
    return this.context.close();
  }
}
