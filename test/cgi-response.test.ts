// RFC 3875 §6, the script's response: header parsing, response types, nph, framing and streaming.
// Every test runs a real gateway and a tiny real script from test/fixtures/cgi-response/cgi-bin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, processExists, rawRequest, reachableCopy, request, withGateway, type LogLine, type RunningGateway } from './_gateway.js';
import type { Options } from '../src/front/options.js';

let copy: { dir: string; remove: () => void };
let base: Partial<Options>;

beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'cgi-response'));
  base = { cgiDir: path.join(copy.dir, 'cgi-bin'), docroot: path.join(copy.dir, 'public') };
});
afterAll(() => copy.remove());

const run = <T>(fn: (g: RunningGateway) => Promise<T>, extra: Partial<Options> = {}) => withGateway({ ...base, ...extra }, fn);

/** A raw HTTP response split into its parts (header names lower-cased, in order, duplicates kept). */
function parseRaw(buf: Buffer): { statusLine: string; headers: [string, string][]; body: Buffer } {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete header block in ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers = lines.map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()] as [string, string];
  });
  return { statusLine, headers, body: buf.subarray(end + 4) };
}

const headerValues = (headers: [string, string][], name: string) => headers.filter(([n]) => n === name).map(([, v]) => v);

/** Raw bytes over TCP; also says whether the server ended the connection (rather than our bound expiring). */
function rawExchange(port: number, raw: string, boundMs = 15_000): Promise<{ bytes: Buffer; endedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), endedByServer: false });
    }, boundMs);
    socket.on('connect', () => socket.write(raw));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve({ bytes: Buffer.concat(chunks), endedByServer: true });
    });
  });
}

/** Rejects if `p` has not settled within the bound (a guard against hanging, not a timing assertion). */
function within<T>(p: Promise<T>, boundMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), boundMs);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** The pid a fixture printed on stderr as `pid=N` (the front logs each stderr line). */
async function stderrPid(g: RunningGateway, script: string): Promise<number> {
  const line = await g.waitForLog((l) => typeof l.stderr === 'string' && /^pid=\d+$/.test(l.stderr) && String(l.script).endsWith(`/${script}`));
  return Number(String(line.stderr).slice(4));
}

const isBadHeadersLog = (l: LogLine) => l.code === 'CGI_BAD_HEADERS' && l.status === 502;

describe('Status and header fields', () => {
  it('a Status field sets the response status and keeps the script\'s own reason phrase', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/status-made.sh`);
      expect(r.status).toBe(201);
      expect(r.statusText).toBe('Made');
      expect(r.text).toBe('made\n');
    });
  });

  it('lower-case status: and content-type: fields are recognised', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/lower-case.sh`);
      expect(r.status).toBe(202);
      expect(r.statusText).toBe('Taken');
      expect(r.headers['content-type']).toBe('text/x-lower');
      expect(r.rawHeaders.map((h) => h.toLowerCase())).not.toContain('status');
      expect(r.text).toBe('lower\n');
    });
  });

  it('header lines ended by LF alone are parsed', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/lf-lines.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/plain');
      expect(r.headers['x-line-end']).toBe('lf');
      expect(r.text).toBe('lf body\n');
    });
  });

  it('header lines ended by CRLF are parsed, without the CR leaking into values', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/crlf-lines.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/plain');
      expect(r.headers['x-line-end']).toBe('crlf');
      expect(r.text).toBe('crlf body\n');
    });
  });

  it('a document response without Content-Type is a 502, and the log says why', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/no-content-type.sh`);
      expect(r.status).toBe(502);
      expect(r.text).not.toContain('what am I');
      const line = await g.waitForLog(isBadHeadersLog);
      expect(line.msg).toMatch(/content-type/i);
    });
  });

  it.each(['abc', '99', '600', '2000'])('a bad Status value (%s) is a 502', async (value) => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/bad-status.sh?${value}`);
      expect(r.status).toBe(502);
      expect(r.text).not.toContain('script-body');
      await g.waitForLog((l) => isBadHeadersLog(l) && /status/i.test(l.msg));
    });
  });
});

