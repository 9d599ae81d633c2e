// How hard the property tests push: in `npm test`, a fixed seed and a bounded number of runs (the same cases
// every time); under `npm run fuzz` (GATEHOUSE_FUZZ=1), 50× the runs and a new seed each time, printed so a
// failure can be replayed with GATEHOUSE_FUZZ_SEED.
import type { Parameters } from 'fast-check';

const long = process.env.GATEHOUSE_FUZZ === '1';
const seed = process.env.GATEHOUSE_FUZZ_SEED ? Number(process.env.GATEHOUSE_FUZZ_SEED) : long ? Date.now() % 2 ** 31 : 20_261_207;
if (long) console.log(`fuzz seed ${seed} (replay: GATEHOUSE_FUZZ_SEED=${seed} npm run fuzz)`);

/** fast-check parameters for a property run `runs` times in `npm test`. */
export function runs<T>(n: number): Parameters<T> {
  return { seed, numRuns: long ? n * 50 : n };
}

/** Cuts `data` at `cuts` (positions taken modulo its length), in order: the same bytes in arbitrary pieces. */
export function splitAt(data: Uint8Array, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, data.length]) {
    out.push(Buffer.from(data.subarray(from, c)));
    from = c;
  }
  return out;
}
