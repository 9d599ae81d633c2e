import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/front/errors.js';
import { Limiter, type Release } from '../../src/front/limiter.js';

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Tracks whether a pending acquire has been granted. */
function track(p: Promise<Release>) {
  const t = { granted: false, release: undefined as Release | undefined, error: undefined as unknown };
  p.then(
    (r) => { t.granted = true; t.release = r; },
    (e: unknown) => { t.error = e; },
  );
  return t;
}

describe('Limiter', () => {
  it.each([[1], [2], [5]])('grants up to %i holders at once without waiting', async (max) => {
    const l = new Limiter(max, 10);
    const held = Array.from({ length: max }, () => track(l.acquire()));
    const extra = track(l.acquire());
    await settle();
    expect(held.every((t) => t.granted)).toBe(true);
    expect(extra.granted).toBe(false);
    expect(l.active).toBe(max);
    expect(l.queued).toBe(1);
  });

  it.each([[0], [1], [3]])('rejects with OVERLOADED once %i waiters fill the queue', async (maxQueue) => {
    const l = new Limiter(1, maxQueue);
    await l.acquire();
    for (let i = 0; i < maxQueue; i++) void l.acquire();
    const e = await l.acquire().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('OVERLOADED');
    expect((e as GatewayError).status).toBe(503);
    expect(l.queued).toBe(maxQueue);
  });

  it('grants waiters in the order they came when holders release', async () => {
    const l = new Limiter(1, 10);
    const first = await l.acquire();
    const order: string[] = [];
    const waiters = ['a', 'b', 'c'].map((name) => l.acquire().then((r) => { order.push(name); return r; }));
    first();
    const ra = await waiters[0]!;
    await settle();
    expect(order).toEqual(['a']);
    ra();
    const rb = await waiters[1]!;
    rb();
    (await waiters[2]!)();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(l.active).toBe(0);
    expect(l.queued).toBe(0);
  });

  it('hands a released slot straight to the next waiter, keeping the count of holders', async () => {
    const l = new Limiter(1, 10);
    const first = await l.acquire();
    const next = track(l.acquire());
    first();
    await settle();
    expect(next.granted).toBe(true);
    expect(l.active).toBe(1);
    expect(l.queued).toBe(0);
  });

  it('frees the slot when the last holder releases', async () => {
    const l = new Limiter(2, 10);
    const a = await l.acquire();
    const b = await l.acquire();
    a();
    b();
    expect(l.active).toBe(0);
  });

  it('removes an aborted waiter from the queue and rejects it with the abort reason', async () => {
    const l = new Limiter(1, 10);
    const holder = await l.acquire();
    const ac = new AbortController();
    const aborted = track(l.acquire(ac.signal));
    const after = track(l.acquire());
    expect(l.queued).toBe(2);
    const reason = new GatewayError('OVERLOADED', 'client left');
    ac.abort(reason);
    await settle();
    expect(aborted.error).toBe(reason);
    expect(l.queued).toBe(1);
    holder();
    await settle();
    expect(aborted.granted).toBe(false);
    expect(after.granted).toBe(true);
  });

  it('rejects an aborted waiter with an Error even when the abort reason is not one', async () => {
    const l = new Limiter(1, 10);
    await l.acquire();
    const ac = new AbortController();
    const p = l.acquire(ac.signal);
    ac.abort('gone');
    await expect(p).rejects.toBeInstanceOf(Error);
  });

  it('frees the queue place of an aborted waiter for a new request', async () => {
    const l = new Limiter(1, 1);
    await l.acquire();
    const ac = new AbortController();
    const p = l.acquire(ac.signal).catch(() => undefined);
    await expect(l.acquire()).rejects.toMatchObject({ code: 'OVERLOADED' });
    ac.abort();
    await p;
    const again = track(l.acquire());
    await settle();
    expect(again.error).toBeUndefined();
    expect(l.queued).toBe(1);
  });

  it('ignores an abort that comes after the waiter was granted', async () => {
    const l = new Limiter(1, 10);
    const holder = await l.acquire();
    const ac = new AbortController();
    const t = track(l.acquire(ac.signal));
    holder();
    await settle();
    ac.abort();
    await settle();
    expect(t.granted).toBe(true);
    expect(t.error).toBeUndefined();
    expect(l.active).toBe(1);
  });

  it('treats a second call of the same release as harmless', async () => {
    const l = new Limiter(2, 10);
    const a = await l.acquire();
    const b = await l.acquire();
    a();
    a();
    expect(l.active).toBe(1);
    b();
    expect(l.active).toBe(0);
  });

  it('does not let a double release grant a second waiter', async () => {
    const l = new Limiter(1, 10);
    const holder = await l.acquire();
    const w1 = track(l.acquire());
    const w2 = track(l.acquire());
    holder();
    holder();
    await settle();
    expect(w1.granted).toBe(true);
    expect(w2.granted).toBe(false);
    expect(l.active).toBe(1);
    expect(l.queued).toBe(1);
  });

  it('under a lowered cap, new holders wait and released slots do not pass on until the count is below it', async () => {
    const l = new Limiter(4, 10);
    const held = await Promise.all([l.acquire(), l.acquire(), l.acquire()]);
    l.setCap(2);
    expect(l.active).toBe(3); // running holders are not cut short
    const waiter = track(l.acquire());
    held[0]!();
    await settle();
    expect(waiter.granted).toBe(false);
    expect(l.active).toBe(2);
    held[1]!();
    await settle();
    expect(waiter.granted).toBe(true);
    expect(l.active).toBe(2);
  });

  it('lifting the cap admits waiters at once, up to max', async () => {
    const l = new Limiter(3, 10);
    l.setCap(1);
    await l.acquire();
    const waiters = [track(l.acquire()), track(l.acquire()), track(l.acquire())];
    await settle();
    expect(waiters.filter((w) => w.granted)).toHaveLength(0);
    l.setCap(Infinity);
    await settle();
    expect(waiters.map((w) => w.granted)).toEqual([true, true, false]);
    expect(l.active).toBe(3);
    expect(l.queued).toBe(1);
  });
});
