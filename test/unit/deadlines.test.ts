import { describe, expect, it } from 'vitest';
import { Deadlines, type Timed } from '../../src/front/pool/deadlines.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function item(log: string[], name: string): Timed {
  return { deadlineSlot: -1, onDeadline: () => log.push(name) };
}

describe('Deadlines (one timer for every running request)', () => {
  it('calls each item once its own deadline passes, earliest first, and forgets it', async () => {
    const d = new Deadlines();
    const log: string[] = [];
    const now = performance.now();
    d.set(item(log, 'late'), now + 60);
    d.set(item(log, 'early'), now + 20);
    await pause(40);
    expect(log).toEqual(['early']);
    await pause(50);
    expect(log).toEqual(['early', 'late']);
    expect(d.size).toBe(0);
  });

  it('never calls an item that was cleared, or whose deadline moved later, before its time', async () => {
    const d = new Deadlines();
    const log: string[] = [];
    const a = item(log, 'a');
    const b = item(log, 'b');
    const c = item(log, 'c');
    d.set(a, performance.now() + 20);
    d.set(b, performance.now() + 20);
    d.set(c, performance.now() + 20);
    d.clear(a); // c moves into a's slot
    d.set(b, performance.now() + 80);
    await pause(50);
    expect(log).toEqual(['c']);
    expect(d.size).toBe(1);
    d.clear(b);
    await pause(60);
    expect(log).toEqual(['c']);
    d.stop();
  });
});