describe('scripts that do not send a valid header block', () => {
  it('headers never ended by a blank line are a 502', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/no-blank-line.sh`);
      expect(r.status).toBe(502);
      await g.waitForLog(isBadHeadersLog);
    });
  });

  it('a script that writes nothing at all is a 502', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/no-output.sh`);
      expect(r.status).toBe(502);
      await g.waitForLog(isBadHeadersLog);
    });
  });

  it('a script that exits in the middle of its first header line is a 502', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/exit-mid-header.sh`);
      expect(r.status).toBe(502);
      await g.waitForLog(isBadHeadersLog);
    });
  });

  it('a header line over 8 KiB is a 502 and the still-running script is killed', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/long-header-line.sh`);
      expect(r.status).toBe(502);
      const pid = await stderrPid(g, 'long-header-line.sh');
      await eventually(() => !processExists(pid));
    });
  });

  it('a header block over 64 KiB is a 502 and the still-running script is killed', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/huge-header-block.sh`);
      expect(r.status).toBe(502);
      const pid = await stderrPid(g, 'huge-header-block.sh');
      await eventually(() => !processExists(pid));
    });
  });

  it('a bare CR inside a header value is a 502 (no header injection)', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/cr-in-value.sh`);
      expect(r.status).toBe(502);
      expect(r.headers.injected).toBeUndefined();
      await g.waitForLog(isBadHeadersLog);
    });
  });

  it('a NUL byte inside a header value is a 502', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/nul-in-value.sh`);
      expect(r.status).toBe(502);
      await g.waitForLog(isBadHeadersLog);
    });
  });

  it('an invalid header field name is a 502', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/bad-header-name.sh`);
      expect(r.status).toBe(502);
      await g.waitForLog(isBadHeadersLog);
    });
  });
});

describe('scripts that die by a signal, and scripts that exit after their document', () => {
  it('killed by a signal before anything was sent: 502 CGI_DIED, and the log names the signal', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/killed-early.sh`);
      expect(r.status).toBe(502);
      expect(r.text).not.toContain('part of a');
      const line = await g.waitForLog((l) => l.code === 'CGI_DIED' && l.status === 502);
      expect(String(line.msg)).toMatch(/died by SIGKILL after 9 bytes of body/);
    });
  });

  it('killed by a signal after its first part went out: the connection is cut, never a clean end', async () => {
    await run(async (g) => {
      const outcome = await new Promise<{ status: number; ended: boolean; text: string }>((resolve) => {
        let text = '';
        let status = 0;
        const req = httpGet(`${g.url}/cgi-bin/killed-late.sh`, { agent: false }, (res) => {
          status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status, ended: true, text }));
          res.on('error', () => resolve({ status, ended: false, text }));
        });
        req.on('error', () => resolve({ status, ended: false, text }));
      });
      expect(outcome.status).toBe(200);
      expect(outcome.ended).toBe(false);
      expect(outcome.text.startsWith('first part\n')).toBe(true);
      await g.waitForLog((l) => l.code === 'CUT' && /died by SIGKILL/.test(String(l.msg)));
    });
  });

  it('a failure exit after a complete document still answers 200 with the whole body, and the exit is logged', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/fails-after-document.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe('9');
      expect(r.text).toBe('complete\n');
      const line = await g.waitForLog((l) => /exited with failure/.test(String(l.msg)));
      expect(line.exitCode).toBe(3);
    });
  });

  it('a script that closes stdout and runs on gets its answer without waiting for the script to end', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/closes-stdout-runs-on.sh`, { timeoutMs: 1500 });
      expect(r.status).toBe(200);
      expect(r.text).toBe('done early\n');
    });
  });
});

