import { App } from '../../src/app';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/platform/logger';
import { API_KEY, tempDir } from './harness';

export interface WebApp {
  app: App;
  base: string;
  dir: string;
  /** The first operator and the one-time password the app logged (auth.first_user). */
  admin: { username: string; password: string };
  logs: string[];
  stop(): Promise<void>;
}

/** The app listening on a free port of 127.0.0.1, its log lines kept in memory. */
export async function startWebApp(env: Record<string, string> = {}): Promise<WebApp> {
  const dir = env.DATA_DIR ?? tempDir('dim-web-');
  const logs: string[] = [];
  const config = parseConfig({
    DATA_DIR: dir,
    API_KEY,
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    SCHEDULER_ENABLED: 'false',
    ...env,
  });
  const app = new App(config, { logger: createLogger('info', {}, (line) => void logs.push(line)) });
  await app.start({ listen: true });
  const first = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'auth.first_user');
  // A restart over an existing DATA_DIR logs no first user: its admin is the one of the first start.
  if (!first && !env.DATA_DIR) throw new Error('no auth.first_user line in the log');
  return {
    app,
    base: `http://127.0.0.1:${app.port}`,
    dir,
    admin: first
      ? { username: String(first.username), password: String(first.password) }
      : { username: '', password: '' },
    logs,
    stop: () => app.stop(),
  };
}

export interface Signed {
  cookie: string;
  csrf: string;
}

/** Signs in through the login form (as a browser would, Origin included) and reads the page's CSRF token. */
export async function signIn(base: string, username: string, password: string): Promise<Signed> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ username, password, next: '/' }).toString(),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const page = await (await fetch(`${base}/`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { cookie, csrf };
}
