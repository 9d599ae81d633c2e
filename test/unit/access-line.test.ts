import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeAccessLine, maxLineBytes, type AccessFacts } from '../../src/front/access-line.js';
import { LineBatch, type ByteSink } from '../../src/front/line-batch.js';

/** The line as pino's serialiser (JSON.stringify) would write it: what the byte encoder must equal. */
function asJson(f: AccessFacts): string {
  const { childPid, worker, complete, ...rest } = f;
  const line = { level: 30, ...rest, ms: Math.round(f.ms * 1000) / 1000, ...(childPid === undefined ? {} : { childPid }), ...(worker === undefined ? {} : { worker }), complete, msg: 'access' };
  return `${JSON.stringify(line)}\n`;
}

function encoded(f: AccessFacts): string {
  const buf = Buffer.alloc(maxLineBytes(f));
  return buf.toString('utf8', 0, encodeAccessLine(buf, 0, f));
}

const facts = fc.record({
  time: fc.integer({ min: 0, max: 2 ** 45 }),
  pid: fc.integer({ min: 1, max: 2 ** 22 }),
  req: fc.nat(),
  method: fc.oneof(fc.constantFrom('GET', 'POST', 'M-SEARCH'), fc.string()),
  // req.url arrives latin1-decoded; an internal redirect's target may hold any UTF-16.
  path: fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) })),
  status: fc.integer({ min: 100, max: 599 }),
  bytes: fc.nat(),
  ms: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 10_000 }).map((us) => us / 1000)),
  via: fc.string(),
  childPid: fc.option(fc.integer({ min: 1, max: 2 ** 22 }), { nil: undefined }),
  worker: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
  complete: fc.boolean(),
});

describe('the access line encoder', () => {
  it('writes byte for byte what JSON.stringify writes for the same facts, within its bound', () => {
    fc.assert(
      fc.property(facts, (f) => {
        const buf = Buffer.alloc(maxLineBytes(f));
        const end = encodeAccessLine(buf, 0, f);
        expect(end).toBeLessThanOrEqual(buf.length);
        expect(buf.toString('utf8', 0, end)).toBe(asJson(f));
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('writes quotes, backslashes, control and non-ASCII characters of a path escaped as JSON', () => {
    const f: AccessFacts = { time: 1, pid: 2, req: 3, method: 'GET', path: '/a"b\\c\u0001é€', status: 200, bytes: 0, ms: 0.1, via: 'static', childPid: undefined, worker: undefined, complete: true };
    expect(JSON.parse(encoded(f)).path).toBe('/a"b\\c\u0001é€');
  });
});

describe('a batch of log lines', () => {
  it('sends the lines of one turn to a real file as one write, in order, pino lines and access lines alike', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-batch-'));
    try {
      const file = path.join(dir, 'log');
      // Synchronous, as the gateway writes to a file: the bytes are in it once the write returns.
      const dest = pino.destination({ dest: file, sync: true, contentMode: 'buffer' }) as unknown as ByteSink;
      const writes: number[] = [];
      const counting: ByteSink = { write: (b) => (writes.push(b.length), dest.write(b)), flush: (cb) => dest.flush(cb) };
      const batch = new LineBatch(counting);
      const log = pino({ base: null }, batch);
      const f: AccessFacts = { time: 5, pid: 6, req: 7, method: 'GET', path: '/x', status: 200, bytes: 10, ms: 1.5, via: 'static', childPid: undefined, worker: 2, complete: true };
      log.info('first');
      const at = batch.reserve(maxLineBytes(f))!;
      batch.commit(encodeAccessLine(batch.chunk, at, f));
      log.info('last');
      expect(writes).toEqual([]); // nothing until the turn ends
      await new Promise((r) => setImmediate(r));
      expect(writes).toHaveLength(1);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.msg)).toEqual(['first', 'access', 'last']);
      expect(lines[1]).toMatchObject({ req: 7, path: '/x', ms: 1.5, worker: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every line when a turn writes more than a chunk holds', async () => {
    const sent: Buffer[] = [];
    const batch = new LineBatch({ write: (b) => (sent.push(Buffer.from(b)), true), flush: (cb) => cb?.() });
    const log = pino({ base: null }, batch);
    const big = 'x'.repeat(30_000);
    for (let i = 0; i < 10; i++) log.info({ i, big }, 'line');
    log.info({ huge: 'y'.repeat(100_000) }, 'longer than a chunk');
    await new Promise((r) => setImmediate(r));
    const lines = Buffer.concat(sent).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, undefined]);
    expect(lines[10].huge).toHaveLength(100_000);
  });
});
