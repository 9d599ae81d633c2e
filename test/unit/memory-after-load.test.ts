import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryAfterLoad, type ConnectionCount } from '../../src/front/memory-after-load.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const silent = pino({ level: 'silent' });

/** Connection counts as IdleConnections reports them: open now, and the most open since the last look. */
class Counts implements ConnectionCount {
  open = 0;
  #peak = 0;
  set(n: number): void {
    this.open = n;
    this.#peak = Math.max(this.#peak, n);
  }
  takePeak(): number {
    const p = this.#peak;
    this.#peak = this.open;
    return p;
  }
}

describe('MemoryAfterLoad (one full collection once a burst of connections, or a load of requests, has gone)', () => {
  it('collects when a thousand or more connections have gone since the peak, once per burst', () => {
    const counts = new Counts();
    const m = new MemoryAfterLoad(counts, () => 0, silent, () => 0);
    try {
      counts.set(5000);
      expect(m.check()).toBe(false); // the burst is still here
      counts.set(4200);
      expect(m.check()).toBe(false); // 800 gone: not worth a collection
      counts.set(30);
      expect(m.check()).toBe(true);
      expect(m.check()).toBe(false); // the same burst is not collected twice
      counts.set(900);
      counts.set(10);
      expect(m.check()).toBe(false); // a smaller wave than a burst
    } finally {
      m.stop();
    }
  });

  it('sees a burst that came and went between two looks', () => {
    const counts = new Counts();
    const m = new MemoryAfterLoad(counts, () => 0, silent, () => 0);
    try {
      counts.set(3000);
      counts.set(2);
      expect(m.check()).toBe(true);
    } finally {
      m.stop();
    }
  });

  it('collects once the server is quiet after requests that grew the heap by 4 MiB or more, not while they still arrive', () => {
    const MiB = 1024 * 1024;
    let requests = 0;
    let heap = 50 * MiB;
    const m = new MemoryAfterLoad(new Counts(), () => requests, silent, () => heap);
    try {
      requests = 9_000;
      heap += 3 * MiB;
      expect(m.check()).toBe(false);
      expect(m.check()).toBe(false); // quiet, but the heap grew by less than 4 MiB
      requests = 9_500;
      heap += 2 * MiB;
      expect(m.check()).toBe(false); // grown enough, but requests still arrive
      expect(m.check()).toBe(true); // quiet for an interval
      heap = 51 * MiB; // what the collection left
      expect(m.check()).toBe(false); // reads the new baseline
      expect(m.check()).toBe(false); // nothing new
      heap = 60 * MiB;
      expect(m.check()).toBe(false); // grown, quiet, but no request since: an idle server's own growth
      requests = 9_600;
      expect(m.check()).toBe(false);
      expect(m.check()).toBe(true);
    } finally {
      m.stop();
    }
  });

  it('the collection gives back old-generation garbage that nothing else would collect', async () => {
    const counts = new Counts();
    const m = new MemoryAfterLoad(counts, () => 0, silent, () => 0);
    try {
      // Garbage that survives long enough to be promoted, like a burst's sockets and parsers.
      let held: { n: number; s: string }[] | null = Array.from({ length: 300_000 }, (_, n) => ({ n, s: `connection ${n}` }));
      for (let i = 0; i < 20; i++) new Array(100_000).fill(i); // scavenges: `held` moves to the old generation
      const before = process.memoryUsage().heapUsed;
      expect(held.length).toBe(300_000);
      held = null;
      counts.set(5000);
      counts.set(0);
      expect(m.check()).toBe(true);
      await pause(200); // the collection runs on a task of its own
      expect(before - process.memoryUsage().heapUsed).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      m.stop();
    }
  });
});
