// The app interface (PEP 3333 in TypeScript) seen from a real client, in both modes: streaming in steps,
// headers held back until the first non-empty chunk, write(), startResponse rules, gateway.input, large bodies
// both ways, gateway.errors, fetch-style apps (a real Hono app), and the start-up import check of the command.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, holdGateway, request, root } from './_gateway.js';

type Mode = 'pool' | 'cgi';
const modes: Mode[] = ['pool', 'cgi'];
const appsDir = path.join(fixtures, 'apps');
const app = (prefix: string, file: string) => ({ prefix, module: path.join(appsDir, file) });

type Held = Awaited<ReturnType<typeof holdGateway>>;

const MiB = 1024 * 1024;
const gateways = {} as Record<Mode, Held>;

beforeAll(async () => {
  await Promise.all(
    modes.map(async (mode) => {
      gateways[mode] = await holdGateway({
        mode,
        workers: 2,
        maxBodyBytes: 128 * MiB,
        apps: [
          app('/two-step', 'two-step.mjs'),
          app('/late-length', 'late-length.mjs'),
          app('/late-headers', 'late-headers.mjs'),
          app('/imperative', 'imperative.mjs'),
          app('/start-twice', 'start-twice.mjs'),
          app('/echo', 'echo-input.mjs'),
          app('/count', 'count-input.mjs'),
          app('/big', 'big-response.mjs'),
          app('/shared', 'shared-bytes.mjs'),
          app('/bytes', 'all-bytes.mjs'),
          app('/errlog', 'errors-log.mjs'),
          app('/hono', 'hono-app.mjs'),
        ],
      });
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((h) => h.stop()));
});

/** Flag directories: world-writable, since in CGI mode the app runs as nobody and raises flags too. */
const flagDirs: string[] = [];
function flagDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-flags-'));
  chmodSync(dir, 0o777);
  flagDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of flagDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A GET whose response is observed as it arrives. */
function openStream(url: string) {
  const state = {
    response: null as IncomingMessage | null,
    text: '',
    ended: null as unknown as Promise<string>,
  };
  state.ended = new Promise<string>((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      state.response = res;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (state.text += c));
      res.on('end', () => resolve(state.text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
    req.end();
  });
  return state;
}

/** Bytes from a generator of `size`-byte chunks, chunk i filled with i % 256 (as big-response.mjs makes them). */
function* patterned(total: number, size = 64 * 1024): Generator<Buffer> {
  for (let sent = 0, i = 0; sent < total; sent += size, i++) yield Buffer.alloc(Math.min(size, total - sent), i % 256);
}
function sha256Of(chunks: Iterable<Buffer>): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

describe.each(modes)('the app interface in %s mode', (mode) => {
  const g = () => gateways[mode].g;

  describe('streaming and headers', () => {
    it('shows the client an app that yields, waits and yields again in two steps', async () => {
      const dir = flagDir();
      const stream = openStream(`${g().url}/two-step?dir=${encodeURIComponent(dir)}`);
      await eventually(() => stream.text.includes('part one\n'));
      expect(stream.response?.statusCode).toBe(200);
      expect(stream.text).toBe('part one\n'); // the second part cannot exist yet: the app waits for our flag
      writeFileSync(path.join(dir, 'go'), '');
      expect(await stream.ended).toBe('part one\npart two\n');
    });

    it("frames the response with the app's own Content-Length even when the rest of the body comes late", async () => {
      const dir = flagDir();
      const stream = openStream(`${g().url}/late-length?dir=${encodeURIComponent(dir)}`);
      await eventually(() => stream.text === 'first ');
      expect(stream.response?.headers['content-length']).toBe('11');
      expect(stream.response?.headers['transfer-encoding']).toBeUndefined();
      writeFileSync(path.join(dir, 'go'), '');
      expect(await stream.ended).toBe('first last\n');
    });

    it('sends no headers while the app has yielded only an empty chunk, and sends them with the first non-empty one', async () => {
      const dir = flagDir();
      const stream = openStream(`${g().url}/late-headers?dir=${encodeURIComponent(dir)}`);
      await eventually(() => existsSync(path.join(dir, 'waiting'))); // the app yielded '' and now waits
      // A whole request through the same gateway (in CGI mode a process start) after the app is known to wait:
      // headers sent at the empty chunk would have arrived by now (the control case below shows they do).
      await request(`${g().url}/imperative?how=async`);
      expect(stream.response).toBeNull();
      writeFileSync(path.join(dir, 'go'), '');
      expect(await stream.ended).toBe('x');
      expect(stream.response?.statusCode).toBe(200);
    });

    it('(control) sends the headers and a non-empty first chunk while the app still waits', async () => {
      const dir = flagDir();
      const stream = openStream(`${g().url}/late-headers?first=a&dir=${encodeURIComponent(dir)}`);
      await eventually(() => stream.text === 'a');
      expect(existsSync(path.join(dir, 'go'))).toBe(false);
      expect(stream.response?.headers['content-type']).toBe('text/plain; charset=utf-8');
      writeFileSync(path.join(dir, 'go'), '');
      expect(await stream.ended).toBe('ax');
    });

    it('sends what an imperative app passes to write(), before and without a returned body', async () => {
      const sync = await request(`${g().url}/imperative?how=sync`);
      expect(sync.status).toBe(200);
      expect(sync.text).toBe('written then returned\n');
      const awaited = await request(`${g().url}/imperative?how=async`);
      expect(awaited.status).toBe(200);
      expect(awaited.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(awaited.text).toBe('written, awaited, and done\n');
    });

    it('answers 500 when startResponse is called twice without excInfo, and logs which rule was broken', async () => {
      const r = await request(`${g().url}/start-twice?case=plain`);
      expect(r.status).toBe(500);
      expect(r.text).not.toContain('never sent');
      expect(r.text).not.toContain('startResponse');
      await g().waitForLog((l) => JSON.stringify(l).includes('startResponse called twice without excInfo'));
    });

    it('lets a second startResponse with excInfo, before any body, replace the status and headers', async () => {
      const r = await request(`${g().url}/start-twice?case=exc`);
      expect(r.status).toBe(500);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe("the app's own error page\n");
    });

    // An app owns the buffers it yields: a module-level constant or a chunk it yields again must not be taken
    // from it (e.g. by transferring its ArrayBuffer to another thread, which empties the app's copy).
    it('sends a module-level constant Uint8Array body to every request, not only the first', async () => {
      for (let i = 0; i < 4; i++) {
        const r = await request(`${g().url}/shared?how=constant`);
        expect([i, r.status, r.text]).toEqual([i, 200, 'a module-level constant, served to every request\n']);
      }
    });

    // A small known body crosses the pool's lane as a latin1 string, a larger one as bytes: every byte value must
    // arrive as sent on either side of that line (16 KiB) and of the one where the head stops carrying the body.
    it('sends every byte value intact, with its Content-Length, whatever the size and however the app splits it', async () => {
      for (const size of [1, 256, 16 * 1024, 16 * 1024 + 1, 64 * 1024 + 1]) {
        for (const parts of [1, 2]) {
          const r = await request(`${g().url}/bytes?size=${size}&parts=${parts}`);
          const expected = Buffer.from(Uint8Array.from({ length: size }, (_, i) => i % 256));
          expect([size, parts, r.status, r.headers['content-length'], r.body.equals(expected)]).toEqual([size, parts, 200, String(size), true]);
        }
      }
    });

    it('sends a Uint8Array chunk the app yields twice, twice', async () => {
      const twice = await request(`${g().url}/shared?how=twice`);
      expect(twice.status).toBe(200);
      expect(twice.text).toBe('the same chunk\nthe same chunk\n');
    });
  });

  describe('gateway.input', () => {
    const text = 'line one\nline two\n\nlast line without newline';
    const post = (query: string, body: NonNullable<Parameters<typeof request>[1]>['body'], headers: Record<string, string> = {}) =>
      request(`${g().url}/echo?${query}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', ...headers }, body }).then((r) => {
        expect(r.status, r.text).toBe(200);
        const out = JSON.parse(r.text) as { pieces: string[]; afterEof: Record<string, number>; contentLength: string | null };
        return { ...out, pieces: out.pieces.map((p) => Buffer.from(p, 'base64')) };
      });
    const atEof = { read: 0, readSized: 0, readline: 0 };

    it('read(size) hands out at most size bytes at a time, the whole body in order, then EOF', async () => {
      const out = await post('how=read&size=5', text);
      expect(out.pieces.map((p) => p.length).filter((n) => n < 1 || n > 5)).toEqual([]);
      expect(Buffer.concat(out.pieces).toString()).toBe(text);
      expect(out.afterEof).toEqual(atEof);
      expect(out.contentLength).toBe(String(Buffer.byteLength(text)));
    });

    it('readline() hands out one line at a time, the last without its newline, then EOF', async () => {
      const out = await post('how=readline', text);
      expect(out.pieces.map((p) => p.toString())).toEqual(['line one\n', 'line two\n', '\n', 'last line without newline']);
      expect(out.afterEof).toEqual(atEof);
    });

    it('async iteration yields the whole body, binary bytes intact, then EOF', async () => {
      const binary = Buffer.from(Array.from({ length: 3 * 256 }, (_, i) => i % 256));
      const out = await post('how=iterate', binary);
      expect(Buffer.concat(out.pieces).equals(binary)).toBe(true);
      expect(out.afterEof).toEqual(atEof);
    });

    it('read() with no size returns the whole body at once; a request without a body is at EOF at once', async () => {
      const out = await post('how=all', text);
      expect(out.pieces.map((p) => p.toString())).toEqual([text]);
      expect(out.afterEof).toEqual(atEof);
      const empty = await request(`${g().url}/echo?how=iterate`);
      expect(JSON.parse(empty.text)).toMatchObject({ pieces: [], afterEof: atEof });
    });

    it('receives a chunked upload whole', async () => {
      const parts = ['first part, ', 'second part, ', 'x'.repeat(100_000), ' and the end'];
      const out = await post(
        'how=iterate',
        (async function* () {
          for (const p of parts) yield Buffer.from(p);
        })(),
      );
      expect(Buffer.concat(out.pieces).toString()).toBe(parts.join(''));
      expect(out.afterEof).toEqual(atEof);
    });

    const uploadBytes = mode === 'pool' ? 100 * MiB : 5 * MiB;
    it(`streams a ${uploadBytes / MiB} MiB upload to an app that counts it with async iteration`, async () => {
      const r = await request(`${g().url}/count`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(uploadBytes) },
        body: (async function* () {
          yield* patterned(uploadBytes);
        })(),
        timeoutMs: 60_000,
      });
      expect(r.status, r.text).toBe(200);
      const [bytes, hash, chunks] = r.text.trim().split(' ');
      expect(Number(bytes)).toBe(uploadBytes);
      expect(hash).toBe(sha256Of(patterned(uploadBytes)));
      // It arrived as a stream of many chunks, not one buffered blob.
      expect(Number(chunks)).toBeGreaterThan(1);
    }, 60_000);
  });

  if (mode === 'pool') {
    it('streams a 200 MiB response from a generator of 64 KiB chunks intact', async () => {
      const total = 200 * MiB;
      const got = await new Promise<{ bytes: number; hash: string; headers: IncomingMessage['headers'] }>((resolve, reject) => {
        const req = httpRequest(`${g().url}/big?bytes=${total}`, { agent: false }, (res) => {
          const h = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => { bytes += c.length; h.update(c); });
          res.on('end', () => resolve({ bytes, hash: h.digest('hex'), headers: res.headers }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(got.bytes).toBe(total);
      expect(got.hash).toBe(sha256Of(patterned(total)));
      expect(got.headers['transfer-encoding']).toBe('chunked');
    }, 60_000);
  }

  describe('gateway.errors', () => {
    it('lands what the app writes in the log, tagged with the app', async () => {
      const say = `note from the app ${mode} ${Date.now()}`;
      const r = await request(`${g().url}/errlog?say=${encodeURIComponent(say)}`);
      expect(r.text).toBe('logged\n');
      if (mode === 'pool') {
        const line = await g().waitForLog((l) => l.msg === say);
        expect(line).toMatchObject({ stream: 'gateway.errors', app: '/errlog' });
      } else {
        // In CGI mode gateway.errors is the child's stderr: one log line per stderr line, in the request's log.
        const line = await g().waitForLog((l) => l.stderr === say);
        expect(line.msg).toBe('script stderr');
        const access = await g().waitForLog((l) => l.msg === 'access' && l.req === line.req);
        expect(access.via).toBe('cgi:/errlog');
      }
    });
  });

  describe('a fetch-style app (a real Hono app at /hono)', () => {
    it('answers GET with text', async () => {
      const r = await request(`${g().url}/hono/text`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toBe('hello from hono');
    });

    it('answers GET with JSON', async () => {
      const r = await request(`${g().url}/hono/json`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(r.text)).toEqual({ framework: 'hono', answer: 42 });
    });

    it('echoes a POST body, with the status and headers the app chose', async () => {
      const r = await request(`${g().url}/hono/echo`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'ping' });
      expect(r.status).toBe(201);
      expect(r.headers['x-echo-type']).toBe('text/plain');
      expect(r.text).toBe('echo: ping');
      const big = 'y'.repeat(MiB);
      const large = await request(`${g().url}/hono/echo`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: big });
      expect(large.text).toBe(`echo: ${big}`);
    });

    it("answers 404 for a path the app doesn't route", async () => {
      const r = await request(`${g().url}/hono/nowhere`);
      expect(r.status).toBe(404);
    });

    it('sends both cookies of a response that sets two', async () => {
      const r = await request(`${g().url}/hono/cookies`);
      expect(r.status).toBe(200);
      expect(r.headers['set-cookie']).toEqual(['first=one; Path=/', 'second=two; Path=/hono; HttpOnly']);
    });

    it('calls fetch(request, env) with the URL the client asked for and env.SCRIPT_NAME = "/hono"', async () => {
      const r = await request(`${g().url}/hono/env?x=1`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toEqual({ scriptName: '/hono', pathInfo: '/env', url: `${g().url}/hono/env?x=1` });
    });
  });
});

describe('the start-up import check of the gatehouse command', () => {
  /** Runs the real command; resolves when it exits (bounded: a server that starts listening is killed). */
  function runCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(root, 'bin', 'gatehouse.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const cases = modes.flatMap((mode) => [
    { mode, module: 'broken-import.mjs', says: 'broken-import fixture fails on purpose' },
    { mode, module: 'no-export.mjs', says: 'no app export' },
  ]);
  it.each(cases)('--mode $mode with $module: exits non-zero before listening, with one stderr line naming the module', async ({ mode, module, says }) => {
    const relative = path.join('test', 'fixtures', 'apps', module);
    const out = await runCommand(['--port', '0', '--mode', mode, '--app', `/x=${relative}`]);
    expect(out.code).not.toBe(0);
    expect(out.code).not.toBeNull(); // exited by itself, not killed by the bound above
    expect(out.stdout).not.toContain('listening');
    const lines = out.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(root, relative));
    expect(lines[0]).toContain(says);
  });

  it.each(modes)('--mode %s on a port already taken: exits 2 at once, its pool threads and spawn helper gone with it', async (mode) => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const out = await runCommand(['--port', String(port), '--mode', mode, '--app', `/hello=${path.join('scripts', 'bench', 'apps', 'hello.mjs')}`]);
      expect(out.code).toBe(2); // not null: it did not hang on its own threads until the bound above killed it
      expect(out.stderr.trim()).toBe('gatehouse: cannot listen: EADDRINUSE');
    } finally {
      taken.close();
    }
  });
});
