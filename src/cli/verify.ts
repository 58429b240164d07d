#!/usr/bin/env node
/**
 * `npm run verify -- --url http://host:8000 --key KEY`: checks a running instance end to end,
 * as the original demo's verification script did. One line per step, `N passed, N failed`
 * last, exit code 1 on any failure. It cleans up after itself.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { Client, loadDotEnv } from './client';
import { parse } from './main';

interface Step {
  name: string;
  run: () => Promise<string | void>;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the steps share: the client, the dataset they create and the content they upload. */
interface Run {
  c: Client;
  name: string;
  content: Buffer;
  sha: string;
  id?: number;
}

async function download(run: Run): Promise<Buffer> {
  const r = await fetch(new URL(`/api/datasets/${run.id}/content`, run.c.baseUrl));
  if (r.status !== 200) throw new Error(`download: HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

function setupSteps(run: Run): Step[] {
  const { c, name, content, sha } = run;
  return [
    {
      name: 'health: alive and ready',
      run: async () => {
        const h = await c.request('GET', '/healthz');
        if (h.status !== 200) throw new Error(`/healthz: HTTP ${h.status}`);
        const r = await c.request('GET', '/readyz');
        if (r.status !== 200) throw new Error(`/readyz: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      },
    },
    {
      name: 'auth: the key is accepted, a wrong one refused',
      run: async () => {
        await c.ok('validate key', 'GET', '/api/auth/validate');
        const bad = await new Client(c.baseUrl, 'not-the-key').request('GET', '/api/auth/validate');
        if (bad.status !== 401) throw new Error(`a wrong key got HTTP ${bad.status}, not 401`);
      },
    },
    {
      name: 'create a dataset',
      run: async () => {
        run.id = (await c.ok<{ id: number }>('create', 'POST', '/api/datasets', { name, size_gb: 1 })).id;
        return `id ${run.id}, ${name}`;
      },
    },
    {
      name: 'upload content (encrypted at rest)',
      run: async () => {
        const r = await c.ok<{ uploaded: { sha256: string; bytes: number } }>(
          'upload',
          'PUT',
          `/api/datasets/${run.id}/content`,
          undefined,
          { stream: Readable.from([content]), length: content.length },
        );
        if (r.uploaded.sha256 !== sha)
          throw new Error(`the server recorded SHA-256 ${r.uploaded.sha256}, expected ${sha}`);
        return `${content.length} bytes`;
      },
    },
  ];
}

function useSteps(run: Run): Step[] {
  const { c, name, sha } = run;
  return [
    {
      name: "send events (the original demo's 20-event loop, and a batch) and see them counted",
      run: async () => {
        const id = run.id;
        for (let i = 0; i < 20; i++)
          await c.ok('stream/send', 'POST', '/api/stream/send', { dataset_id: id, access_type: 'read' });
        const batch = Array.from({ length: 30 }, (_, i) => ({
          id: `${name}-${i}`,
          dataset_id: id,
          type: i % 3 ? 'read' : 'write',
          bytes: 4096,
        }));
        await c.ok('events', 'POST', '/api/events', batch);
        await c.ok('events (again: the same ids count once)', 'POST', '/api/events', batch);
        // The upload before these was the dataset's first write: 50 events and it.
        const n = await poll('51 accesses to be counted', async () => {
          const d = await c.ok<{ access_count: number }>('dataset', 'GET', `/api/datasets/${id}`);
          return d.access_count >= 51 ? d.access_count : undefined;
        });
        if (n !== 51) throw new Error(`access_count is ${n}, expected 51 (50 events and the upload's write)`);
        return '51 accesses (50 events and the upload)';
      },
    },
    {
      name: 'get a recommendation with its explanation',
      run: async () => {
        const d = await c.ok<{
          action: string;
          to: { location: string; tier: string };
          candidates: unknown[];
          summary: string;
        }>('decision', 'GET', `/api/datasets/${run.id}/decision`);
        if (!Array.isArray(d.candidates) || d.candidates.length !== 9)
          throw new Error('the decision does not price the nine placements');
        await c.ok('recommendations', 'GET', '/api/recommendations?limit=1');
        return `${d.action} → ${d.to.location}/${d.to.tier}: ${d.summary}`;
      },
    },
    {
      name: 'move the dataset to another location and download it intact',
      run: async () => {
        const here = await c.ok<{ storage_type: string; current_tier: string }>(
          'dataset',
          'GET',
          `/api/datasets/${run.id}`,
        );
        const target =
          here.storage_type === 'PUBLIC' ? { location: 'ONPREM', tier: 'HOT' } : { location: 'PUBLIC', tier: 'COLD' };
        const m = await c.ok<{ id: number }>('move', 'POST', `/api/datasets/${run.id}/moves`, {
          ...target,
          reason: 'verify',
        });
        await poll(
          'the move to finish',
          async () => {
            const s = await c.ok<{ state: string; error: string | null }>('move', 'GET', `/api/migrations/${m.id}`);
            if (s.state === 'failed' || s.state === 'cancelled')
              throw new Error(`move ${s.state}: ${s.error ?? 'no error given'}`);
            return s.state === 'done' ? s : undefined;
          },
          120_000,
        );
        const gotSha = crypto
          .createHash('sha256')
          .update(await download(run))
          .digest('hex');
        if (gotSha !== sha) throw new Error(`downloaded SHA-256 ${gotSha}, expected ${sha}`);
        return `${here.storage_type}/${here.current_tier} → ${target.location}/${target.tier}, SHA-256 matches`;
      },
    },
    {
      name: 'clean up',
      run: async () => {
        if (run.id === undefined) return 'nothing to clean';
        await c.ok('delete', 'DELETE', `/api/datasets/${run.id}`);
        const gone = await c.request('GET', `/api/datasets/${run.id}`);
        if (gone.status !== 404) throw new Error(`the dataset is still there (HTTP ${gone.status})`);
        run.id = undefined;
      },
    },
  ];
}

export async function verify(c: Client, log: (line: string) => void): Promise<{ passed: number; failed: number }> {
  const content = crypto.randomBytes(1024 * 1024 + 17);
  const run: Run = {
    c,
    name: `verify-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`,
    content,
    sha: crypto.createHash('sha256').update(content).digest('hex'),
  };
  let passed = 0;
  let failed = 0;
  for (const s of [...setupSteps(run), ...useSteps(run)]) {
    const t = Date.now();
    try {
      const note = await s.run();
      passed++;
      log(`ok    ${s.name}${note ? ` (${note})` : ''} [${Date.now() - t} ms]`);
    } catch (err) {
      failed++;
      log(`FAIL  ${s.name}: ${(err as Error).message}`);
      // Later steps need the dataset: stop after a failed creation or upload.
      if (run.id === undefined || s.name.startsWith('upload')) break;
    }
  }
  if (run.id !== undefined) await c.request('DELETE', `/api/datasets/${run.id}`).catch(() => undefined);
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}

if (require.main === module) {
  const p = parse(process.argv.slice(2));
  loadDotEnv();
  const url = p.flags.get('url')?.at(-1) ?? Client.defaultUrl(process.env);
  const client = new Client(url, Client.resolveKey(p.flags.get('key')?.at(-1), process.env));
  verify(client, (l) => process.stdout.write(l + '\n')).then(
    (r) => process.exit(r.failed === 0 && r.passed > 0 ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`verify failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
