import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../src/config';
import { tempDir, waitFor } from './support/harness';

const ROOT = path.resolve(__dirname, '..');

/** The app service's `environment:` block of docker-compose.yml, as KEY → value. */
function composeEnvironment(): Record<string, string> {
  const lines = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8').split('\n');
  const out: Record<string, string> = {};
  let inApp = false;
  let inEnv = false;
  // A YAML anchor (`app: &app`, `environment: &app-env`) names the node for the other instances.
  const key = (line: string): string => line.trim().replace(/\s+&[\w-]+$/, '');
  for (const line of lines) {
    if (/^ {2}\S/.test(line)) inApp = key(line) === 'app:';
    if (!inApp) continue;
    if (/^ {4}\S/.test(line)) inEnv = key(line) === 'environment:';
    else if (inEnv) {
      const m = /^ {6}([A-Z_][A-Z0-9_]*):\s*(?:"([^"]*)"|'([^']*)'|(.*?))\s*$/.exec(line);
      if (m) out[m[1]!] = (m[2] ?? m[3] ?? m[4])!; // YAML scalars: double-quoted, single-quoted or plain
    }
  }
  return out;
}

/** The Dockerfile's final stage: what it copies, its environment, its start and health commands. */
function dockerfile(): { copies: string[]; env: Record<string, string>; cmd: string[]; health: string } {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  const copies = [...final.matchAll(/^COPY (?:--from=\S+ )?(\S+) /gm)].map((m) => m[1]!.replace(/^\/app\//, ''));
  const env = Object.fromEntries(
    [...(/^ENV (.+)$/m.exec(final)?.[1] ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
  );
  const cmd = JSON.parse(/^CMD (\[.+\])$/m.exec(final)![1]!) as string[];
  const health = /HEALTHCHECK .* CMD (.+)$/m.exec(final)![1]!;
  return { copies, env, cmd, health };
}

describe('packaging, checked without a Docker engine', () => {
  test("when the compose file's environment is given to the app, then the config accepts it and points at Redpanda", () => {
    const env = composeEnvironment();
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['KAFKA_BOOTSTRAP', 'API_KEY']));
    expect(env.API_KEY).toMatch(/^\$\{API_KEY:\?/); // required from the operator, never committed
    const config = parseConfig({ ...env, API_KEY: 'an-operator-chosen-key', DATA_DIR: tempDir() });
    expect(config.kafka).toMatchObject({
      bootstrap: 'redpanda:9092',
      topic: env.KAFKA_TOPIC,
      groupId: env.KAFKA_GROUP_ID,
      partitions: Number(env.KAFKA_PARTITIONS),
    });
    // The instances share their state in the compose file's PostgreSQL service.
    expect(config.databaseUrl).toMatch(/^postgres:\/\/dim:\$\{POSTGRES_PASSWORD\}@postgres:5432\/dim$/);
  });

  test("when the image's files are laid out as the Dockerfile copies them, then its start command serves the health check", async () => {
    const d = dockerfile();
    expect(d.cmd).toEqual(['node', 'dist/src/main.js']);
    expect(d.health).toContain('/healthz');
    // The final stage's files, and nothing else from the source tree.
    const app = tempDir('dim-image-');
    for (const c of d.copies) fs.symlinkSync(path.join(ROOT, c), path.join(app, path.basename(c)));
    expect(d.copies.sort()).toEqual(['dist', 'node_modules', 'package.json', 'public', 'views']);
    const data = tempDir('dim-image-data-');
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const proc = spawn(d.cmd[0] === 'node' ? process.execPath : d.cmd[0]!, d.cmd.slice(1), {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? '',
        ...d.env,
        DATA_DIR: data,
        PORT: port,
        HOST: '127.0.0.1',
        API_KEY: 'image-test-key',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      const health = await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
        'the image start command to serve /healthz',
        30_000,
        200,
      );
      expect(health).toBe(true);
      const page = await fetch(`http://127.0.0.1:${port}/login`);
      expect(page.status).toBe(200); // views/ and public/ are where the pages look for them
      expect(fs.existsSync(path.join(data, 'data-in-motion.sqlite'))).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
    }
  });
});
