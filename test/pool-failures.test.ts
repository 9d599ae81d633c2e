// The failure rows of design.md for mounted apps (issue 4, §3, §6, §7): what the client gets, what the log
// says, and that the pool is healthy afterwards. Real worker threads, real per-request children, real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get as httpGet } from 'node:http';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, processExists, request, withGateway, type LogLine, type Reply, type RunningGateway } from './_gateway.js';
import type { Options } from '../src/front/options.js';

const appsDir = path.join(fixtures, 'apps');
const mount = (prefix: string, file: string) => ({ prefix, module: path.join(appsDir, file) });
const ok = mount('/ok', 'fail-ok.mjs');

let flagDir: string;
beforeAll(() => {
  flagDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-pool-flag-'));
  chmodSync(flagDir, 0o777);
});
afterAll(() => rmSync(flagDir, { recursive: true, force: true }));
let flagCount = 0;
const newFlag = () => path.join(flagDir, `flag-${++flagCount}`);

const pool = <T>(options: Partial<Options>, fn: (g: RunningGateway) => Promise<T>) => withGateway({ mode: 'pool', ...options }, fn);

/** The log lines an app wrote to gateway.errors: pool mode tags them, CGI mode logs them as stderr. */
const appWrote = (l: LogLine, text: string | RegExp): boolean => {
  const line = l.stream === 'gateway.errors' ? l.msg : typeof l.stderr === 'string' ? l.stderr : null;
  return line !== null && (typeof text === 'string' ? line.includes(text) : text.test(line));
};

interface Outcome {
  status: number;
  text: string;
  /** The body reached its framed end. */
  complete: boolean;
  error: string | null;
}

/** A GET that reports a cut connection instead of rejecting. */
function fetchOutcome(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let status = 0;
    let text = '';
    let done = false;
    const settle = (complete: boolean, error: string | null) => {
      if (done) return;
      done = true;
      resolve({ status, text, complete, error });
    };
    const req = httpGet(url, { agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => settle(res.complete, null));
      res.on('error', (e) => settle(false, e.message));
      res.on('close', () => settle(res.complete, res.complete ? null : 'closed early'));
    });
    req.on('error', (e) => settle(false, e.message));
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
  });
}

/** Starts a GET, waits for the first body bytes, then walks away (the client disconnects mid-stream). */
function readSomeThenLeave(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.once('data', (c: Buffer) => {
        resolve({ status: res.statusCode ?? 0, bytes: c.length });
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
  });
}

/** A detail-free page: the generic sentence only, nothing of the exception. */
function expectDetailFree(r: Reply, ...secrets: string[]): void {
  for (const s of secrets) expect(r.text).not.toContain(s);
  expect(r.text).not.toMatch(/\n\s+at /); // no stack frames
  expect(r.text).not.toContain('Detail (--debug)');
}

