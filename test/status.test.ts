// The gateway's own pages over real HTTP: the status JSON and page, /-/metrics as Prometheus text, /-/health,
// and who may see them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, reachableCopy, request, withGateway, type RunningGateway } from './_gateway.js';
import type { StatusSnapshot } from '../src/front/status/status-snapshot.js';

const app = (name: string) => path.join(fixtures, 'apps', name);
const snapshot = async (g: RunningGateway): Promise<StatusSnapshot> => JSON.parse((await request(`${g.url}/-/status?format=json`)).text) as StatusSnapshot;

let flags: string;
let copy: { dir: string; remove: () => void };
let scripts: { dir: string; remove: () => void };
beforeAll(() => {
  flags = mkdtempSync(path.join(tmpdir(), 'gatehouse-status-'));
  copy = reachableCopy(path.join(fixtures, 'cgi-lifecycle'));
  scripts = reachableCopy(path.join(fixtures, 'cgi-bin'));
});
afterAll(() => {
  rmSync(flags, { recursive: true, force: true });
  copy.remove();
  scripts.remove();
});

/** A strict reading of the Prometheus text format: families with HELP and TYPE, well-formed samples. */
function parsePrometheus(text: string): Map<string, { type: string; samples: { name: string; labels: Record<string, string>; value: number }[] }> {
  const families = new Map<string, { type: string; samples: { name: string; labels: Record<string, string>; value: number }[] }>();
  const help = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) { help.add(m[1]!); continue; }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      expect(help.has(m[1]!), `HELP before TYPE for ${m[1]}`).toBe(true);
      families.set(m[1]!, { type: m[2]!, samples: [] });
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? ([+-]?(?:[0-9.]+(?:e[+-]?[0-9]+)?|inf(?:inity)?)|nan)$/i.exec(line); // floats as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case)
    expect(m, `a sample line: ${line}`).not.toBeNull();
    const [, name, labelText, value] = m!;
    const family = [...families.keys()].filter((f) => name === f || name!.startsWith(`${f}_`)).sort((a, b) => b.length - a.length)[0];
    expect(family, `a declared family for ${name}`).toBeDefined();
    const labels: Record<string, string> = {};
    for (const [, k, v] of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    families.get(family!)!.samples.push({ name: name!, labels, value: Number(value) });
  }
  return families;
}

