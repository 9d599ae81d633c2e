// Bodies stream with backpressure and bounded memory: a 1 GiB response from a pool app, a CGI script and an app
// in CGI mode, and a 100 MiB upload into a pool app, while this process's memory is sampled. The gateway (front
// and pool worker threads) and the client all live in this test process. A client that always reads at loopback
// speed can hide a gateway that buffers without limit (the producer is not faster than the consumer), so each
// transfer also has one pause on the receiving side: then the producer must be held back a bounded distance
// ahead, and without backpressure it would run to the end and its bytes would pile up in memory.
// Also: in CGI mode, app requests and /cgi-bin/ scripts share one process limiter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { descendants, eventually, fixtures, processExists, reachableCopy, request, withGateway, type RunningGateway } from './_gateway.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const appsDir = path.join(fixtures, 'apps');
const app = (prefix: string, file: string) => ({ prefix, module: path.join(appsDir, file) });

let copy: { dir: string; remove: () => void };
let cgiDir: string;
beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'streaming-memory'));
  cgiDir = path.join(copy.dir, 'cgi-bin');
});
afterAll(() => copy.remove());

// A collection before each baseline, so garbage left by an earlier test neither inflates the baseline (hiding
// growth) nor is counted later. (The usual way to reach V8's gc() without starting node with --expose-gc.)
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
async function settle(): Promise<void> {
  collectGarbage();
  await new Promise((r) => setImmediate(r)); // backing stores of collected buffers are freed after the pause
  collectGarbage();
}

interface MemoryPeaks {
  /** Peak rss minus the rss measured just before the request. */
  rssGrowth: number;
  /** Peak arrayBuffers minus the baseline (buffers made by this thread's allocator: the front and the client). */
  arrayBuffersGrowth: number;
  /**
   * Peak `external` minus the baseline: it includes arrayBuffers and also buffers transferred here from a worker
   * thread, which arrayBuffers does not count (they were allocated by the worker's allocator).
   */
  externalGrowth: number;
  /** Peak resident size of an observed child process (VmHWM), if one was watched. */
  childPeakRss: number | null;
  samples: number;
}

/** Peak figures as one log phrase. */
const describePeaks = (p: MemoryPeaks) =>
  `peak growth: rss ${mib(p.rssGrowth)}, arrayBuffers ${mib(p.arrayBuffersGrowth)}, external ${mib(p.externalGrowth)}` +
  (p.childPeakRss === null ? '' : `; app child peak rss ${mib(p.childPeakRss)}`) +
  ` (${p.samples} samples)`;

/** The same bound on every figure measured in this process. */
function expectBounded(p: MemoryPeaks, bound: number): void {
  expect(p.rssGrowth).toBeLessThan(bound);
  expect(p.arrayBuffersGrowth).toBeLessThan(bound);
  expect(p.externalGrowth).toBeLessThan(bound);
}

/**
 * Samples process.memoryUsage() every 50 ms from now until stop(). `childPid`, if given, is asked for the pid of
 * a child process whose resident size is watched too (from /proc, while it exists).
 */
function sampleMemory(childPid?: () => number | null) {
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakArrayBuffers = base.arrayBuffers;
  let peakExternal = base.external;
  let childPeak: number | null = null;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples++;
    peakRss = Math.max(peakRss, m.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
    peakExternal = Math.max(peakExternal, m.external);
    const pid = childPid?.();
    if (pid) {
      const hwm = residentPeak(pid);
      if (hwm !== null) childPeak = Math.max(childPeak ?? 0, hwm);
    }
  };
  const timer = setInterval(sample, 50);
  return {
    stop(): MemoryPeaks {
      clearInterval(timer);
      sample();
      return {
        rssGrowth: peakRss - base.rss,
        arrayBuffersGrowth: peakArrayBuffers - base.arrayBuffers,
        externalGrowth: peakExternal - base.external,
        childPeakRss: childPeak,
        samples,
      };
    },
  };
}

