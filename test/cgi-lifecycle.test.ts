// Process lifecycle and safety (issue §6, §9): timeouts, killing whole process groups, stderr in the log,
// admission control, reaping, and the real command's flags and SIGTERM handling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bin, eventually, isRunning, stderrNumbers, fixtures, processExists, reachableCopy, request, requireBuild, root, startCommand, withGateway, zombieChildren, type Command, type Reply, type RunningGateway } from './_gateway.js';
import { flags } from '../src/front/flags.js';
import type { Options } from '../src/front/options.js';

let copy: { dir: string; remove: () => void };
let cgiDir: string;
let flagDir: string;

beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'cgi-lifecycle'));
  cgiDir = path.join(copy.dir, 'cgi-bin');
  flagDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-flag-'));
  chmodSync(flagDir, 0o777); // the scripts (as nobody) look for flag files here
});
afterAll(() => {
  copy.remove();
  rmSync(flagDir, { recursive: true, force: true });
});

const run = <T>(fn: (g: RunningGateway) => Promise<T>, extra: Partial<Options> = {}) => withGateway({ cgiDir, ...extra }, fn);

let flagCount = 0;
const newFlag = () => path.join(flagDir, `flag-${++flagCount}`);

/** Rejects if `p` has not settled within the bound (a guard against hanging, not a timing assertion). */
function within<T>(p: Promise<T>, boundMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), boundMs);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

describe('--timeout', () => {
  it('a script that sends no headers in time gets 504, and its whole process group is killed', async () => {
    await run(
      async (g) => {
        const r = await request(`${g.url}/cgi-bin/hang-before-headers.sh`);
        expect(r.status).toBe(504);
        const [script, grandchild] = await stderrNumbers(g, 'pids');
        await eventually(() => !processExists(script!) && !isRunning(grandchild!));
        await g.waitForLog((l) => l.code === 'TIMEOUT' && l.status === 504);
      },
      { timeoutMs: 1000 },
    );
  });

  it('silence after the headers cuts the connection (no clean end), kills the script, and the log says so', async () => {
    await run(
      async (g) => {
        const outcome = await new Promise<{ status: number; ended: boolean; error: string | null; text: string }>((resolve) => {
          let text = '';
          let status = 0;
          const req = httpGet(`${g.url}/cgi-bin/silent-after-headers.sh`, { agent: false }, (res) => {
            status = res.statusCode ?? 0;
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status, ended: true, error: null, text }));
            res.on('error', (e) => resolve({ status, ended: false, error: e.message, text }));
          });
          req.on('error', (e) => resolve({ status, ended: false, error: e.message, text }));
        });
        expect(outcome.status).toBe(200);
        expect(outcome.ended).toBe(false);
        expect(outcome.error).not.toBeNull();
        expect(outcome.text).toBe('started\n');
        const [pid] = await stderrNumbers(g, 'pid');
        await eventually(() => !processExists(pid!));
        const line = await g.waitForLog((l) => /cut/i.test(l.msg) && /no output|timeout|silen/i.test(l.msg));
        expect(String(line.script)).toMatch(/silent-after-headers\.sh$/);
      },
      { timeoutMs: 1000 },
    );
  });

  it('a response that keeps flowing for longer than the timeout is not cut', async () => {
    await run(
      async (g) => {
        const r = await request(`${g.url}/cgi-bin/ticker.sh`);
        expect(r.status).toBe(200);
        expect(r.text).toBe(Array.from({ length: 10 }, (_, i) => `tick ${i + 1}\n`).join(''));
        expect(g.logs.filter((l) => l.code === 'TIMEOUT')).toEqual([]);
      },
      { timeoutMs: 1000 },
    );
  });
});

describe('client disconnect', () => {
  it("a client that goes away mid-response gets the script's whole process group killed", async () => {
    await run(async (g) => {
      await new Promise<void>((resolve, reject) => {
        const req = httpGet(`${g.url}/cgi-bin/disconnect.sh`, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => {
          if (!req.destroyed) reject(e);
        });
      });
      const [script, grandchild] = await stderrNumbers(g, 'pids');
      await eventually(() => !processExists(script!) && !isRunning(grandchild!));
    }); // default --timeout (30 s): what kills the group here is the disconnect
  });
});

