// Request bodies on their way to a script: Content-Length and chunked, buffered and streamed, the size
// limit, temp files, and the two pipe hazards (a script that writes first, one that never reads).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, processExists, reachableCopy, request, withGateway, type LogLine, type RunningGateway } from './_gateway.js';

const MiB = 1024 * 1024;

// A private temp dir for this file, so "no temp file is left" cannot be confused by other test files.
// The gateway runs in this process and spools into os.tmpdir(), which follows TMPDIR.
const savedTmpdir = process.env.TMPDIR;
let privateTmp: string;
let cgi: { dir: string; remove: () => void };

beforeAll(() => {
  privateTmp = mkdtempSync(path.join(tmpdir(), 'gatehouse-cgi-body-tmp-'));
  chmodSync(privateTmp, 0o755);
  process.env.TMPDIR = privateTmp;
  cgi = reachableCopy(path.join(fixtures, 'cgi-body'));
});
afterAll(() => {
  cgi?.remove();
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(privateTmp, { recursive: true, force: true });
});

const spoolDirs = () => readdirSync(privateTmp).filter((n) => n.startsWith('gatehouse-body-'));

/** A recognisable body: `size` bytes cycling through the alphabet, so truncation or reordering shows. */
function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

/** Yields `body` in `chunk`-byte pieces: with no Content-Length, node:http sends them chunked. */
async function* chunks(body: Buffer, chunk = 64 * 1024, between?: (sent: number) => Promise<void>): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += chunk) {
    yield body.subarray(at, at + chunk);
    if (between) await between(Math.min(at + chunk, body.length));
  }
}

const ranLine = (name: string) => (l: LogLine) => l.msg === 'script stderr' && l.stderr === `ran:${name}`;

/** The pid a fixture printed to stderr as `pid=N`, read from the captured log. */
async function scriptPid(g: RunningGateway): Promise<number> {
  const line = await g.waitForLog((l) => l.msg === 'script stderr' && /^pid=\d+$/.test(String(l.stderr)));
  return Number(String(line.stderr).slice(4));
}

describe('bodies with Content-Length', () => {
  it('a body with Content-Length reaches stdin whole and CONTENT_LENGTH is its length', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const body = pattern(100_000);
      const r = await request(`${g.url}/cgi-bin/echo.sh`, { method: 'POST', body });
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe('100000');
      expect(r.headers['x-transfer-encoding']).toBe('unset');
      expect(r.body.equals(body)).toBe(true);
    });
  });

  it('a POST with Content-Length: 0 has no CONTENT_LENGTH', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/echo.sh`, { method: 'POST', headers: { 'Content-Length': '0' }, body: '' });
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe('unset');
      expect(r.body.length).toBe(0);
    });
  });

  it('a GET without a body has no CONTENT_LENGTH and an empty stdin', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/echo.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe('unset');
      expect(r.body.length).toBe(0);
    });
  });

  it('a Content-Length over maxBodyBytes is 413 and the script never runs', async () => {
    await withGateway({ cgiDir: cgi.dir, maxBodyBytes: 1000 }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/marker.sh`, { method: 'POST', body: pattern(1001) });
      expect(r.status).toBe(413);
      expect(r.text).not.toContain('marker ran');
      // The control: a body within the limit runs the same script, and its `ran:` line reaches the log.
      const ok = await request(`${g.url}/cgi-bin/marker.sh`, { method: 'POST', body: pattern(1000) });
      expect(ok.status).toBe(200);
      await g.waitForLog(ranLine('marker.sh'));
      expect(g.logs.filter(ranLine('marker.sh'))).toHaveLength(1);
      const refused = g.logs.find((l) => l.msg === 'access' && l.status === 413);
      expect(refused).toBeDefined();
      expect(g.logs.filter((l) => l.req === refused!.req && 'childPid' in l)).toEqual([]);
    });
  });
});