describe('the status JSON and page', () => {
  it('counts each request once, by mount and status class, and not its own requests', async () => {
    await withGateway({ mode: 'pool', workers: 1, apps: [{ prefix: '/ok', module: app('fail-ok.mjs') }] }, async (g) => {
      const before = await snapshot(g);
      for (let i = 0; i < 3; i++) expect((await request(`${g.url}/ok/`)).status).toBe(200);
      expect((await request(`${g.url}/no-such-thing`)).status).toBe(404);
      await eventually(async () => (await snapshot(g)).server.requests === before.server.requests + 4);
      const s = await snapshot(g);
      expect(s.server.byStatus['2xx'] - before.server.byStatus['2xx']).toBe(3);
      expect(s.server.byStatus['4xx'] - before.server.byStatus['4xx']).toBe(1);
      expect(s.mounts.find((m) => m.via === 'pool:/ok')).toMatchObject({ requests: 3, errors: 0 });
      expect(s.mounts.find((m) => m.via === 'pool:/ok')!.p99Ms).toBeGreaterThan(0);
      expect(s.history.at(-1)!.requests + s.history.at(-2)!.requests).toBeGreaterThanOrEqual(1);
      expect(s.server).toMatchObject({ mode: 'pool', inFlight: 0, draining: false, url: `${g.url}/` });
      const page = await request(`${g.url}/-/status`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).toContain('?format=json');
    });
  });

  it('shows a held request running on its worker (path only, never the query), one queued behind it, and both in flight', async () => {
    await withGateway({ mode: 'pool', workers: 1, apps: [{ prefix: '/hold', module: app('fail-hold.mjs') }] }, async (g) => {
      const flag = path.join(flags, 'held');
      const held = [1, 2].map((id) => request(`${g.url}/hold/x?flag=${encodeURIComponent(flag)}&id=${id}&secret=hunter2`));
      await eventually(async () => (await snapshot(g)).server.inFlight === 2);
      const s = await snapshot(g);
      const worker = s.pool!.workers[0]!;
      expect(worker.state).toBe('running');
      expect(worker.running).toHaveLength(1);
      expect(worker.running[0]!.path).toBe('/hold/x');
      expect(worker.heapMb!.used).toBeGreaterThan(0); // the worker says how big its heap is
      expect(worker.heapMb!.total).toBeGreaterThanOrEqual(worker.heapMb!.used);
      expect(s.server.queued).toBe(1);
      expect(JSON.stringify(s)).not.toContain('hunter2');
      expect(JSON.stringify(s)).not.toContain('flag');
      writeFileSync(flag, '');
      for (const r of await Promise.all(held)) expect(r.status).toBe(200);
      await eventually(async () => (await snapshot(g)).server.inFlight === 0);
    });
  });

  it('counts a worker restart with its reason: a crash, and a --timeout', async () => {
    await withGateway({ mode: 'pool', workers: 1, timeoutMs: 500, apps: [{ prefix: '/exit', module: app('fail-exit.mjs') }, { prefix: '/hang', module: app('fail-hang.mjs') }] }, async (g) => {
      expect((await request(`${g.url}/exit/`)).status).toBe(502);
      await eventually(async () => (await snapshot(g)).pool!.restarts.crash === 1);
      expect((await request(`${g.url}/hang/before`)).status).toBe(504);
      await eventually(async () => (await snapshot(g)).pool!.restarts.timeout === 1);
      const s = await snapshot(g);
      expect(s.pool!.restarts).toEqual({ crash: 1, memory: 0, timeout: 1, recycle: 0 });
      // One worker slot, whose workers were replaced once for each reason.
      await eventually(async () => (await snapshot(g)).pool!.workers.some((w) => w.state === 'idle'));
      const slot0 = (await snapshot(g)).pool!.workers.filter((w) => w.slot === 0);
      expect(slot0.length).toBeGreaterThanOrEqual(1);
      expect(slot0[0]!.restarts).toEqual({ crash: 1, memory: 0, timeout: 1, recycle: 0 });
      expect(s.server.byStatus['5xx']).toBe(2);
    });
  });

  it('counts a script that hangs before its headers as timed out and killed, and shows it running meanwhile', async () => {
    await withGateway({ mode: 'cgi', timeoutMs: 800, cgiDir: path.join(copy.dir, 'cgi-bin') }, async (g) => {
      const hung = request(`${g.url}/cgi-bin/hang-before-headers.sh`);
      await eventually(async () => (await snapshot(g)).cgi.running.length === 1);
      const running = (await snapshot(g)).cgi;
      expect(running.running[0]!.script).toMatch(/hang-before-headers\.sh$/);
      expect(running.running[0]!.pid).toBeGreaterThan(0);
      expect((await hung).status).toBe(504);
      await eventually(async () => (await snapshot(g)).cgi.killed === 1);
      const s = (await snapshot(g)).cgi;
      expect(s).toMatchObject({ spawned: 1, startFailed: 0, timedOut: 1, killed: 1, running: [] });
      expect(s.spawner.restarts).toBe(0);
    });
  });
});

describe('/-/metrics', () => {
  it('is Prometheus text that the figures move in: requests by mount and status class, a latency histogram, restarts, CGI counts', async () => {
    await withGateway({ mode: 'pool', workers: 1, cgiDir: scripts.dir, apps: [{ prefix: '/ok', module: app('fail-ok.mjs') }] }, async (g) => {
      for (let i = 0; i < 2; i++) await request(`${g.url}/ok/`);
      expect((await request(`${g.url}/cgi-bin/hello.sh`)).status).toBe(200);
      await eventually(async () => (await snapshot(g)).server.requests >= 3);
      const reply = await request(`${g.url}/-/metrics`);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parsePrometheus(reply.text);
      const requests = families.get('gatehouse_requests_total')!;
      expect(requests.type).toBe('counter');
      expect(requests.samples.find((s) => s.labels.mount === '/ok' && s.labels.mode === 'pool' && s.labels.status === '2xx')?.value).toBe(2);
      expect(requests.samples.find((s) => s.labels.mount === '/cgi-bin' && s.labels.mode === 'cgi')?.value).toBe(1);
      const duration = families.get('gatehouse_request_duration_seconds')!;
      expect(duration.type).toBe('histogram');
      const okBuckets = duration.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.mount === '/ok');
      for (let i = 1; i < okBuckets.length; i++) expect(okBuckets[i]!.value).toBeGreaterThanOrEqual(okBuckets[i - 1]!.value);
      expect(okBuckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 2 });
      expect(duration.samples.find((s) => s.name.endsWith('_count') && s.labels.mount === '/ok')?.value).toBe(2);
      expect(families.get('gatehouse_pool_worker_restarts_total')!.samples.map((s) => s.labels.reason).sort()).toEqual(['crash', 'memory', 'recycle', 'timeout']);
      expect(families.get('gatehouse_cgi_spawned_total')!.samples[0]!.value).toBe(1);
      expect(families.get('gatehouse_requests_in_flight')!.samples[0]!.value).toBe(0);
      expect(families.get('process_resident_memory_bytes')!.samples[0]!.value).toBeGreaterThan(0);
      expect(reply.text).not.toMatch(/QUERY_STRING|PATH=|HOME=/);
    });
  });
});