describe('the front frames the body itself', () => {
  it("a script's own Content-Length, Transfer-Encoding and Connection never reach the client, and the body arrives intact", async () => {
    await run(async (g) => {
      const expected = 'the whole body, longer than three bytes\n';
      const raw = await rawExchange(g.port, 'GET /cgi-bin/own-framing.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      const { statusLine, headers, body } = parseRaw(raw.bytes);
      expect(statusLine).toMatch(/^HTTP\/1\.1 200 /);
      expect(headerValues(headers, 'content-length')).toEqual([String(Buffer.byteLength(expected))]);
      expect(headerValues(headers, 'transfer-encoding')).toEqual([]);
      expect(headerValues(headers, 'connection')).not.toContain('x-from-script');
      expect(body.toString('latin1')).toBe(expected);

      const r = await request(`${g.url}/cgi-bin/own-framing.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe(expected);
    });
  });

  it("a streamed response carries the front's chunked framing, never the script's Content-Length or Transfer-Encoding", async () => {
    await run(async (g) => {
      const raw = await rawExchange(g.port, 'GET /cgi-bin/own-framing-slow.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      const { headers, body } = parseRaw(raw.bytes);
      expect(headerValues(headers, 'content-length')).toEqual([]);
      expect(headerValues(headers, 'transfer-encoding')).toEqual(['chunked']);
      expect(headerValues(headers, 'connection')).not.toContain('x-from-script');
      expect(dechunk(body)).toBe('part one\npart two\n');
    });
  });

  it("a script's Content-Length larger than its body is ignored too: the body arrives intact, with the front's length", async () => {
    await run(async (g) => {
      const expected = 'the whole body, shorter than claimed\n';
      const r = await request(`${g.url}/cgi-bin/own-length-too-long.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
      expect(r.text).toBe(expected);
    });
  });

  it('a short output that is complete before headers must go out gets Content-Length', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/document.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(r.body.length));
      expect(r.headers['transfer-encoding']).toBeUndefined();
      expect(r.text).toBe('this is the body\n');
    });
  });

  it('a script that prints, sleeps and prints again is sent chunked under HTTP/1.1', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/slow.sh`);
      expect(r.status).toBe(200);
      expect(r.headers['transfer-encoding']).toBe('chunked');
      expect(r.headers['content-length']).toBeUndefined();
      expect(r.text).toBe('one\ntwo\n');
    });
  });

  it('a script that prints, sleeps and prints again is close-delimited under HTTP/1.0', async () => {
    await run(async (g) => {
      const raw = await rawExchange(g.port, 'GET /cgi-bin/slow.sh HTTP/1.0\r\nHost: t\r\n\r\n');
      expect(raw.endedByServer).toBe(true);
      const { statusLine, headers, body } = parseRaw(raw.bytes);
      expect(statusLine).toMatch(/^HTTP\/1\.[01] 200 /);
      expect(headerValues(headers, 'content-length')).toEqual([]);
      expect(headerValues(headers, 'transfer-encoding')).toEqual([]);
      expect(body.toString('latin1')).toBe('one\ntwo\n');
    });
  });
});

/** Decodes a chunked body (test helper; strict enough to notice bad framing). */
function dechunk(body: Buffer): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol === -1) throw new Error('chunked body ends without a last chunk');
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    at = eol + 2;
    if (size === 0) return out;
    out += body.subarray(at, at + size).toString('latin1');
    at += size;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('chunk not followed by CRLF');
    at += 2;
  }
}

describe('redirects (RFC 3875 §6.2)', () => {
  it('a local redirect is served internally as a GET of the new target, with its query string', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-local.sh`);
      expect(r.status).toBe(200);
      expect(r.headers.location).toBeUndefined();
      expect(r.text).toBe('method=GET\nquery=x=1\ncontent_length=unset\ncontent_type=unset\nbody=');
    });
  });

  it('a local redirect of a POST drops the body: the target sees a GET with no CONTENT_LENGTH', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-local.sh`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=2',
      });
      expect(r.status).toBe(200);
      expect(r.text).toBe('method=GET\nquery=x=1\ncontent_length=unset\ncontent_type=unset\nbody=');
    });
  });

  it('a local redirect to a static file serves the file from the docroot', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-static.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('static hello\n');
      const p = await request(`${g.url}/cgi-bin/redirect-static.sh`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'dropped' });
      expect(p.status).toBe(200);
      expect(p.text).toBe('static hello\n');
    });
  });

  it('a local redirect loop stops with a 5xx after 10 hops', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-loop.sh`);
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(r.status).toBeLessThan(600);
      // The first run plus ten followed redirects: eleven runs, then no more.
      const runs = () => g.logs.filter((l) => l.stderr === 'loop run').length;
      await eventually(() => runs() >= 11);
      expect(runs()).toBe(11);
    });
  });

  it('an absolute Location without Status is a 302 client redirect to it', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-absolute.sh`);
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe('http://example.com/x');
    });
  });

  it('a network-path Location (//host/x) is a 302 client redirect, not served locally', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-network-path.sh`);
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe('//example.com/x');
    });
  });

  it('a client redirect with a document passes status, Location and body through', async () => {
    await run(async (g) => {
      const r = await request(`${g.url}/cgi-bin/redirect-with-document.sh`);
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe('http://example.com/moved');
      expect(r.headers['content-type']).toBe('text/html');
      expect(r.text).toBe('<a href="http://example.com/moved">moved</a>\n');
    });
  });
});