/** VmHWM (peak resident set) of a process in bytes, or null once it is gone. */
function residentPeak(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * KiB : null;
  } catch {
    return null;
  }
}

/** Our child processes running the CGI-mode app runner (dist/src/workers/cgi-child.js). */
function appChildren(): number[] {
  const out: number[] = [];
  // Below this process: the front's own child, or the spawn helper's.
  for (const { pid } of descendants()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cgi-child.js')) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const mib = (n: number | null) => (n === null ? 'n/a' : `${(n / MiB).toFixed(1)} MiB`);

/**
 * A GET read to its end and discarded, counting the bytes. Once `pauseAt` bytes have arrived the client stops
 * reading until `whilePaused` settles: then the producer can only be held back by backpressure (a client that
 * always reads as fast as a loopback socket allows could hide a gateway that buffers without limit).
 */
function download(url: string, pauseAt: number, whilePaused: (received: number) => Promise<void>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let bytes = 0;
      let paused = false;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (paused || bytes < pauseAt) return;
        paused = true;
        res.pause();
        whilePaused(bytes).then(
          () => res.resume(),
          (e: Error) => req.destroy(e),
        );
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout: no data for 30 s')));
    req.end();
  });
}

/**
 * Waits until the producer stops making progress (the same count for 8 polls in a row, 25 ms apart) or has
 * produced everything. Condition polling, not a timing assertion: with backpressure the producer stays stopped
 * for as long as the client does not read, so the condition is met however slow the machine is; without it, the
 * producer runs to the end.
 */
async function producerHeldOrDone(progress: () => number | null, total: number): Promise<number> {
  let last: number | null = null;
  let same = 0;
  await eventually(() => {
    const now = progress();
    if (now === null) return false;
    same = now === last ? same + 1 : 0;
    last = now;
    return same >= 8 || now >= total;
  }, 25_000);
  return last!;
}

/** Bytes written so far by a process (its write(2) total), or `total` once it is gone (it wrote to the end). */
function writtenBy(pid: number | null, total: number): number | null {
  if (pid === null) return null;
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  } catch {
    return total;
  }
}

/** A byte count a fixture app wrote to `file` (gigabyte.mjs's ?progress=, count-upload.mjs's flag), or null. */
function reported(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null; // not written yet
  }
  return /^\d+$/.test(text) ? Number(text) : null; // empty while being written
}

interface Producer {
  /** Bytes the producer has handed on so far (null while unknown). */
  progress: () => number | null;
  /** A child process whose peak resident size is watched too. */
  childPid?: () => number | null;
}

/**
 * Downloads `url` while sampling memory, with one pause of the client after 64 MiB until the producer is held
 * back; asserts the exact size, the bytes in flight during the pause, and the memory bound.
 */
async function downloadMeasured(what: string, url: string, total: number, bound: number, producer: Producer): Promise<MemoryPeaks> {
  await settle();
  const sampler = sampleMemory(producer.childPid); // the baseline is taken here, just before the request
  let peaks: MemoryPeaks;
  let got: { status: number; bytes: number };
  let heldAt: { produced: number; received: number } | undefined;
  try {
    got = await download(url, 64 * MiB, async (received) => {
      const produced = await producerHeldOrDone(producer.progress, total);
      heldAt = { produced, received };
    });
  } finally {
    peaks = sampler.stop();
  }
  const inFlight = heldAt ? heldAt.produced - heldAt.received : null;
  console.log(`[${what}] ${mib(got.bytes)} received; client paused at ${mib(heldAt?.received ?? null)}: producer held ${mib(inFlight)} ahead; ${describePeaks(peaks)}`);
  expect(got.status).toBe(200);
  expect(got.bytes).toBe(total);
  // While the client did not read, the producer stopped a bounded distance ahead (not at the end of the body).
  expect(heldAt).toBeDefined();
  expect(heldAt!.produced).toBeLessThan(total);
  expect(inFlight!).toBeLessThan(bound);
  expectBounded(peaks, bound);
  return peaks;
}