describe('chunked bodies, buffered (the default)', () => {
  it('a chunked body arrives whole with CONTENT_LENGTH set and no HTTP_TRANSFER_ENCODING', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const body = pattern(200_000);
      const r = await request(`${g.url}/cgi-bin/echo.sh`, { method: 'POST', body: chunks(body, 10_000) });
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe('200000');
      expect(r.headers['x-transfer-encoding']).toBe('unset');
      expect(r.body.equals(body)).toBe(true);
    });
  });

  it('a chunked body over 1 MiB is spooled to a temp file, arrives whole, and the temp file is removed', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const body = pattern(3 * MiB + 123);
      let sawSpool = false;
      const r = await request(`${g.url}/cgi-bin/echo.sh`, {
        method: 'POST',
        body: chunks(body, 256 * 1024, async (sent) => {
          // Once well past the 1 MiB threshold, the spool file must exist before the rest is sent.
          if (sent >= 2 * MiB && !sawSpool) {
            await eventually(() => spoolDirs().length > 0);
            sawSpool = true;
          }
        }),
      });
      expect(sawSpool).toBe(true);
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe(String(body.length));
      expect(r.headers['x-transfer-encoding']).toBe('unset');
      expect(r.body.length).toBe(body.length);
      expect(r.body.equals(body)).toBe(true);
      await eventually(() => spoolDirs().length === 0);
    });
  });

  it('a chunked body crossing maxBodyBytes is 413, the script never runs, and no temp file is left', async () => {
    await withGateway({ cgiDir: cgi.dir, maxBodyBytes: 2 * MiB }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/marker.sh`, { method: 'POST', body: chunks(pattern(3 * MiB), 256 * 1024) });
      expect(r.status).toBe(413);
      expect(r.text).not.toContain('marker ran');
      await eventually(() => spoolDirs().length === 0);
      // The control: a chunked body of exactly maxBodyBytes is accepted and runs the same script.
      const ok = await request(`${g.url}/cgi-bin/marker.sh`, { method: 'POST', body: chunks(pattern(2 * MiB), 256 * 1024) });
      expect(ok.status).toBe(200);
      await g.waitForLog(ranLine('marker.sh'));
      expect(g.logs.filter(ranLine('marker.sh'))).toHaveLength(1);
    });
  });
  it('a chunked upload abandoned after it was spooled leaves no temp file and runs nothing', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      async function* body(): AsyncGenerator<Buffer> {
        yield* chunks(pattern(2 * MiB), 256 * 1024);
        await eventually(() => spoolDirs().length > 0);
        throw new Error('client gives up');
      }
      await expect(request(`${g.url}/cgi-bin/marker.sh`, { method: 'POST', body: body() })).rejects.toThrow();
      await eventually(() => spoolDirs().length === 0);
      const ok = await request(`${g.url}/cgi-bin/marker.sh`);
      expect(ok.status).toBe(200);
      await g.waitForLog(ranLine('marker.sh'));
      expect(g.logs.filter(ranLine('marker.sh'))).toHaveLength(1);
    });
  });
});

describe('chunked bodies, streamed', () => {
  it('in stream mode a chunked body reaches stdin whole to EOF, without CONTENT_LENGTH and with HTTP_TRANSFER_ENCODING=chunked', async () => {
    await withGateway({ cgiDir: cgi.dir, chunkedBody: 'stream' }, async (g) => {
      const body = pattern(MiB + 77);
      const r = await request(`${g.url}/cgi-bin/echo.sh`, { method: 'POST', body: chunks(body, 100_000) });
      expect(r.status).toBe(200);
      expect(r.headers['x-content-length']).toBe('unset');
      expect(r.headers['x-transfer-encoding']).toBe('chunked');
      expect(r.body.equals(body)).toBe(true);
      expect(spoolDirs()).toEqual([]);
    });
  });

  it('in stream mode a body with Content-Length is still described by CONTENT_LENGTH', async () => {
    await withGateway({ cgiDir: cgi.dir, chunkedBody: 'stream' }, async (g) => {
      const body = pattern(5000);
      const r = await request(`${g.url}/cgi-bin/echo.sh`, { method: 'POST', body });
      expect(r.headers['x-content-length']).toBe('5000');
      expect(r.headers['x-transfer-encoding']).toBe('unset');
      expect(r.body.equals(body)).toBe(true);
    });
  });

  it('in stream mode a chunked body crossing maxBodyBytes is 413 and the running script is killed', async () => {
    await withGateway({ cgiDir: cgi.dir, chunkedBody: 'stream', maxBodyBytes: 64 * 1024 }, async (g) => {
      let pid = 0;
      async function* body(): AsyncGenerator<Buffer> {
        yield pattern(1000);
        // The script is running and reading: now cross the limit.
        pid = await scriptPid(g);
        expect(processExists(pid)).toBe(true);
        yield pattern(64 * 1024);
        yield pattern(64 * 1024);
      }
      const r = await request(`${g.url}/cgi-bin/pid-then-read.sh`, { method: 'POST', body: body() });
      expect(pid).toBeGreaterThan(0);
      expect(r.status).toBe(413);
      expect(r.text).not.toContain('read it all');
      await eventually(() => !processExists(pid));
    });
  });

  it('in stream mode a body cut at maxBodyBytes is never passed off as complete, even to a script that ignores SIGTERM', async () => {
    // The script reads to EOF and then answers; if the front closed its stdin at the limit, it would see a
    // truncated body as a whole one and answer 200. The request must still end in 413, and the script die.
    await withGateway({ cgiDir: cgi.dir, chunkedBody: 'stream', maxBodyBytes: 64 * 1024 }, async (g) => {
      let pid = 0;
      async function* body(): AsyncGenerator<Buffer> {
        yield pattern(1000);
        pid = await scriptPid(g);
        yield pattern(64 * 1024);
        yield pattern(64 * 1024);
      }
      const r = await request(`${g.url}/cgi-bin/ignore-term.sh`, { method: 'POST', body: body() });
      expect(pid).toBeGreaterThan(0);
      expect(r.text).not.toContain('read it all');
      expect(r.status).toBe(413);
      await eventually(() => !processExists(pid));
    });
  });
});

describe('the pipes never deadlock', () => {
  it('a script that writes 2 MiB before reading its 2 MiB stdin completes', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const body = pattern(2 * MiB);
      const r = await request(`${g.url}/cgi-bin/write-first.sh`, { method: 'POST', body });
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(4 * MiB);
      expect(r.body.subarray(0, 2 * MiB).equals(Buffer.alloc(2 * MiB))).toBe(true);
      expect(r.body.subarray(2 * MiB).equals(body)).toBe(true);
    });
  });

  it('a script that never reads stdin still gets its response delivered while the client uploads 4 MiB', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/ignore-stdin.sh`, { method: 'POST', body: pattern(4 * MiB) });
      expect(r.status).toBe(200);
      expect(r.text).toBe('never read it\n');
    });
  });

  for (const chunkedBody of ['buffer', 'stream'] as const) {
    it(`a script that never reads a 4 MiB chunked body still gets its response delivered (${chunkedBody} mode)`, async () => {
      await withGateway({ cgiDir: cgi.dir, chunkedBody }, async (g) => {
        const r = await request(`${g.url}/cgi-bin/ignore-stdin.sh`, { method: 'POST', body: chunks(pattern(4 * MiB), 256 * 1024) });
        expect(r.status).toBe(200);
        expect(r.text).toBe('never read it\n');
        await eventually(() => spoolDirs().length === 0);
      });
    });
  }
});
