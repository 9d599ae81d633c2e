// Warm throughput: one autocannon run at a fixed concurrency, with the server tree's CPU per request and the
// load generator's own CPU share. Any non-2xx, socket error, timeout or wrong body throws.
import autocannon from 'autocannon';
import { availableParallelism } from 'node:os';

const cores = availableParallelism();

export class LoadError extends Error {
  name = 'LoadError';
}

/** Throws a LoadError naming every kind of failure autocannon counted. */
function assertClean(r, what, closesConnections) {
  const bad = { non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, mismatches: r.mismatches };
  const found = Object.entries(bad).filter(([, n]) => n > 0);
  if (found.length) {
    const codes = Object.keys(r.statusCodeStats ?? {}).join(', ');
    throw new LoadError(`${what}: ${found.map(([k, n]) => `${n} ${k}`).join(', ')} (status codes seen: ${codes || 'none'})`);
  }
  if (r.requests.total === 0) throw new LoadError(`${what}: no request completed`);
  // autocannon reconnects silently when the server closes a connection without answering; only the requests
  // still in flight when the run stopped (at most one per connection) may go unanswered. An HTTP/1.0 server
  // closes after every answer, and autocannon has by then written its next request on that connection: one
  // lost (and re-sent) request per answer is that protocol, not a failure.
  const unanswered = r.requests.sent - r.requests.total;
  const allowed = r.connections + (closesConnections ? r.requests.total : 0);
  if (unanswered > allowed) throw new LoadError(`${what}: ${unanswered} requests sent but not answered (connections closed without a response)`);
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
 * Returns the figures of this run; `tree` (a ProcTree) gives CPU per request.
 */
export async function runLoad({ url, connections, durationS, expectBody, tree, idleCount, closesConnections = false }) {
  const cpu0 = tree?.sample().cpuMs;
  const own0 = process.cpuUsage();
  const wall0 = performance.now();
  // sampleInt: autocannon checks for the end of a run only at each sample tick (1 s by default).
  const r = await autocannon({ url, connections, duration: durationS, expectBody, timeout: 10, sampleInt: 100 });
  const wallMs = performance.now() - wall0;
  const own = process.cpuUsage(own0);
  assertClean(r, `${url} at c=${connections}`, closesConnections);
  if (tree) await settle(tree, idleCount);
  const cpuMs = tree ? tree.sample().cpuMs - cpu0 : NaN;
  const requests = r.requests.total;
  return {
    connections,
    durationS: r.duration,
    requests,
    rps: requests / r.duration,
    // With one connection the requests are back to back, so duration ÷ count is the exact time per request;
    // autocannon's own latency histogram holds whole milliseconds only.
    msPerRequest: (r.duration * 1000) / requests,
    latencyMs: { mean: r.latency.mean, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    cpuMsPerRequest: cpuMs / requests,
    loadGenCpuShare: (own.user + own.system) / 1000 / wallMs / cores,
  };
}