describe('/-/health', () => {
  it('is 200 ok while serving and 503 while draining (asked on a kept-alive connection as the drain begins)', async () => {
    await withGateway({ mode: 'pool', workers: 1, gracefulTimeoutMs: 3000, apps: [{ prefix: '/hold', module: app('fail-hold.mjs') }] }, async (g) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = (p: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
        httpRequest(`${g.url}${p}`, { agent }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        }).on('error', reject).end();
      });
      expect(await get('/-/health')).toEqual({ status: 200, text: 'ok\n' });
      const flag = path.join(flags, 'drain');
      const held = request(`${g.url}/hold/?flag=${encodeURIComponent(flag)}`);
      await eventually(async () => (await get('/-/status?format=json')).text.includes('"inFlight":1'));
      const stopping = g.gateway.shutdown();
      expect(await get('/-/health')).toEqual({ status: 503, text: 'draining\n' });
      writeFileSync(flag, '');
      expect((await held).status).toBe(200);
      agent.destroy();
      await stopping;
    });
  });
});

describe('/-/health of a crash-looping pool', () => {
  it('is 503 while dispatch is paused because workers keep dying, and the JSON shows the pause', async () => {
    await withGateway({ mode: 'pool', workers: 1, apps: [{ prefix: '/exit', module: app('fail-exit.mjs') }] }, async (g) => {
      let paused = false;
      for (let i = 0; i < 30 && !paused; i++) paused = (await request(`${g.url}/exit/`)).status === 503;
      expect(paused).toBe(true);
      const health = await request(`${g.url}/-/health`);
      expect([health.status, health.text]).toEqual([503, 'workers keep dying: dispatch paused\n']);
      const s = await snapshot(g);
      expect(s.pool!.pausedMs).toBeGreaterThan(0);
      expect(s.pool!.restarts.crash).toBeGreaterThanOrEqual(2);
      expect(s.server.unavailable).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('who may see them', () => {
  const client = (url: string, localAddress: string) => new Promise<number>((resolve, reject) => {
    httpRequest(url, { localAddress, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
  });

  it('a client from another address than 127.0.0.1 or ::1 gets 404 for each, as if absent, unless --status-allow names its network', async () => {
    await withGateway({ host: '127.0.0.2' }, async (g) => {
      for (const p of ['/-/status', '/-/status?format=json', '/-/metrics', '/-/health']) {
        expect(await client(`${g.url}${p}`, '127.0.0.2')).toBe(404);
        expect(await client(`${g.url}${p}`, '127.0.0.1')).toBe(200);
      }
    });
    await withGateway({ host: '127.0.0.2', statusAllow: ['127.0.0.0/30'] }, async (g) => {
      expect(await client(`${g.url}/-/health`, '127.0.0.2')).toBe(200);
      expect(await client(`${g.url}/-/health`, '127.0.0.5')).toBe(404);
    });
  });

  it('--no-status turns all three off; --status-path moves the page', async () => {
    await withGateway({ status: false }, async (g) => {
      for (const p of ['/-/status', '/-/metrics', '/-/health']) expect((await request(`${g.url}${p}`)).status).toBe(404);
    });
    await withGateway({ statusPath: '/server-status' }, async (g) => {
      expect((await request(`${g.url}/server-status?format=json`)).status).toBe(200);
      expect((await request(`${g.url}/-/status`)).status).toBe(404);
      expect((await request(`${g.url}/-/health`)).status).toBe(200);
    });
  });
});