describe('large responses stream with bounded memory', () => {
  const total = GiB;
  const bound = 256 * MiB;
  let progressDir: string;
  beforeAll(() => {
    // World-writable: in CGI mode the app runs as nobody and writes its progress here.
    progressDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-progress-'));
    chmodSync(progressDir, 0o777);
  });
  afterAll(() => rmSync(progressDir, { recursive: true, force: true }));

  it('a 1 GiB response from a pool app streams to the client with bounded memory', { timeout: 120_000 }, async () => {
    await withGateway({ workers: 1, apps: [app('/gig', 'gigabyte.mjs')] }, async (g) => {
      const file = path.join(progressDir, 'pool');
      await downloadMeasured('pool app', `${g.url}/gig?bytes=${total}&progress=${encodeURIComponent(file)}`, total, bound, { progress: () => reported(file) });
    });
  });

  it('a 1 GiB response from a CGI script streams to the client with bounded memory', { timeout: 120_000 }, async () => {
    await withGateway({ cgiDir }, async (g) => {
      let pid: number | null = null;
      void g.waitForLog((l) => l.stderr === 'started' && typeof l.childPid === 'number', 60_000).then((l) => (pid = l.childPid as number), () => {});
      await downloadMeasured('CGI script', `${g.url}/cgi-bin/gigabyte.sh?${total}`, total, bound, { progress: () => writtenBy(pid, total) });
    });
  });

  it('a 1 GiB response from an app in CGI mode (one child process) streams to the client with bounded memory', { timeout: 120_000 }, async () => {
    await withGateway({ mode: 'cgi', cgiDir, apps: [app('/gig', 'gigabyte.mjs')] }, async (g) => {
      const file = path.join(progressDir, 'cgi');
      let child: number | null = null;
      const peaks = await downloadMeasured('CGI-mode app', `${g.url}/gig?bytes=${total}&progress=${encodeURIComponent(file)}`, total, bound, {
        progress: () => reported(file),
        childPid: () => (child ??= appChildren()[0] ?? null),
      });
      // The child is a separate process: its own peak shows whether it, too, wrote only as fast as the pipe drained.
      expect(peaks.childPeakRss).not.toBeNull();
      expect(peaks.childPeakRss!).toBeLessThan(bound);
    });
  });
});