describe('stderr', () => {
  it('each stderr line becomes one log line tagged with the request id and the script path', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/stderr-lines.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('ok\n');
      const access = await g.waitForLog((l) => l.msg === 'access' && l.path === '/cgi-bin/stderr-lines.sh');
      const expected = ['first stderr line', 'second stderr line', 'third stderr line'];
      await eventually(() => g.logs.filter((l) => typeof l.stderr === 'string').length >= expected.length);
      const lines = g.logs.filter((l) => typeof l.stderr === 'string');
      expect(lines.map((l) => l.stderr)).toEqual(expected);
      const script = realpathSync(path.join(cgiDir, 'stderr-lines.sh'));
      for (const l of lines) {
        expect(l.req).toBe(access.req);
        expect(l.script).toBe(script);
      }
    });
  });

  it("the error page shows neither the script's stderr nor a stack without debug", async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/fails-with-stderr.sh`);
      expect(r.status).toBe(502);
      expect(r.text).not.toContain('stderr-secret-7f3a');
      expect(r.text).not.toMatch(/\bat .+:\d+:\d+/);
      // It is in the log, though.
      await g.waitForLog((l) => l.stderr === 'stderr-secret-7f3a: something broke');
    });
  });

  it("with debug, the error page shows the script's stderr", async () => {
    await run(
      async (g) => {
        const r = await request(`${g.url}/cgi-bin/fails-with-stderr.sh`);
        expect(r.status).toBe(502);
        expect(r.text).toContain('stderr-secret-7f3a: something broke');
      },
      { debug: true },
    );
  });
});

describe('admission control', () => {
  it('with one slot and one queue place, a third request gets 503 with Retry-After: 1 at once, and the queued one runs after', async () => {
    const flag = newFlag();
    await run(
      async (g) => {
        const url = `${g.url}/cgi-bin/wait-flag.sh`;
        const started = () => g.logs.filter((l) => l.stderr === 'started').length;
        const first = request(url);
        first.catch(() => {});
        await eventually(() => started() === 1);
        // Of the next two, one takes the queue place and the other is refused; which one depends on arrival.
        const second = request(url).then((r) => ({ which: 'second', r }));
        const third = request(url).then((r) => ({ which: 'third', r }));
        second.catch(() => {});
        third.catch(() => {});
        const refused = await within(Promise.race([second, third]), 15_000, 'no 503 while the slot and the queue were full');
        expect(refused.r.status).toBe(503);
        expect(refused.r.headers['retry-after']).toBe('1');
        expect(existsSync(flag)).toBe(false); // refused without waiting for the running script
        expect(started()).toBe(1); // the queued request has not started
        writeFileSync(flag, '');
        const queued = await (refused.which === 'second' ? third : second);
        const r1: Reply = await first;
        expect(r1.status).toBe(200);
        expect(r1.text).toBe('released\n');
        expect(queued.r.status).toBe(200);
        expect(queued.r.text).toBe('released\n');
        // stderr reaches the log on its own channel, not necessarily before the response does.
        await eventually(() => started() === 2);
      },
      { maxCgi: 1, maxQueue: 1, setEnv: { FLAG: flag } },
    );
  });
  it('while a pool request is in flight, scripts run at most --max-cgi-beside-pool at once; when the pool is idle again, up to --max-cgi', async () => {
    const scriptFlag = newFlag();
    const appFlag = newFlag();
    const hold = { prefix: '/hold', module: path.join(fixtures, 'apps', 'fail-hold.mjs') };
    await run(
      async (g) => {
        const url = `${g.url}/cgi-bin/wait-flag.sh`;
        const started = () => g.logs.filter((l) => l.stderr === 'started').length;
        const held = request(`${g.url}/hold?id=busy&flag=${encodeURIComponent(appFlag)}`);
        await g.waitForLog((l) => l.stream === 'gateway.errors' && l.msg === 'holding busy');
        const first = request(url);
        await eventually(() => started() === 1);
        // --max-cgi is 3, but beside the busy pool only 1 runs: of the next two, one queues and one is refused.
        const second = request(url).then((r) => ({ which: 'second', r }));
        const third = request(url).then((r) => ({ which: 'third', r }));
        const refused = await within(Promise.race([second, third]), 15_000, 'no 503 while the capped slot and the queue were full');
        expect(refused.r.status).toBe(503);
        expect(started()).toBe(1);
        // The log says why a script slot was short while --max-cgi had room.
        await g.waitForLog((l) => l.code === 'OVERLOADED' && /at most 1 for now: pool requests in flight, --max-cgi-beside-pool/.test(String(l.msg)));
        writeFileSync(appFlag, ''); // the pool goes idle: the cap lifts and the queued script starts beside the first
        expect((await held).text).toBe('released busy\n');
        await eventually(() => started() === 2);
        expect(existsSync(scriptFlag)).toBe(false);
        writeFileSync(scriptFlag, '');
        const queued = await (refused.which === 'second' ? third : second);
        expect((await first).status).toBe(200);
        expect(queued.r.status).toBe(200);
        expect(queued.r.text).toBe('released\n');
      },
      { mode: 'pool', apps: [hold], workers: 1, maxCgi: 3, maxCgiBesidePool: 1, maxQueue: 1, setEnv: { FLAG: scriptFlag } },
    );
  });
});

describe('reaping', () => {
  it('a batch of answering, failing and timed-out scripts leaves no zombie', async () => {
    await run(
      async (g) => {
        const scripts = [
          ...Array<string>(12).fill('stderr-lines.sh'),
          ...Array<string>(6).fill('fails-with-stderr.sh'),
          ...Array<string>(2).fill('hang-before-headers.sh'),
        ];
        const replies = await Promise.all(scripts.map((s) => request(`${g.url}/cgi-bin/${s}`)));
        expect(replies.map((r) => r.status)).toEqual(scripts.map((s) => (s === 'stderr-lines.sh' ? 200 : s === 'fails-with-stderr.sh' ? 502 : 504)));
        await eventually(() => zombieChildren().length === 0);
      },
      { timeoutMs: 1500 },
    );
  });
});

// ——— the real command ———

const pkgVersion = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** True when a TCP connection to the port is refused (nothing listening). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('the gatehouse command', () => {
  const started: Command[] = [];
  afterAll(() => {
    for (const c of started) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  });

  it('on SIGTERM it refuses new connections at once, lets the in-flight request finish with 200, and exits 0', async () => {
    const flag = newFlag();
    const cmd = startCommand(['--port', '0', '--cgi-dir', cgiDir, '--mode', 'cgi', '--graceful-timeout', '5', '--set-env', `FLAG=${flag}`]);
    started.push(cmd);
    const listening = await cmd.waitForLog((l) => l.msg === 'listening');
    const url = String(listening.url).replace(/\/$/, '');
    const port = Number(new URL(url).port);
    const inFlight = request(`${url}/cgi-bin/wait-flag.sh`);
    inFlight.catch(() => {});
    await cmd.waitForLog((l) => l.stderr === 'started');
    cmd.child.kill('SIGTERM');
    await eventually(() => refused(port));
    expect(cmd.child.exitCode).toBeNull(); // still draining the in-flight request
    writeFileSync(flag, '');
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.text).toBe('released\n');
    expect(await within(cmd.exited, 15_000, 'the command did not exit after draining')).toEqual({ code: 0, signal: null });
  });

  it('on SIGTERM it kills a script that outlives --graceful-timeout and still exits 0', async () => {
    const cmd = startCommand(['--port', '0', '--cgi-dir', cgiDir, '--mode', 'cgi', '--graceful-timeout', '1']);
    started.push(cmd);
    const listening = await cmd.waitForLog((l) => l.msg === 'listening');
    const url = String(listening.url).replace(/\/$/, '');
    const stuck = request(`${url}/cgi-bin/never-finishes.sh`);
    stuck.catch(() => {});
    const line = await cmd.waitForLog((l) => typeof l.stderr === 'string' && /^pid=\d+$/.test(l.stderr));
    const pid = Number(String(line.stderr).slice(4));
    expect(processExists(pid)).toBe(true);
    cmd.child.kill('SIGTERM');
    expect(await within(cmd.exited, 15_000, 'the command did not exit after its graceful timeout')).toEqual({ code: 0, signal: null });
    await eventually(() => !isRunning(pid));
  });

  it.each([[['--port', 'abc']], [['--port', '0', '--nope']], [['--port', '0', '--mode', 'x']]])(
    'a bad flag (%j) exits non-zero with one line on stderr, before listening',
    (args) => {
      requireBuild();
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 15_000 });
      expect(r.signal).toBeNull(); // it exited by itself rather than serving until killed
      expect(r.status).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).not.toBe('');
      expect(r.stdout).not.toContain('listening');
    },
  );

  it('--help lists every flag the flag table defines', () => {
    requireBuild();
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(r.stdout).toMatch(new RegExp(`--${f.name}(?![\\w-])`));
  });

  it("--version prints package.json's version", () => {
    requireBuild();
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkgVersion);
  });
});
