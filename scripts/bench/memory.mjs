// The memory check of issue 5 §4: in pool mode, a 1 GiB streamed response and a 100 MiB upload must each add
// less than 64 MiB to the gateway tree's peak RSS over its idle baseline. The client is this process, outside
// the tree, so only the gateway's buffering counts. Usage: node scripts/bench/memory.mjs [--runs N] [--json]
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';
import { summarize } from './stats.mjs';

const MiB = 1024 * 1024;
export const memoryLimitMb = 64;
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, '..', '..');

/** Reads a GET answer to the end, counting bytes; keeps nothing. */
function download(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, bytes, complete: res.complete }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** POSTs `bytes` with a Content-Length, 64 KiB at a time with backpressure; resolves with the answer. */
function upload(url, bytes) {
  return new Promise((resolve, reject) => {
    const piece = Buffer.alloc(64 * 1024, 0x62);
    const req = request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    (async () => {
      for (let sent = 0; sent < bytes; sent += piece.length) {
        if (!req.write(piece.subarray(0, Math.min(piece.length, bytes - sent)))) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

/**
 * One transfer's growth: baseline = the tree's RSS just before; peak = the larger of the 50 ms samples and
 * Σ VmHWM after resetting every process's high-water mark (exact per process, so no spike falls between
 * samples; an upper bound of the tree's peak, since each process's own peak is counted whenever it was).
 */
async function measureTransfer(tree, transfer) {
  const baseline = tree.sample().rssBytes;
  const hwmReset = tree.resetHighWaterMarks();
  tree.resetPeak();
  tree.startSampling(50);
  const t0 = performance.now();
  const outcome = await transfer();
  const seconds = (performance.now() - t0) / 1000;
  tree.stopSampling();
  tree.sample();
  const sampledPeak = tree.peakRssBytes;
  const hwm = hwmReset ? tree.hwmBytes() : 0;
  return {
    baselineMb: baseline / MiB,
    sampledGrowthMb: (sampledPeak - baseline) / MiB,
    hwmGrowthMb: hwmReset ? (hwm - baseline) / MiB : null,
    growthMb: (Math.max(sampledPeak, hwm) - baseline) / MiB,
    seconds,
    outcome,
  };
}

/** Starts a pool-mode gateway with the two bench apps and measures both transfers `runs` times. */
export async function measureMemory({ runs = 3, streamBytes = 1024 ** 3, uploadBytes = 100 * MiB, step = () => {}, extraArgs = [] } = {}) {
  const record = { name: 'memory', kind: 'memory', group: 'memory', title: 'pool mode: streamed response and upload', limitMb: memoryLimitMb, streamBytes, uploadBytes, error: null };
  let server = null;
  try {
    step('start');
    server = await startServer({
      name: 'memory',
      command: path.join(root, 'bin', 'gatehouse.js'), // as users run it: its #! line's node flags apply
      args: [
        '--port', '0', '--mode', 'pool', '--graceful-timeout', '1', '--max-body', String(uploadBytes + MiB),
        '--app', `/stream=${path.join(benchDir, 'apps', 'stream.mjs')}`, '--app', `/upload=${path.join(benchDir, 'apps', 'upload.mjs')}`, ...extraArgs,
      ],
      cwd: root,
      check: { path: `/stream/?bytes=${64 * 1024}`, contains: 'a' },
    });
    record.command = server.command;
    // One small transfer of each kind first: lazily built state belongs to the idle baseline, not to the growth.
    await download(`${server.url}/stream/?bytes=${MiB}`);
    await upload(`${server.url}/upload/`, MiB);
    const streams = [];
    const uploads = [];
    for (let i = 0; i < runs; i++) {
      step(`${Math.round(streamBytes / MiB)} MiB response, run ${i + 1}/${runs}`);
      const s = await measureTransfer(server.tree, () => download(`${server.url}/stream/?bytes=${streamBytes}`));
      if (s.outcome.status !== 200 || s.outcome.bytes !== streamBytes || !s.outcome.complete) throw new Error(`stream: ${JSON.stringify(s.outcome)}, expected ${streamBytes} bytes`);
      streams.push({ ...s, mibPerS: streamBytes / MiB / s.seconds });
      step(`${Math.round(uploadBytes / MiB)} MiB upload, run ${i + 1}/${runs}`);
      const u = await measureTransfer(server.tree, () => upload(`${server.url}/upload/`, uploadBytes));
      if (u.outcome.status !== 200 || !u.outcome.body.includes(`received ${uploadBytes} bytes`)) throw new Error(`upload: ${JSON.stringify(u.outcome)}`);
      uploads.push({ ...u, mibPerS: uploadBytes / MiB / u.seconds });
    }
    const sum = (xs) => ({ runs: xs, growthMb: summarize(xs.map((x) => x.growthMb)), mibPerS: summarize(xs.map((x) => x.mibPerS)) });
    record.stream = sum(streams);
    record.upload = sum(uploads);
  } catch (e) {
    record.error = `${e.message}${server ? `\n${server.logTail()}` : ''}`;
  } finally {
    await server?.stop();
  }
  return record;
}

// Run on its own: print the figures and whether each is under the limit.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const r = await measureMemory({ runs: runsAt >= 0 ? Number(args[runsAt + 1]) : 3, step: (s) => process.stderr.write(`memory: ${s}\n`) });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.error) process.stdout.write(`memory check failed: ${r.error}\n`);
  else {
    for (const [what, x] of [['1 GiB response', r.stream], ['100 MiB upload', r.upload]]) {
      const g = x.growthMb;
      process.stdout.write(`${what}: peak RSS +${g.median.toFixed(1)} MiB (runs ${g.min.toFixed(1)}–${g.max.toFixed(1)}), limit ${memoryLimitMb}: ${g.max < memoryLimitMb ? 'MET' : 'MISSED'}\n`);
    }
  }
  process.exitCode = r.error || r.stream.growthMb.max >= memoryLimitMb || r.upload.growthMb.max >= memoryLimitMb ? 1 : 0;
}
