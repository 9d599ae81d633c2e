// Latencies counted into log-scale buckets: four per doubling from 1 µs (each ~19 % wide), so recording one is an
// index computation and an increment, and p50/p99 come from the counts when someone asks. Sorting samples, or a
// prom-client observe() with its label lookup per request, would put that cost on the warm path instead.

/** Buckets per histogram: 4 per octave, octaves of µs up to 2^32 µs (~71 min). */
export const bucketCount = 32 * 4;

/** The bucket a latency of `us` µs falls in. */
export function bucketOf(us: number): number {
  const n = us < 1 ? 1 : us >= 0xffffffff ? 0xffffffff : Math.floor(us);
  const octave = 31 - Math.clz32(n);
  const sub = octave >= 2 ? (n >>> (octave - 2)) & 3 : n & ((1 << octave) - 1);
  return octave * 4 + sub;
}

/** The largest latency (µs) that falls in bucket `b`. */
export function bucketTopUs(b: number): number {
  const octave = b >>> 2;
  const sub = b & 3;
  if (octave < 2) return (1 << octave) + sub; // octaves 0 and 1 hold single values
  return (4 + sub + 1) * 2 ** (octave - 2) - 1; // not <<: octave 31 would overflow an int32
}

/** The latency (ms) under which a fraction `q` of the counted ones fall (the bucket's top: an upper bound). */
export function quantileMs(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    seen += counts[b]!;
    if (seen >= rank) return bucketTopUs(b) / 1000;
  }
  return bucketTopUs(counts.length - 1) / 1000;
}
