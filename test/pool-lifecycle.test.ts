// Pool lifecycle (issue 4, §3, §6): --max-requests recycling, reload under load (in-process and by SIGHUP
// on the real command), and SIGTERM finishing an in-flight app request. Zero failed requests throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, reachableCopy, request, startCommand, withGateway, type LogLine } from './_gateway.js';

const appsDir = path.join(fixtures, 'apps');
const ok = { prefix: '/ok', module: path.join(appsDir, 'fail-ok.mjs') };
const hold = { prefix: '/hold', module: path.join(appsDir, 'fail-hold.mjs') };

let flagDir: string;
beforeAll(() => {
  flagDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-lifecycle-flag-'));
  chmodSync(flagDir, 0o777);
});
afterAll(() => rmSync(flagDir, { recursive: true, force: true }));
let flagCount = 0;
const newFlag = () => path.join(flagDir, `flag-${++flagCount}`);

/** A line the app wrote to gateway.errors (pool mode tags them). */
const appWrote = (l: LogLine, text: string) => l.stream === 'gateway.errors' && l.msg.includes(text);

/** A fresh, changeable copy of the version app: version.txt beside it is read at import time. */
function versionApp(initial: string) {
  const copy = reachableCopy(path.join(appsDir, 'fail-reload'));
  const setVersion = (v: string) => writeFileSync(path.join(copy.dir, 'version.txt'), `${v}\n`);
  setVersion(initial);
  return { module: path.join(copy.dir, 'version.mjs'), setVersion, remove: copy.remove };
}

interface Sample {
  status: number;
  text: string;
}

