// What a connection may cost: a head that never completes, a head the parser refuses, a client that stops
// reading a large response, and a request that arrives on a kept-alive connection as the server shuts down.
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, withGateway } from './_gateway.js';

/** Sends `bytes` on a fresh connection; resolves with everything the server sent before it closed (bounded). */
function exchange(port: number, bytes: string, boundMs = 5_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, boundMs);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    s.on('error', () => {});
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streamApp = path.join(root, 'scripts', 'bench', 'apps', 'stream.mjs');
const helloApp = path.join(root, 'scripts', 'soak', 'apps', 'hello.mjs');

describe('connection limits', () => {
  it('answers a request head that does not arrive within --header-timeout with 408 and closes, logging it at info', async () => {
    await withGateway({ headerTimeoutMs: 300 }, async (g) => {
      const t0 = performance.now();
      const r = await exchange(g.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Half: ');
      expect(r.closed).toBe(true);
      expect(r.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      const line = await g.waitForLog((l) => l.code === 'REQUEST_TIMEOUT');
      expect(line).toMatchObject({ level: 30, status: 408 });
    });
  });

  it('answers a head the parser refuses with 400, and one over the size limit with 431, each with a log line', async () => {
    await withGateway({}, async (g) => {
      const bad = await exchange(g.port, 'NOT A REQUEST\r\n\r\n');
      expect(bad.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      const big = await exchange(g.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(big.text).toMatch(/^HTTP\/1\.1 431 /);
      await g.waitForLog((l) => l.code === 'BAD_REQUEST' && l.status === 400);
      await g.waitForLog((l) => l.code === 'HEADERS_TOO_LARGE' && l.status === 431);
    });
  });

  it('drops a client that stops reading after --idle-timeout, without costing the pool worker its life', async () => {
    // --timeout shorter than --idle-timeout: a stalled client must not pass for a silent app.
    await withGateway({ mode: 'pool', workers: 1, apps: [{ prefix: '/stream', module: streamApp }, { prefix: '/hello', module: helloApp }], idleTimeoutMs: 800, timeoutMs: 300 }, async (g) => {
      const s = net.connect(g.port, '127.0.0.1', () => s.write('GET /stream/?bytes=104857600 HTTP/1.1\r\nHost: x\r\n\r\n'));
      let got = 0;
      s.on('data', (d) => {
        got += d.length;
        if (got > 256 * 1024) s.pause(); // and never reads again
      });
      s.on('error', () => {});
      await g.waitForLog((l) => l.msg === 'client stopped reading: connection closed', 10_000);
      s.destroy();
      expect(got).toBeLessThan(100 * 1024 * 1024);
      expect(g.logs.filter((l) => /terminated|TIMEOUT/.test(`${l.msg} ${String(l.code)}`))).toEqual([]);
      const next = await fetch(`${g.url}/hello/`);
      expect(await next.text()).toBe('hello\n');
    });
  });

  it('on shutdown, answers a request that arrives on a kept-alive connection, with Connection: close, instead of resetting it', async () => {
    await withGateway({ mode: 'pool', workers: 1, apps: [{ prefix: '/hello', module: helloApp }] }, async (g) => {
      const s = net.connect(g.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      let text = '';
      s.on('data', (d) => (text += d.toString('latin1')));
      s.write('GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n');
      while (!text.includes('hello\n')) await pause(10);
      const stopping = g.gateway.shutdown();
      await pause(50);
      text = '';
      s.write('GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n');
      const closed = new Promise((r) => s.once('close', r));
      await closed;
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text.toLowerCase()).toContain('connection: close');
      expect(text).toContain('hello\n');
      await stopping;
    });
  });
});