describe('an app that throws', () => {
  const throws = mount('/throws', 'fail-throw.mjs');

  it('answers 500 with a detail-free page while the log has the stack (pool mode)', async () => {
    await pool({ workers: 1, apps: [throws, ok] }, async (g) => {
      const r = await request(`${g.url}/throws/x`);
      expect(r.status).toBe(500);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expectDetailFree(r, 'frobnicator', '4711', 'fail-throw.mjs');
      const line = await g.waitForLog((l) => typeof l.stack === 'string' && l.stack.includes('frobnicator'));
      expect(line.stack).toMatch(/at throwingApp \(.*fail-throw\.mjs/);
      expect(line.app).toBe('/throws');
      // The worker survived its app's exception: the neighbour answers.
      expect((await request(`${g.url}/ok`)).status).toBe(200);
    });
  });

  it('shows the exception and its stack in the page under debug (pool mode)', async () => {
    await pool({ workers: 1, debug: true, apps: [throws] }, async (g) => {
      const r = await request(`${g.url}/throws/x`);
      expect(r.status).toBe(500);
      expect(r.text).toContain('frobnicator exploded with secret detail 4711');
      expect(r.text).toContain('fail-throw.mjs');
    });
  });

  it('answers 500 with a detail-free page while the log has the stack (CGI mode)', async () => {
    await withGateway({ mode: 'cgi', apps: [throws] }, async (g) => {
      const r = await request(`${g.url}/throws/x`);
      expect(r.status).toBe(500);
      expectDetailFree(r, 'frobnicator', '4711', 'fail-throw.mjs');
      await g.waitForLog((l) => appWrote(l, 'frobnicator exploded'));
      await g.waitForLog((l) => appWrote(l, /at throwingApp \(.*fail-throw\.mjs/));
    });
  });

  it('shows the exception and its stack in the page under debug (CGI mode)', async () => {
    await withGateway({ mode: 'cgi', debug: true, apps: [throws] }, async (g) => {
      const r = await request(`${g.url}/throws/x`);
      expect(r.status).toBe(500);
      expect(r.text).toContain('frobnicator exploded with secret detail 4711');
      expect(r.text).toContain('fail-throw.mjs');
    });
  });
});

describe('--timeout in pool mode', () => {
  const hang = mount('/hang', 'fail-hang.mjs');

  it('an app that never answers gets 504, its worker is replaced, and the log names the app and URL', async () => {
    await pool({ workers: 1, timeoutMs: 1000, apps: [hang, ok] }, async (g) => {
      const r = await request(`${g.url}/hang/before?case=spin`);
      expect(r.status).toBe(504);
      expectDetailFree(r, 'fail-hang');
      const line = await g.waitForLog((l) => l.code === 'TIMEOUT');
      expect(line.status).toBe(504);
      expect(line.msg).toContain('/hang');
      expect(line.msg).toContain('/hang/before?case=spin');
      expect(line.msg).toMatch(/worker terminated/);
      // One worker, and it was spinning: only a replacement can answer this.
      const next = await request(`${g.url}/ok`, { timeoutMs: 10_000 });
      expect(next.status).toBe(200);
      expect(next.text).toMatch(/^ok thread=\d+/);
    });
  });

  it('an app that goes silent after its headers has its connection cut, and the log says so', async () => {
    await pool({ workers: 1, timeoutMs: 1000, apps: [hang, ok] }, async (g) => {
      const o = await fetchOutcome(`${g.url}/hang/after-headers`);
      expect(o.status).toBe(200);
      expect(o.text).toContain('first chunk');
      expect(o.complete).toBe(false);
      expect(o.error).not.toBeNull();
      const line = await g.waitForLog((l) => l.code === 'CUT');
      expect(line.msg).toMatch(/connection cut/);
      expect(line.app).toBe('/hang');
      expect(line.url).toBe('/hang/after-headers');
      expect((await request(`${g.url}/ok`)).status).toBe(200);
    });
  });

  it('an app that keeps sending a chunk every 200 ms for twice the timeout is not cut', async () => {
    await pool({ workers: 1, timeoutMs: 1000, apps: [hang] }, async (g) => {
      const o = await fetchOutcome(`${g.url}/hang/trickle?ms=2000&every=200`);
      expect(o).toMatchObject({ status: 200, complete: true, error: null });
      expect(o.text).toContain('tick 0\n');
      expect(o.text).toContain('tick 9\n');
      expect(o.text.endsWith('done\n')).toBe(true);
      expect(g.logs.some((l) => l.code === 'CUT' || l.code === 'TIMEOUT')).toBe(false);
    });
  });
});

describe('a worker that dies', () => {
  it('process.exit in the app fails only its own request (502) while a request on another worker completes', async () => {
    const apps = [mount('/exit', 'fail-exit.mjs'), mount('/hold', 'fail-hold.mjs'), ok];
    await pool({ workers: 2, timeoutMs: 10_000, apps }, async (g) => {
      const flag = newFlag();
      const held = request(`${g.url}/hold?id=neighbour&flag=${encodeURIComponent(flag)}`);
      await g.waitForLog((l) => appWrote(l, 'holding neighbour')); // it occupies one worker now
      const died = await request(`${g.url}/exit`);
      expect(died.status).toBe(502);
      expectDetailFree(died, 'exited with code');
      const line = await g.waitForLog((l) => l.code === 'WORKER_DIED');
      expect(line.msg).toContain('/exit');
      writeFileSync(flag, '');
      const neighbour = await held;
      expect(neighbour.status).toBe(200);
      expect(neighbour.text).toBe('released neighbour\n');
      expect((await request(`${g.url}/ok`)).status).toBe(200);
    });
  });

  it('a request waiting its turn on a worker that dies is run by another worker (200); only the one that killed it gets 502', async () => {
    await pool({ workers: 1, timeoutMs: 10_000, apps: [mount('/exit', 'exit-on-flag.mjs'), ok] }, async (g) => {
      const flag = newFlag();
      const killer = request(`${g.url}/exit?flag=${encodeURIComponent(flag)}`);
      await g.waitForLog((l) => appWrote(l, 'about to exit'));
      const waiting = request(`${g.url}/ok`);
      const queued = await g.waitForLog((l) => l.msg === 'waits its turn on a busy worker' && l.url === '/ok');
      writeFileSync(flag, '');
      expect((await killer).status).toBe(502);
      const r = await waiting;
      expect(r.status).toBe(200);
      expect(r.text).toMatch(/^ok thread=\d+/);
      expect(r.text).not.toContain(`thread=${queued.thread} `);
      await g.waitForLog((l) => l.msg === 'its worker went before its turn: it runs on another' && l.url === '/ok');
      const died = g.logs.filter((l) => l.code === 'WORKER_DIED');
      expect(died).toHaveLength(1);
      expect(died[0]!.msg).toContain('/exit');
    });
  });

  it('an app over --worker-memory gets 502, its worker is replaced, and the next request is fine', async () => {
    await pool({ workers: 1, workerMemoryMb: 32, timeoutMs: 20_000, apps: [mount('/hoard', 'fail-memory.mjs'), ok] }, async (g) => {
      const r = await request(`${g.url}/hoard`, { timeoutMs: 25_000 });
      expect(r.status).toBe(502);
      const line = await g.waitForLog((l) => l.code === 'WORKER_DIED');
      expect(line.msg).toMatch(/\/hoard/);
      expect(line.msg).toMatch(/memory/i);
      const next = await request(`${g.url}/ok`);
      expect(next.status).toBe(200);
    });
  }, 40_000);

  it('a crash loop is rate-limited: after a few deaths dispatch pauses with 503 and the log says workers keep dying', async () => {
    await pool({ workers: 1, timeoutMs: 10_000, apps: [mount('/exit', 'fail-exit.mjs'), ok] }, async (g) => {
      const statuses: number[] = [];
      let refused: Reply | undefined;
      for (let i = 0; i < 30 && !refused; i++) {
        const r = await request(`${g.url}/exit`);
        statuses.push(r.status);
        if (r.status === 503) refused = r;
      }
      expect(refused, `statuses: ${statuses.join(' ')}`).toBeDefined();
      expect(refused!.headers['retry-after']).toBe('1');
      const deaths = statuses.filter((s) => s === 502).length;
      expect(deaths).toBeGreaterThanOrEqual(2);
      expect(deaths).toBeLessThanOrEqual(10); // bounded, not one respawn per request
      expect(statuses.every((s) => s === 502 || s === 503)).toBe(true);
      await g.waitForLog((l) => /workers keep dying/.test(l.msg) && l.level >= 50);
      // The refusal names the pause, not a full queue.
      const paused = await g.waitForLog((l) => /workers keep dying: dispatch paused/.test(l.msg));
      expect(paused.status).toBe(503);
    });
  });
});

describe('a malformed response from the app', () => {
  const cases: [string, RegExp][] = [
    ['/status-without-reason', /malformed status "200"/],
    ['/status-not-numeric', /malformed status "abc OK"/],
    ['/status-too-low', /malformed status "099 Too Low"/],
    ['/status-not-a-string', /status must be a string/],
    ['/header-value-crlf', /CR, LF or NUL in the value of header X-Note/],
    ['/header-hop-by-hop', /hop-by-hop header Connection/],
    ['/header-name-space', /invalid header name "Bad Name"/],
  ];

  it('becomes a 500 with a log line naming the broken rule, for every rule', async () => {
    await pool({ workers: 1, apps: [mount('/bad', 'fail-bad-response.mjs')] }, async (g) => {
      for (const [pathInfo, rule] of cases) {
        const r = await request(`${g.url}/bad${pathInfo}`);
        expect(r.status, pathInfo).toBe(500);
        expect(r.headers['set-cookie'], pathInfo).toBeUndefined();
        expectDetailFree(r, 'must never reach', 'malformed', 'hop-by-hop', 'header');
        const line = await g.waitForLog((l) => l.url === `/bad${pathInfo}` && l.code === 'APP_PROTOCOL');
        expect(line.msg, pathInfo).toMatch(rule);
      }
    });
  });
});

describe('admission', () => {
  it('with the worker busy and the queue full, the next request gets 503 with Retry-After: 1 at once, and the others complete', async () => {
    await pool({ workers: 1, maxQueue: 1, timeoutMs: 20_000, apps: [mount('/hold', 'fail-hold.mjs')] }, async (g) => {
      const flag = newFlag();
      const hold = (id: string) => request(`${g.url}/hold?id=${id}&flag=${encodeURIComponent(flag)}`);
      const first = hold('first');
      await g.waitForLog((l) => appWrote(l, 'holding first')); // the only worker is taken
      // One of these two is queued, the other finds the queue full. Which one arrives first is the
      // network's business, so the test takes whichever answers while the worker is still held.
      const second = hold('second');
      const third = hold('third');
      const early = await Promise.race([second.then((r) => ['second', r] as const), third.then((r) => ['third', r] as const)]);
      const [refusedId, refused] = early;
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(g.logs.some((l) => appWrote(l, `holding ${refusedId}`))).toBe(false);
      await g.waitForLog((l) => l.code === 'OVERLOADED' && /queue full/.test(l.msg));
      writeFileSync(flag, ''); // only now is the worker released
      const queued = refusedId === 'second' ? third : second;
      const [a, b] = await Promise.all([first, queued]);
      expect(a.status).toBe(200);
      expect(a.text).toBe('released first\n');
      expect(b.status).toBe(200);
      expect(b.text).toBe(`released ${refusedId === 'second' ? 'third' : 'second'}\n`);
    });
  });
});

describe('a client that leaves while its request is queued', () => {
  it('is logged at info as gone (CLIENT_GONE), its access line shows 499, and its request never runs', async () => {
    await pool({ workers: 1, timeoutMs: 20_000, apps: [mount('/hold', 'fail-hold.mjs')] }, async (g) => {
      const flag = newFlag();
      const hold = (id: string) => request(`${g.url}/hold?id=${id}&flag=${encodeURIComponent(flag)}`);
      const running = hold('running');
      await g.waitForLog((l) => appWrote(l, 'holding running'));
      // The busy worker takes two more to wait their turn on it; the next waits in the front's queue.
      const onLane = [hold('lane-1'), hold('lane-2')];
      await eventually(() => g.logs.filter((l) => l.msg === 'waits its turn on a busy worker').length === 2);
      const client = httpGet(`${g.url}/hold?id=gone&flag=${encodeURIComponent(flag)}`);
      client.on('error', () => {});
      const queued = await g.waitForLog((l) => l.msg === 'queued: no worker has room');
      client.destroy();
      const gone = await g.waitForLog((l) => l.code === 'CLIENT_GONE');
      expect([gone.level, gone.req, gone.status]).toEqual([30, queued.req, 499]);
      const access = await g.waitForLog((l) => l.msg === 'access' && l.req === queued.req);
      expect([access.status, access.complete]).toEqual([499, false]);
      expect(g.logs.some((l) => l.level! >= 50 && l.req === queued.req)).toBe(false);
      writeFileSync(flag, '');
      expect((await running).text).toBe('released running\n');
      expect((await Promise.all(onLane)).map((r) => r.text)).toEqual(['released lane-1\n', 'released lane-2\n']);
      expect(g.logs.some((l) => appWrote(l, 'holding gone'))).toBe(false);
    });
  });
});

describe('--idle-spin', () => {
  it('never holds the front on a silent app: while it runs alone in the pool, a static file is served', async () => {
    const options = { workers: 1, idleSpinUs: 10_000, timeoutMs: 60_000, gracefulTimeoutMs: 200, apps: [mount('/silent', 'silent-spin.mjs')] };
    await pool(options, async (g) => {
      const flag = newFlag();
      const silent = fetchOutcome(`${g.url}/silent?flag=${encodeURIComponent(flag)}`);
      await eventually(() => existsSync(flag)); // the app runs: the front waited awake for it, at most 10 ms
      const page = await request(`${g.url}/`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<html');
      expect(existsSync(flag)).toBe(true);
      void silent; // cut when the gateway shuts down
    });
  });
});

describe('a request waiting its turn on a busy worker', () => {
  it('is given back and runs on another worker as soon as that one is free, while the first still holds', async () => {
    await pool({ workers: 2, logLevel: 'debug', apps: [mount('/hold', 'hold-thread.mjs')] }, async (g) => {
      const flags = { a: newFlag(), b: newFlag() };
      const hold = (id: string, flag: string) => request(`${g.url}/hold?id=${id}&flag=${encodeURIComponent(flag)}`);
      const threadOf = async (id: string) => {
        const line = await g.waitForLog((l) => appWrote(l, new RegExp(`^thread \\d+ takes ${id}$`)));
        return Number(/^thread (\d+)/.exec(String(line.msg))![1]);
      };
      const a = hold('a', flags.a);
      const b = hold('b', flags.b);
      const threads = { a: await threadOf('a'), b: await threadOf('b') };
      expect(threads.a).not.toBe(threads.b);
      // Both workers busy: c waits its turn on one of them (its flag already exists: it answers once it runs).
      const ready = newFlag();
      writeFileSync(ready, '');
      const c = hold('c', ready);
      const waiting = await g.waitForLog((l) => l.msg === 'waits its turn on a busy worker');
      const behind = waiting.thread === threads.a ? 'a' : 'b';
      const other = behind === 'a' ? 'b' : 'a';
      // The other worker frees up: c is given back and runs there, while the one it waited behind still holds.
      writeFileSync(flags[other], '');
      expect((await (other === 'a' ? a : b)).text).toBe(`released ${other}\n`);
      expect((await c).text).toBe('released c\n');
      expect(await threadOf('c')).toBe(threads[other]);
      expect(g.logs.some((l) => l.msg === 'given back by a busy worker: it runs on a free one')).toBe(true);
      writeFileSync(flags[behind], '');
      expect((await (behind === 'a' ? a : b)).text).toBe(`released ${behind}\n`);
    });
  });
});

describe('--worker-concurrency', () => {
  it('with 2, one worker runs two requests at once; with the default 1, the second waits for the first', async () => {
    for (const [workerConcurrency, together] of [[2, true], [1, false]] as const) {
      await pool({ workers: 1, workerConcurrency, apps: [mount('/hold', 'fail-hold.mjs')] }, async (g) => {
        const flag = newFlag();
        const hold = (id: string) => request(`${g.url}/hold?id=${id}&flag=${encodeURIComponent(flag)}`);
        const first = hold('first');
        await g.waitForLog((l) => appWrote(l, 'holding first'));
        const second = hold('second');
        if (together) await g.waitForLog((l) => appWrote(l, 'holding second'));
        else await g.waitForLog((l) => l.msg === 'waits its turn on a busy worker');
        expect(g.logs.some((l) => appWrote(l, 'holding second'))).toBe(together);
        writeFileSync(flag, '');
        expect((await first).text).toBe('released first\n');
        expect((await second).text).toBe('released second\n');
      });
    }
  });
});

describe('--max-body for apps', () => {
  const marker = mount('/marker', 'fail-marker.mjs');

  /** A request whose body goes out chunked, in the given pieces. */
  function postChunked(url: string, pieces: Buffer[]): Promise<Reply> {
    return request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: (async function* () {
        yield* pieces;
      })(),
    });
  }

  it('a declared Content-Length over the limit gets 413 and the app never runs', async () => {
    await pool({ workers: 1, maxBodyBytes: 1000, apps: [marker] }, async (g) => {
      const big = await request(`${g.url}/marker?big`, { method: 'POST', body: Buffer.alloc(5000, 0x61) });
      expect(big.status).toBe(413);
      // The same worker then serves a small body; had the big one reached the app, its marker came first.
      const small = await request(`${g.url}/marker?small`, { method: 'POST', body: Buffer.alloc(10, 0x61) });
      expect(small.status).toBe(200);
      expect(small.text).toBe('read 10 bytes\n');
      await g.waitForLog((l) => appWrote(l, 'ran for small'));
      expect(g.logs.some((l) => appWrote(l, 'ran for big'))).toBe(false);
    });
  });

  it('a chunked body crossing the limit gets 413 in buffer mode and the app never runs', async () => {
    await pool({ workers: 1, maxBodyBytes: 1000, chunkedBody: 'buffer', apps: [marker] }, async (g) => {
      const big = await postChunked(`${g.url}/marker?chunked-big`, [Buffer.alloc(600, 0x61), Buffer.alloc(600, 0x62)]);
      expect(big.status).toBe(413);
      const small = await postChunked(`${g.url}/marker?chunked-small`, [Buffer.alloc(300, 0x61), Buffer.alloc(300, 0x62)]);
      expect(small.status).toBe(200);
      expect(small.text).toBe('read 600 bytes\n');
      await g.waitForLog((l) => appWrote(l, 'ran for chunked-small'));
      expect(g.logs.some((l) => appWrote(l, 'ran for chunked-big'))).toBe(false);
    });
  });
});

describe('a client that disconnects mid-stream', () => {
  const stream = mount('/stream', 'fail-stream.mjs');
  const streamUrl = (g: RunningGateway, tag: string, mark?: string) =>
    `${g.url}/stream?tag=${tag}${mark ? `&mark=${encodeURIComponent(mark)}` : ''}`;

  it('in pool mode: the body is finalised and the only worker is free again', async () => {
    // A long timeout: only the disconnect itself may free the worker.
    await pool({ workers: 1, timeoutMs: 30_000, apps: [stream, ok] }, async (g) => {
      for (const tag of ['pool-1', 'pool-2']) {
        const mark = newFlag();
        const got = await readSomeThenLeave(streamUrl(g, tag, mark));
        expect(got.status).toBe(200);
        expect(got.bytes).toBeGreaterThan(0);
        await eventually(() => existsSync(mark)); // written by the body's `finally`
        const next = await request(`${g.url}/ok`, { timeoutMs: 10_000 }); // well before the 30 s timeout
        expect(next.status).toBe(200);
      }
      expect(g.logs.some((l) => l.code === 'TIMEOUT' || l.code === 'WORKER_DIED')).toBe(false);
    });
  });

  it('in pool mode: what the app writes to gateway.errors while its body is finalised reaches the log, every time', async () => {
    await pool({ workers: 1, timeoutMs: 30_000, apps: [stream, ok] }, async (g) => {
      const tags = Array.from({ length: 10 }, (_, i) => `pool-log-${i}`);
      for (const tag of tags) {
        const mark = newFlag();
        await readSomeThenLeave(streamUrl(g, tag, mark));
        await eventually(() => existsSync(mark)); // the body was finalised
        // The worker is free again; by now everything the app wrote has had its chance to arrive.
        expect((await request(`${g.url}/ok`)).status).toBe(200);
      }
      for (const tag of tags) await g.waitForLog((l) => appWrote(l, `stream ${tag} finalised`), 3000);
    });
  });

  it('in CGI mode: the per-request child gets SIGTERM, finalises its body and exits', async () => {
    await withGateway({ mode: 'cgi', timeoutMs: 30_000, apps: [stream] }, async (g) => {
      const mark = newFlag();
      const got = await readSomeThenLeave(streamUrl(g, 'cgi-1', mark));
      expect(got.status).toBe(200);
      const started = await g.waitForLog((l) => appWrote(l, /^stream cgi-1 started pid=\d+$/));
      const pid = Number(/pid=(\d+)/.exec(String(started.stderr))![1]);
      await g.waitForLog((l) => appWrote(l, 'stream cgi-1 finalised'));
      expect(existsSync(mark)).toBe(true);
      await eventually(() => !processExists(pid));
    });
  });
});

describe('gateway.errors from a body being finalised', () => {
  it('in pool mode: what close() writes after a normal response reaches the log, for every request', async () => {
    await pool({ workers: 1, apps: [mount('/close', 'fail-close-log.mjs')] }, async (g) => {
      for (let i = 0; i < 20; i++) {
        const r = await request(`${g.url}/close?r${i}`);
        expect(r.text).toBe(`hello r${i}\n`);
      }
      for (let i = 0; i < 20; i++) await g.waitForLog((l) => appWrote(l, `closed r${i}`), 3000);
    });
  });

  it('in CGI mode: what close() writes after a normal response reaches the log', async () => {
    await withGateway({ mode: 'cgi', apps: [mount('/close', 'fail-close-log.mjs')] }, async (g) => {
      const r = await request(`${g.url}/close?c1`);
      expect(r.text).toBe('hello c1\n');
      await g.waitForLog((l) => appWrote(l, 'closed c1'));
    });
  });
});