/** `clients` loopback clients, each sending requests one after another until stopped. */
function load(url: string, clients: number) {
  const perClient: Sample[][] = Array.from({ length: clients }, () => []);
  const errors: string[] = [];
  let stopped = false;
  const loops = perClient.map(async (samples) => {
    while (!stopped) {
      try {
        const r = await request(url, { timeoutMs: 10_000 });
        samples.push({ status: r.status, text: r.text.trim() });
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  return {
    perClient,
    errors,
    all: () => perClient.flat(),
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('--max-requests', () => {
  it('recycles workers after a few requests each without failing a single request, sequential or concurrent', async () => {
    await withGateway({ mode: 'pool', workers: 2, maxRequests: 3, apps: [ok] }, async (g) => {
      const replies: Sample[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await request(`${g.url}/ok`);
        replies.push({ status: r.status, text: r.text });
      }
      // 8 clients, 5 requests each, all at once.
      const concurrent = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const mine: Sample[] = [];
          for (let i = 0; i < 5; i++) {
            const r = await request(`${g.url}/ok`);
            mine.push({ status: r.status, text: r.text });
          }
          return mine;
        }),
      );
      replies.push(...concurrent.flat());
      expect(replies).toHaveLength(60);
      expect(replies.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const threads = new Set(replies.map((r) => /thread=(\d+)/.exec(r.text)?.[1]));
      expect(threads.has(undefined)).toBe(false);
      expect(threads.size).toBeGreaterThan(2); // two workers at a time, but more than two over time
      await g.waitForLog((l) => /retired/.test(l.msg));
      expect(g.logs.filter((l) => /retired/.test(l.msg)).length).toBeGreaterThanOrEqual(3);
      const access = g.logs.filter((l) => l.msg === 'access');
      expect(access).toHaveLength(60);
      expect(access.filter((l) => l.status !== 200 || l.complete !== true).map((l) => `${l.status}`)).toEqual([]);
      expect(g.logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    });
  });
});

describe('reload', () => {
  it('switches to new code under load with zero failed requests, and refuses code that fails to import', async () => {
    const app = versionApp('v1');
    try {
      await withGateway({ mode: 'pool', workers: 2, apps: [{ prefix: '/v', module: app.module }] }, async (g) => {
        const traffic = load(`${g.url}/v`, 8);
        await eventually(() => traffic.all().length >= 40); // load is flowing, all on v1
        app.setVersion('v2');
        expect(await g.gateway.reload()).toBe(true);
        const atSwitch = traffic.all().length;
        await eventually(() => traffic.all().length >= atSwitch + 80);
        await traffic.stop();

        const samples = traffic.all();
        expect(traffic.errors).toEqual([]);
        expect(samples.map((s) => s.status).filter((s) => s !== 200)).toEqual([]);
        expect(samples.filter((s) => s.text !== 'v1' && s.text !== 'v2')).toEqual([]);
        expect(samples.some((s) => s.text === 'v1')).toBe(true);
        expect(samples.some((s) => s.text === 'v2')).toBe(true);
        // Each client saw v1 until it saw v2, and never v1 again: one clean switch.
        for (const mine of traffic.perClient) {
          const firstV2 = mine.findIndex((s) => s.text === 'v2');
          expect(firstV2).toBeGreaterThanOrEqual(0);
          expect(mine.slice(firstV2).every((s) => s.text === 'v2')).toBe(true);
        }
        await g.waitForLog((l) => /reload: traffic switched/.test(l.msg));
        expect(g.logs.filter((l) => l.level >= 50)).toEqual([]);

        // A broken deploy: the import check fails, the old pool keeps serving, the log says why.
        app.setVersion('throw');
        expect(await g.gateway.reload()).toBe(false);
        const refused = await g.waitForLog((l) => /reload refused/.test(l.msg));
        expect(String(refused.err)).toContain(app.module);
        expect(String(refused.err)).toContain('version.txt says this build is broken');
        const still = await request(`${g.url}/v`);
        expect(still.status).toBe(200);
        expect(still.text).toBe('v2\n');
      });
    } finally {
      app.remove();
    }
  });
});

describe('reload and requests already admitted', () => {
  it('a request admitted before the switch, its chunked body still arriving, completes with 200 afterwards', async () => {
    const apps = [hold, { prefix: '/marker', module: path.join(appsDir, 'fail-marker.mjs') }];
    await withGateway({ mode: 'pool', workers: 2, apps }, async (g) => {
      // A slow request keeps the old pool draining for as long as the test needs.
      const flag = newFlag();
      const slow = request(`${g.url}/hold?id=draining&flag=${encodeURIComponent(flag)}`);
      await g.waitForLog((l) => appWrote(l, 'holding draining'));

      // An upload: the front answers 100-continue just before it hands the request to the current pool,
      // so once the client sees it, the request belongs to the old pool.
      const upload = httpRequest(`${g.url}/marker?upload`, {
        method: 'POST',
        agent: false,
        headers: { Expect: '100-continue', 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' },
      });
      const continued = new Promise<void>((resolve) => upload.once('continue', () => resolve()));
      const reply = new Promise<Sample>((resolve, reject) => {
        upload.once('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        upload.once('error', reject);
      });
      upload.flushHeaders();
      await continued;

      const reloaded = g.gateway.reload();
      await g.waitForLog((l) => /reload: traffic switched/.test(l.msg));
      upload.end('hello body'); // the body completes only after the switch

      const uploaded = await reply;
      writeFileSync(flag, '');
      const drained = await slow;
      expect(await reloaded).toBe(true);
      expect(drained).toMatchObject({ status: 200, text: 'released draining\n' });
      expect(uploaded).toMatchObject({ status: 200, text: 'read 10 bytes\n' });
      expect(g.logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    });
  });
});

describe('the gatehouse command', () => {
  it('SIGHUP switches to the new code; SIGTERM lets an in-flight slow request finish with 200, then exits 0', async () => {
    const app = versionApp('v1');
    const cmd = startCommand(['--port', '0', '--workers', '1', '--timeout', '30', '--app', `/v=${app.module}`, '--app', `/hold=${hold.module}`]);
    try {
      const listening = await cmd.waitForLog((l) => l.msg === 'listening');
      const base = String(listening.url).replace(/\/$/, '');
      const before = await request(`${base}/v`);
      expect(before).toMatchObject({ status: 200, text: 'v1\n' });

      app.setVersion('v2');
      cmd.child.kill('SIGHUP');
      await cmd.waitForLog((l) => /reload: traffic switched/.test(l.msg));
      const after = await request(`${base}/v`);
      expect(after).toMatchObject({ status: 200, text: 'v2\n' });

      const flag = newFlag();
      const slow = request(`${base}/hold?id=last&flag=${encodeURIComponent(flag)}`);
      await cmd.waitForLog((l) => l.msg === 'holding last');
      cmd.child.kill('SIGTERM');
      await cmd.waitForLog((l) => /shutting down/.test(l.msg));
      // No new connections once draining.
      await expect(request(`${base}/v`)).rejects.toThrow(/ECONNREFUSED/);
      writeFileSync(flag, ''); // only now may the slow request finish
      const finished = await slow;
      expect(finished).toMatchObject({ status: 200, text: 'released last\n' });
      expect((await cmd.exited).code).toBe(0);
      expect(cmd.logs.some((l) => l.msg === 'stopped')).toBe(true);
      expect(cmd.logs.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      if (cmd.child.exitCode === null && cmd.child.signalCode === null) cmd.child.kill('SIGKILL');
      app.remove();
    }
  });
});
