import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runApp } from '../../src/app/run-app.js';
import type { App } from '../../src/app/types.js';
import { PortSink } from '../../src/workers/port-transport.js';
import type { ToFront, WireBytes } from '../../src/workers/protocol.js';
import { makeEnviron } from '../unit/_app-harness.js';
import { runs } from './_fuzz.js';

// Every message crosses a real MessagePort (structured clone, buffers transferred), as on a lane.
const { port1, port2 } = new MessageChannel();
afterAll(() => port1.close());
function across(msg: ToFront, transfer?: ArrayBuffer[]): ToFront {
  port1.postMessage(msg, transfer ?? []);
  return receiveMessageOnPort(port2)!.message as ToFront;
}

const wireBytes = (b: WireBytes | null): Buffer => (b === null ? Buffer.alloc(0) : typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b));

/** Body chunks of sizes that straddle the thresholds the worker decides by (16 KiB inline, 64 KiB with the head). */
const size = fc.oneof(fc.nat({ max: 40 }), fc.constantFrom(16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 100_000));
const response = fc.record({
  chunks: fc.array(fc.tuple(size, fc.integer({ min: 0, max: 255 }), fc.boolean()), { maxLength: 5 }),
  declareLength: fc.boolean(),
  asyncBody: fc.boolean(),
});

/**
 * Runs an app on a PortSink the way a worker does, playing the front: each message crosses the port, each
 * body part is acknowledged after a turn (as the front does once the socket took it). Returns what the front
 * would put on the wire: status, headers and the body bytes, and the messages' kinds in order.
 */
async function overTheLane(app: App): Promise<{ status: number; headers: string[]; body: Buffer; kinds: string[] }> {
  const got: ToFront[] = [];
  const sink: PortSink = new PortSink(7, (m, transfer) => {
    const msg = across(m, transfer);
    got.push(msg);
    if ((msg.t === 'head' && msg.body !== null && !msg.end) || msg.t === 'chunk') setImmediate(() => sink.onMessage({ t: 'ack' }));
  });
  const outcome = await runApp(app, makeEnviron(), sink);
  const last = sink.takeWhole(outcome === 'completed', 1);
  if (last) got.push(across(last));
  let status = 0;
  let headers: string[] = [];
  const parts: Buffer[] = [];
  for (const m of got) {
    if (m.id !== 7) throw new Error('a message without its request id');
    if (m.t === 'response' || m.t === 'head') {
      ({ status, headers } = m);
      parts.push(wireBytes(m.body));
    } else if (m.t === 'chunk') parts.push(wireBytes(m.data));
  }
  return { status, headers, body: Buffer.concat(parts), kinds: got.map((m) => m.t) };
}

describe('fuzz: the pool lane protocol', () => {
  it('delivers every response byte for byte, head first and ended exactly once, whatever its chunks', async () => {
    await fc.assert(fc.asyncProperty(response, async (r) => {
      const chunks = r.chunks.map(([n, fill, asText]) => (asText ? 'é'.repeat(Math.ceil(n / 2)).slice(0, Math.ceil(n / 2)) : new Uint8Array(n).fill(fill)));
      const expected = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c))));
      const app: App = (_env, startResponse) => {
        startResponse('201 Made', [['Content-Type', 'application/octet-stream'], ...(r.declareLength ? [['Content-Length', String(expected.length)] as [string, string]] : [])]);
        return r.asyncBody ? (async function* () { yield* chunks; })() : chunks;
      };
      const seen = await overTheLane(app);
      expect(seen.status).toBe(201);
      expect(seen.headers.slice(0, 2)).toEqual(['Content-Type', 'application/octet-stream']);
      expect(seen.body.equals(expected)).toBe(true);
      // One 'response', or a 'head' then chunks and one 'end'.
      const k = seen.kinds.join(' ');
      expect(k).toMatch(/^(response|head( chunk)*( end)?)$/);
      if (k.startsWith('head') && !k.endsWith('end')) expect(seen.kinds).toEqual(['head']); // a head that carried it all ('end' set)
    }), runs(200));
  });
});
