// The spawn helper (issue 6): CGI children started by gatehouse-spawner behave exactly as ones the front forks,
// and the helper's own death costs one request (502), never a leftover process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { descendants, eventually, isRunning, stderrNumbers, fixtures, parseEnvDump, reachableCopy, request, startCommand, withGateway, zombieChildren, type RunningGateway } from './_gateway.js';
import { createSpawner, spawnerBinary, specFrame } from '../src/front/cgi/spawn-helper.js';
import { createLogger } from '../src/front/logger.js';
import type { Options, SpawnerKind } from '../src/front/options.js';

let copy: { dir: string; remove: () => void };
let cgiDir: string;
beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'cgi-spawner'));
  cgiDir = path.join(copy.dir, 'cgi-bin');
});
afterAll(() => copy.remove());

const isRoot = process.getuid?.() === 0;
const run = <T>(spawner: SpawnerKind, fn: (g: RunningGateway) => Promise<T>, extra: Partial<Options> = {}) =>
  withGateway({ cgiDir, spawner, ...extra }, fn);

/** Live gatehouse-spawner processes below this one. */
const helpers = () => descendants().filter((p) => p.state !== 'Z' && cmdline(p.pid).includes('gatehouse-spawner')).map((p) => p.pid);

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

it('the helper is built by npm run build', () => {
  expect(readFileSync(spawnerBinary).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
});

describe.each(['helper', 'direct'] as const)('--spawner %s', (spawner) => {
  it(`the script's parent is ${spawner === 'helper' ? 'gatehouse-spawner' : 'the front itself'}`, async () => {
    await run(spawner, async (g) => {
      const r = await request(`${g.url}/cgi-bin/env.sh`);
      expect(r.status).toBe(200);
      const ppid = Number(/^ppid=(\d+)$/m.exec(r.text)![1]);
      if (spawner === 'helper') expect(helpers()).toContain(ppid);
      else expect(ppid).toBe(process.pid);
    });
  });

  it('a request body reaches the script on stdin, and a GET reads an empty stdin', async () => {
    await run(spawner, async (g) => {
      const body = 'x'.repeat(300_000) + 'end';
      const post = await request(`${g.url}/cgi-bin/env.sh`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      expect(post.status).toBe(200);
      expect(post.text.endsWith(`body=${body}`)).toBe(true);
      const get = await request(`${g.url}/cgi-bin/env.sh`);
      expect(get.text.endsWith('body=')).toBe(true);
    });
  });

  it.runIf(isRoot)('as root, the script runs as --cgi-user (nobody by default, daemon when asked)', async () => {
    const ids = (text: string) => /^ids=(.*)$/m.exec(text)![1];
    await run(spawner, async (g) => expect(ids((await request(`${g.url}/cgi-bin/env.sh`)).text)).toBe('65534 65534'));
    const daemon = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('daemon:'))!.split(':');
    await run(spawner, async (g) => expect(ids((await request(`${g.url}/cgi-bin/env.sh`)).text)).toBe(`${daemon[2]} ${daemon[3]}`), { cgiUser: 'daemon' });
  });

  it('a timeout answers 504 and kills the whole process group, grandchild too', async () => {
    await run(
      spawner,
      async (g) => {
        const r = await request(`${g.url}/cgi-bin/hang.sh`);
        expect(r.status).toBe(504);
        const [script, grandchild] = await stderrNumbers(g, 'pids');
        await eventually(() => !isRunning(script!) && !isRunning(grandchild!));
        await eventually(() => zombieChildren().length === 0);
      },
      { timeoutMs: 1000 },
    );
  });
});

it('a script gets exactly the same environment through the helper as when the front forks it, and no server secret', async () => {
  process.env.GATEHOUSE_SPAWNER_SECRET = 'do-not-leak';
  try {
    const dump = async (spawner: SpawnerKind) =>
      run(spawner, async (g) => {
        const r = await request(`${g.url}/cgi-bin/env.sh?a=1&b=2`, { headers: { 'x-probe': 'yes', cookie: 'c=1' } });
        const env = parseEnvDump(r.text);
        // Only the request's own facts differ between two requests: the client's port and the server's.
        for (const k of ['REMOTE_PORT', 'SERVER_PORT', 'HTTP_HOST']) delete env[k];
        return env;
      });
    const viaHelper = await dump('helper');
    expect(viaHelper).toEqual(await dump('direct'));
    expect(viaHelper.HTTP_X_PROBE).toBe('yes');
    expect(viaHelper.QUERY_STRING).toBe('a=1&b=2');
    expect(Object.values(viaHelper)).not.toContain('do-not-leak');
  } finally {
    delete process.env.GATEHOUSE_SPAWNER_SECRET;
  }
});

describe('when the helper dies', () => {
  it('SIGKILL mid-request: that request gets 502 SPAWNER_DIED, its script group is killed, a new helper serves the next request, nothing is left behind', async () => {
    await run('helper', async (g) => {
      const before = helpers();
      expect(before).toHaveLength(1);
      const hanging = request(`${g.url}/cgi-bin/hang.sh`);
      const [script, grandchild] = await stderrNumbers(g, 'pids');
      process.kill(before[0]!, 'SIGKILL');
      const r = await hanging;
      expect(r.status).toBe(502);
      expect(r.text).not.toContain('SIGKILL');
      await g.waitForLog((l) => l.code === 'SPAWNER_DIED' && l.status === 502 && /spawn helper died/.test(l.msg));
      await g.waitForLog((l) => l.msg === 'spawn helper died; restarting it');
      await eventually(() => !isRunning(script!) && !isRunning(grandchild!));
      await eventually(() => helpers().length === 1 && helpers()[0] !== before[0], 10_000);
      const next = await request(`${g.url}/cgi-bin/hello.sh`);
      expect(next.status).toBe(200);
      expect(next.text).toBe('hello\n');
      await eventually(() => zombieChildren().length === 0);
    });
  });

  it('a gateway shutdown stops the helper', async () => {
    let helper = 0;
    await run('helper', async (g) => {
      expect((await request(`${g.url}/cgi-bin/hello.sh`)).status).toBe(200);
      helper = helpers()[0]!;
      expect(isRunning(helper)).toBe(true);
    });
    await eventually(() => !isRunning(helper));
  });

  it('when the front is SIGKILLed, the helper sees its lifeline close, kills the running script group and exits', async () => {
    const cmd = startCommand(['--port', '0', '--cgi-dir', cgiDir, '--mode', 'cgi', '--timeout', '60']);
    try {
      const listening = await cmd.waitForLog((l) => l.msg === 'listening');
      const url = String(listening.url).replace(/\/$/, '');
      const hanging = request(`${url}/cgi-bin/hang.sh`).catch(() => null);
      const line = await cmd.waitForLog((l) => typeof l.stderr === 'string' && /^pids=/.test(l.stderr));
      const [script, grandchild] = String(line.stderr).slice(5).split(' ').map(Number);
      const helper = descendants().find((p) => cmdline(p.pid).includes('gatehouse-spawner'))!.pid;
      const socketPath = cmdline(helper).split('\0')[1]!;
      expect(existsSync(socketPath)).toBe(true);
      cmd.child.kill('SIGKILL');
      await cmd.exited;
      await hanging;
      await eventually(() => !isRunning(helper) && !isRunning(script!) && !isRunning(grandchild!));
      // The front could not clean up after itself: the helper removed its socket and private directory.
      expect(existsSync(path.dirname(socketPath))).toBe(false);
    } finally {
      cmd.child.kill('SIGKILL');
    }
  });
});

it('a child whose start the front never heard of dies with its helper: the kernel kills it (parent-death signal)', async () => {
  // The helper is driven directly here, as the front would, and killed before anyone reads its 'S' frame:
  // the front could not know this child's pid, so only the kernel can clean it up.
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-spawner-'));
  const helper = spawn(spawnerBinary, [path.join(dir, 'sock')], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    let out = Buffer.alloc(0);
    helper.stdout.on('data', (c: Buffer) => { out = Buffer.concat([out, c]); });
    await eventually(() => out.length >= 9 && out[4] === 'R'.charCodeAt(0));
    const conn = connect(path.join(dir, 'sock'));
    conn.write(specFrame(1, { file: '/bin/sleep', args: ['30'], cwd: '/', env: {}, runAs: null, killGraceMs: 0, stdin: false }));
    const sleeping = () => descendants().find((p) => p.state !== 'Z' && cmdline(p.pid) === '/bin/sleep\u000030\u0000');
    await eventually(() => sleeping() !== undefined);
    const sleeper = sleeping()!.pid;
    helper.kill('SIGKILL');
    await eventually(() => !isRunning(sleeper));
    conn.destroy();
  } finally {
    helper.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

it('without a built helper, --spawner helper falls back to forking from the front and says so in the log', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString())); cb(); } });
  const spawner = createSpawner('helper', createLogger('info', sink), '/nonexistent/gatehouse-spawner');
  expect(spawner.name).toBe('direct');
  await eventually(() => lines.some((l) => /spawn helper not built/.test(String(l.msg))));
});
