import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketCount, bucketOf, bucketTopUs, quantileMs } from '../../src/front/status/latency-histogram.js';

describe('the latency histogram (log buckets, four per doubling)', () => {
  it('puts every latency in a bucket whose top bounds it within 25 %, buckets in order', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0xfffffffe }), (us) => {
      const b = bucketOf(us);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(bucketCount);
      const top = bucketTopUs(b);
      expect(top).toBeGreaterThanOrEqual(us);
      expect(top).toBeLessThanOrEqual(Math.max(us * 1.25, us + 1));
      expect(bucketOf(us + 1)).toBeGreaterThanOrEqual(b);
    }), { seed: 7, numRuns: 2000 });
  });

  it('gives quantiles as the top of the bucket they fall in, and null when empty', () => {
    const counts = new Uint32Array(bucketCount);
    expect(quantileMs(counts, 0.5)).toBeNull();
    for (let i = 0; i < 98; i++) counts[bucketOf(1000)]!++; // 1 ms
    counts[bucketOf(50_000)]!++; // 50 ms
    counts[bucketOf(400_000)]!++; // 400 ms
    expect(quantileMs(counts, 0.5)).toBeCloseTo(bucketTopUs(bucketOf(1000)) / 1000, 6);
    expect(quantileMs(counts, 0.99)).toBeGreaterThanOrEqual(50);
    expect(quantileMs(counts, 0.99)).toBeLessThan(63);
    expect(quantileMs(counts, 1)).toBeGreaterThanOrEqual(400);
  });
});
