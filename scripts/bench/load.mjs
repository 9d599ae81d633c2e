// Warm throughput: one run of the load generator at a fixed concurrency, with the server tree's CPU per request
// and the generator's own CPU. The generator is its own process, so its CPU is its own and never the bench's:
// wrk (C) when it is installed, else autocannon's CLI. Any non-2xx, socket error, timeout or wrong body throws.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cores = availableParallelism();
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const autocannonCli = path.join(benchDir, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');
const clockTicks = 100; // USER_HZ: /proc times are in these on every Linux the bench runs on

export class LoadError extends Error {
  name = 'LoadError';
}

/** wrk's path when it is installed, else null. */
export function findWrk() {
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
const wrkPath = findWrk();
/** The generator a run uses unless told: wrk when installed. */
export const defaultGenerator = wrkPath ? 'wrk' : 'autocannon';

/** Throws a LoadError naming every kind of failure the generator counted. */
function assertClean(r, what, closesConnections) {
  const found = Object.entries(r.bad).filter(([, n]) => n > 0);
  if (found.length) throw new LoadError(`${what}: ${found.map(([k, n]) => `${n} ${k}`).join(', ')}${r.codes ? ` (status codes seen: ${r.codes || 'none'})` : ''}`);
  if (r.requests === 0) throw new LoadError(`${what}: no request completed`);
  if (r.sent === undefined) return;
  // autocannon reconnects silently when the server closes a connection without answering; only the requests
  // still in flight when the run stopped (at most one per connection) may go unanswered. An HTTP/1.0 server
  // closes after every answer, and autocannon has by then written its next request on that connection: one
  // lost (and re-sent) request per answer is that protocol, not a failure.
  const unanswered = r.sent - r.requests;
  const allowed = r.connections + (closesConnections ? r.requests : 0);
  if (unanswered > allowed) throw new LoadError(`${what}: ${unanswered} requests sent but not answered (connections closed without a response)`);
}

/**
 * Runs `argv` under sh, which afterwards prints its own /proc stat line: its cutime + cstime are the CPU of
 * the generator it waited for, exactly, children included. Resolves with stdout and that CPU in ms.
 */
function runMeasured(argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', '"$@"; s=$?; echo; echo "BENCH_STAT $(cat /proc/$$/stat)"; exit $s', 'sh', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stat = /BENCH_STAT (.*)/.exec(out)?.[1];
      if (code !== 0 || !stat) return reject(new LoadError(`${path.basename(argv[0])} exited ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      resolve({ out, cpuMs: ((Number(f[13]) + Number(f[14])) * 1000) / clockTicks });
    });
  });
}

/** wrk's durations ("512.00us", "1.23ms", "2.00s") in ms. */
function wrkMs(text) {
  const m = /([\d.]+)(us|ms|s|m)\b/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
}

/** utime + stime of a live process, in ms; NaN once it is gone. */
function cpuOfPid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
  } catch {
    return NaN;
  }
}

/**
 * wrk takes whole seconds only, so it is started for longer and stopped with SIGINT (after which it reports
 * as usual, with the time it really ran) once `durationS` has passed; its CPU is read just before.
 */
function runWrkProcess(argv, env, durationS) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let cpuMs = NaN;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    const timer = setTimeout(() => {
      cpuMs = cpuOfPid(child.pid);
      child.kill('SIGINT');
    }, durationS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if ((code !== 0 && signal !== 'SIGINT') || !/requests in/.test(out)) return reject(new LoadError(`wrk exited ${code ?? signal}: ${(err || out).trim().split('\n').slice(-3).join(' ')}`));
      resolve({ out, cpuMs });
    });
  });
}

async function runWrk({ url, connections, durationS, expectBody }) {
  const env = { ...process.env };
  if (expectBody !== undefined) env.BENCH_EXPECT_BODY = expectBody;
  else delete env.BENCH_EXPECT_BODY;
  // One thread: the server, not the generator, should have the cores (shown by the cross-check).
  const argv = [wrkPath, '-t1', `-c${connections}`, `-d${Math.ceil(durationS) + 2}s`, '--timeout', '10s', '--latency', '-s', path.join(benchDir, 'wrk-check.lua'), url];
  const { out, cpuMs } = await runWrkProcess(argv, env, durationS);
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const requests = num(/(\d+) requests in/);
  const seconds = wrkMs(/requests in ([\d.]+\w+)/.exec(out)?.[1] ?? '') / 1000;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const lat = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    generator: 'wrk',
    requests,
    durationS: seconds,
    connections,
    bad: { non2xx, mismatches: num(/BENCH_BAD (\d+)/) - non2xx, errors: sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) : 0, timeouts: sock ? Number(sock[4]) : 0 },
    latencyMs: { mean: wrkMs(lat?.[1] ?? ''), p50: wrkMs(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ''), p99: wrkMs(/ 99%\s+(\S+)/.exec(out)?.[1] ?? ''), max: wrkMs(lat?.[3] ?? '') },
    cpuMs,
  };
}

async function runAutocannon({ url, connections, durationS, expectBody }) {
  const args = [process.execPath, autocannonCli, '-j', '-n', '-c', String(connections), '-d', String(durationS), '-t', '10'];
  if (expectBody !== undefined) args.push('-E', expectBody);
  const { out, cpuMs } = await runMeasured([...args, url], process.env);
  const json = out.split('\n').find((l) => l.startsWith('{'));
  if (!json) throw new LoadError(`autocannon printed no result for ${url}`);
  const r = JSON.parse(json);
  return {
    generator: 'autocannon',
    requests: r.requests.total,
    sent: r.requests.sent,
    durationS: r.duration,
    connections,
    codes: Object.keys(r.statusCodeStats ?? {}).join(', '),
    bad: { non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, mismatches: r.mismatches },
    latencyMs: { mean: r.latency.mean, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    cpuMs,
  };
}

/**
 * Waits (polling, bounded) until the tree is quiet: back to its idle process count, and no CPU used over the
 * last 100 ms. Requests cut at the end of a run are not over when the client leaves: the server may still read
 * them from its socket buffers, queue them, spawn for them, kill and reap — and that must not eat into the
 * next run (with a front that forks slowly it can take seconds).
 */
export async function settle(tree, idleCount, boundMs = 15_000) {
  const until = Date.now() + boundMs;
  let last = tree.sample();
  let quietSince = null;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    const now = tree.sample();
    // CPU time moves in 10 ms ticks: an unchanged total means less than one tick of work since the last look.
    const quiet = now.cpuMs === last.cpuMs;
    last = now;
    if (!quiet) quietSince = null;
    else if (quietSince === null) quietSince = Date.now();
    // Back to the idle process count and quiet for 100 ms; or quiet for 500 ms whatever the count (a process
    // the server starts on first use, such as a spawn helper, stays and is idle).
    else if (Date.now() - quietSince >= (now.count <= idleCount ? 100 : 500)) return;
  }
}

/**
 * One run. `expectBody` is the exact body every response must carry (taken from the correctness check).
 * Returns the figures of this run; `tree` (a ProcTree) gives CPU per request. `generator`: 'wrk' or
 * 'autocannon' (default: wrk when installed); an HTTP/1.0 server that closes every connection gets autocannon,
 * which counts what it re-sends.
 */
export async function runLoad({ url, connections, durationS, expectBody, tree, idleCount, closesConnections = false, closesAfterAnswer = false, generator }) {
  const use = closesConnections ? 'autocannon' : (generator ?? defaultGenerator);
  const cpu0 = tree?.sample().cpuMs;
  const wall0 = performance.now();
  const r = use === 'wrk' ? await runWrk({ url, connections, durationS, expectBody }) : await runAutocannon({ url, connections, durationS, expectBody });
  const wallMs = performance.now() - wall0;
  // A server that closes the connection after every answer without saying so (uWSGI's HTTP socket) makes wrk
  // count a read error per answer; what it then re-sends is a new request, so the count of answers stands.
  if (closesAfterAnswer && r.generator === 'wrk' && r.bad.errors <= r.requests + connections) r.bad.errors = 0;
  assertClean(r, `${url} at c=${connections} (${use})`, closesConnections);
  if (tree) await settle(tree, idleCount);
  const cpuMs = tree ? tree.sample().cpuMs - cpu0 : NaN;
  const requests = r.requests;
  return {
    connections,
    generator: use,
    durationS: r.durationS,
    requests,
    rps: requests / r.durationS,
    // With one connection the requests are back to back, so duration ÷ count is the exact time per request;
    // autocannon's own latency histogram holds whole milliseconds only.
    msPerRequest: (r.durationS * 1000) / requests,
    latencyMs: r.latencyMs,
    cpuMsPerRequest: cpuMs / requests,
    loadGenCpuMsPerRequest: r.cpuMs / requests,
    loadGenCpuShare: r.cpuMs / wallMs / cores,
  };
}