describe('HEAD and nph', () => {
  it('a HEAD request gets the headers and no body', async () => {
    await run(async (g) => {
      const raw = await rawExchange(g.port, 'HEAD /cgi-bin/document.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      const { statusLine, headers, body } = parseRaw(raw.bytes);
      expect(statusLine).toMatch(/^HTTP\/1\.1 200 /);
      expect(headerValues(headers, 'content-type')).toEqual(['text/plain']);
      expect(headerValues(headers, 'x-doc')).toEqual(['yes']);
      expect(body.length).toBe(0);
    });
  });

  it("an nph- script's output is relayed byte for byte, its own status line included", async () => {
    await run(async (g) => {
      const script = readFileSync(path.join(fixtures, 'cgi-response', 'cgi-bin', 'nph-odd.sh'), 'utf8');
      expect(script).toContain('HTTP/1.1 299 Odd');
      const bytes = await rawRequest(g.port, 'GET /cgi-bin/nph-odd.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      expect(bytes.toString('latin1')).toBe('HTTP/1.1 299 Odd\r\nContent-Type: text/plain\r\nX-Nph: as sent\r\n\r\nnph body, as is\n');
    });
  });
});

describe('streaming', () => {
  let flagDir: string;
  beforeAll(() => {
    flagDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-flag-'));
    chmodSync(flagDir, 0o777);
  });
  afterAll(() => rmSync(flagDir, { recursive: true, force: true }));

  it('the client receives the first part before the script has written the second', async () => {
    const flag = path.join(flagDir, 'release-part-two');
    await run(
      async (g) => {
        let text = '';
        let sawPartOne!: () => void;
        const partOne = new Promise<void>((resolve) => (sawPartOne = resolve));
        const whole = new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = httpGet(`${g.url}/cgi-bin/wait-flag.sh`, { agent: false }, (res) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              text += c;
              if (text.includes('part one\n')) sawPartOne();
            });
            res.on('error', reject);
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          });
          req.on('error', reject);
        });
        whole.catch(() => {});
        await within(partOne, 10_000, 'part one did not reach the client while the script waited');
        expect(existsSync(flag)).toBe(false);
        expect(text).not.toContain('part two');
        writeFileSync(flag, '');
        const r = await within(whole, 10_000, 'the response did not end after the flag appeared');
        expect(r.status).toBe(200);
        expect(r.text).toBe('part one\npart two\n');
      },
      { setEnv: { FLAG: flag } },
    );
  });

  it('a 50 MiB response streams to the client intact', async () => {
    await run(async (g) => {
      const size = 50 * 1024 * 1024;
      const zeros = Buffer.alloc(1024 * 1024);
      const r = await new Promise<{ status: number; bytes: number; allZero: boolean }>((resolve, reject) => {
        const req = httpGet(`${g.url}/cgi-bin/large.sh`, { agent: false }, (res) => {
          let bytes = 0;
          let allZero = true;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            for (let at = 0; at < c.length && allZero; at += zeros.length) {
              const part = c.subarray(at, at + zeros.length);
              if (!part.equals(zeros.subarray(0, part.length))) allZero = false;
            }
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, allZero }));
        });
        req.on('error', reject);
      });
      expect(r.status).toBe(200);
      expect(r.bytes).toBe(size);
      expect(r.allZero).toBe(true);
    });
  });
});
