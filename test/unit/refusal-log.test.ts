import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RefusalLog } from '../../src/front/refusal-log.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  return { lines, log: pino({ level: 'info' }, stream) };
}

describe('RefusalLog (503 for a full queue: one line when refusals start, then one per interval)', () => {
  it('logs the first refusal at once at warn, then the count of the rest once per interval, and nothing while quiet', async () => {
    const { lines, log } = capture();
    const r = new RefusalLog(log, 50);
    try {
      r.note('2 running and 20 waiting: queue full');
      await pause(5);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, code: 'OVERLOADED', status: 503, msg: 'refusing requests: 2 running and 20 waiting: queue full' });
      for (let i = 0; i < 999; i++) r.note(`refusal ${i}`);
      await pause(80);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ level: 40, code: 'OVERLOADED', refused: 999, msg: '999 more requests refused; the latest: refusal 998' });
      await pause(150); // quiet: no line
      expect(lines).toHaveLength(2);
      r.note('again'); // after a quiet interval the next refusal is said at once
      await pause(5);
      expect(lines.at(-1)).toMatchObject({ msg: 'refusing requests: again' });
    } finally {
      r.stop();
    }
  });

  it('says what it counted but had not said yet when it stops', async () => {
    const { lines, log } = capture();
    const r = new RefusalLog(log, 10_000);
    r.note('first');
    r.note('second');
    r.note('third');
    r.stop();
    await pause(5);
    expect(lines.map((l) => l.msg)).toEqual(['refusing requests: first', '2 more requests refused; the latest: third']);
  });
});