describe('large uploads stream with bounded memory', () => {
  it('a 100 MiB upload reaches a pool app as a stream with bounded memory', { timeout: 120_000 }, async () => {
    const total = 100 * MiB;
    const size = 64 * KiB;
    const bound = 128 * MiB;
    const pauseAt = 16 * MiB;
    // Sixteen distinct constant chunks, made before the baseline: the client allocates nothing per chunk, and the
    // hash still tells a reordered or duplicated chunk.
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(size, 0x41 + i));
    const hash = createHash('sha256');
    for (let i = 0; i < total / size; i++) hash.update(chunks[i % 16]!);
    const expectedSha = hash.digest('hex');
    let generated = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < total / size; i++) {
        generated += size;
        yield chunks[i % 16]!;
      }
    }
    // The app stops reading at 16 MiB until we say go: meanwhile the client must be held back.
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-flags-'));
    try {
      await withGateway({ workers: 1, maxBodyBytes: 128 * MiB, apps: [app('/count', 'count-upload.mjs')] }, async (g) => {
        await settle();
        const sampler = sampleMemory(); // the baseline, just before the request
        let peaks: MemoryPeaks;
        let reply;
        let held: { generated: number; consumed: number } | undefined;
        try {
          const url = `${g.url}/count?pauseAt=${pauseAt}&dir=${encodeURIComponent(dir)}`;
          const sent = request(url, { method: 'POST', headers: { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream' }, body: body(), timeoutMs: 60_000 });
          sent.catch(() => {});
          let consumed: number | null = null;
          await eventually(() => (consumed = reported(path.join(dir, 'paused'))) !== null, 25_000);
          held = { generated: await producerHeldOrDone(() => generated, total), consumed: consumed! };
          writeFileSync(path.join(dir, 'go'), '');
          reply = await sent;
        } finally {
          peaks = sampler.stop();
        }
        const inFlight = held.generated - held.consumed;
        console.log(`[upload to pool app] answer ${JSON.stringify(reply.text.trim())}; app paused at ${mib(held.consumed)}: client held ${mib(inFlight)} ahead; ${describePeaks(peaks)}`);
        expect(reply.status).toBe(200);
        const [bytes, sha, pieces] = reply.text.trim().split(' ');
        expect(Number(bytes)).toBe(total);
        expect(sha).toBe(expectedSha);
        expect(Number(pieces)).toBeGreaterThan(1); // it arrived as a stream of chunks, not as one buffer
        // While the app did not read, the client could not send the rest of the body.
        expect(held.generated).toBeLessThan(total);
        expect(inFlight).toBeLessThan(bound);
        expectBounded(peaks, bound);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('in CGI mode, app requests share the /cgi-bin/ process limit', () => {
  /** A flag directory the `nobody` user can look into. */
  function newFlag(): { flag: string; remove: () => void } {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-flags-'));
    chmodSync(dir, 0o755);
    return { flag: path.join(dir, 'go'), remove: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /** The child pid the front logged with a stderr line matching `pred`. */
  async function childPidOf(g: RunningGateway, pred: (stderr: string) => boolean): Promise<number> {
    const line = await g.waitForLog((l) => typeof l.stderr === 'string' && pred(l.stderr) && typeof l.childPid === 'number');
    return line.childPid as number;
  }

  it('while a script holds the only slot, an app request gets 503 with Retry-After: 1, and 200 once the slot is free', async () => {
    const { flag, remove } = newFlag();
    try {
      await withGateway(
        { mode: 'cgi', maxCgi: 1, maxQueue: 0, cgiDir, setEnv: { FLAG: flag }, apps: [app('/x', 'fail-ok.mjs')] },
        async (g) => {
          const holder = request(`${g.url}/cgi-bin/wait-flag.sh`);
          holder.catch(() => {});
          const pid = await childPidOf(g, (s) => s === 'started'); // the script runs: it holds the slot
          const refused = await request(`${g.url}/x`);
          expect(refused.status).toBe(503);
          expect(refused.headers['retry-after']).toBe('1');
          expect(processExists(pid)).toBe(true); // refused while the script still ran
          writeFileSync(flag, '');
          const held = await holder;
          expect(held.status).toBe(200);
          expect(held.text).toBe('released\n');
          // The slot is released when the script's process has exited (and been reaped), not at its last byte.
          await eventually(() => !processExists(pid));
          const ok = await request(`${g.url}/x`);
          expect(ok.status).toBe(200);
          expect(ok.text).toMatch(/^ok thread=\d+ pid=\d+\n$/);
        },
      );
    } finally {
      remove();
    }
  });

  it('while an app child holds the only slot, a /cgi-bin/ request gets 503 with Retry-After: 1, and 200 once the slot is free', async () => {
    const { flag, remove } = newFlag();
    try {
      await withGateway(
        { mode: 'cgi', maxCgi: 1, maxQueue: 0, cgiDir, apps: [app('/hold', 'fail-hold.mjs')] },
        async (g) => {
          const holder = request(`${g.url}/hold?flag=${encodeURIComponent(flag)}&id=a`);
          holder.catch(() => {});
          const pid = await childPidOf(g, (s) => s === 'holding a'); // the app child runs: it holds the slot
          const refused = await request(`${g.url}/cgi-bin/hello.sh`);
          expect(refused.status).toBe(503);
          expect(refused.headers['retry-after']).toBe('1');
          expect(processExists(pid)).toBe(true);
          writeFileSync(flag, '');
          const held = await holder;
          expect(held.status).toBe(200);
          expect(held.text).toBe('released a\n');
          await eventually(() => !processExists(pid));
          const ok = await request(`${g.url}/cgi-bin/hello.sh`);
          expect(ok.status).toBe(200);
          expect(ok.text).toBe('hello\n');
        },
      );
    } finally {
      remove();
    }
  });
});
