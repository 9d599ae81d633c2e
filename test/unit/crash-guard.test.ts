import { describe, expect, it } from 'vitest';
import { CrashGuard } from '../../src/front/pool/crash-guard.js';

describe('CrashGuard', () => {
  it('pauses dispatch when workers die on most requests: a crash loop', () => {
    const g = new CrashGuard({ windowMs: 10_000, maxDeaths: 5, backoffMs: 1_000 });
    const t = 1_000_000;
    const pauses = [0, 1, 2, 3, 4].map((i) => g.recordDeath(t + i * 100));
    expect(pauses).toEqual([0, 0, 0, 0, 1_000]);
    expect(g.pausedFor(t + 500)).toBe(900);
  });

  it('does not pause for deaths among many answered requests: an app that crashes now and then under load', () => {
    const g = new CrashGuard({ windowMs: 10_000, maxDeaths: 5, backoffMs: 1_000 });
    const t = 2_000_000;
    let paused = 0;
    for (let i = 0; i < 1_000; i++) {
      g.recordServed(t + i * 5);
      if (i % 100 === 99) paused += g.recordDeath(t + i * 5);
    }
    expect(paused).toBe(0);
    expect(g.pausedFor(t + 5_000)).toBe(0);
  });

  it('forgets answered requests older than its window', () => {
    const g = new CrashGuard({ windowMs: 2_000, maxDeaths: 2, backoffMs: 500 });
    const t = 3_000_000;
    for (let i = 0; i < 100; i++) g.recordServed(t);
    expect(g.recordDeath(t + 10_000)).toBe(0);
    expect(g.recordDeath(t + 10_100)).toBe(500);
  });
});
