// Measuring one server subject: cold starts, a discarded warm-up, then rounds of warm throughput at each
// concurrency and a sub-millisecond latency probe at c=1, with the tree's peak memory sampled throughout.
import { runLoad, settle } from './load.mjs';
import { probeLatency } from './probe.mjs';
import { freePort, startServer } from './server.mjs';
import { summarize } from './stats.mjs';

const MiB = 1024 * 1024;

/** Starts the subject's server once; resolves when it has answered correctly (coldStartMs is set). */
export async function launch(subject, ctx) {
  const port = subject.needsPort ? await freePort() : undefined;
  const spec = typeof subject.launch === 'function' ? subject.launch(port) : subject.launch;
  const server = await startServer({
    name: subject.name,
    command: spec.command ?? process.execPath,
    args: spec.args,
    cwd: spec.cwd ?? ctx.root,
    env: { ...process.env, ...spec.env },
    port,
    check: subject.check,
  });
  // For the report: the variables the bench set, then the command line.
  server.command = `${Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v} `).join('')}${server.command}`;
  return server;
}

/**
 * `runs` cold starts; every server but the last is stopped at once, the last is returned still running, so
 * the loads that follow need no extra start.
 */
export async function coldStarts(subject, ctx, runs, step) {
  const times = [];
  let server = null;
  for (let i = 0; i < runs; i++) {
    step(`cold start ${i + 1}/${runs}`);
    server = await launch(subject, ctx);
    times.push(server.coldStartMs);
    if (i < runs - 1) {
      await server.stop();
      server = null;
    }
  }
  return { times, server };
}

/** Memory and process count of the idle server (after its first answer), the reference for settle(). */
function idle(server) {
  const s = server.tree.sample();
  return { count: s.count, rssMb: s.rssBytes / MiB };
}

/** A discarded load, so JIT, caches and connection set-up do not land in the first timed run. */
async function warmUp(subject, server, url, profile, connections) {
  if (profile.warmupS > 0) {
    await runLoad({ url, connections, durationS: profile.warmupS, expectBody: server.firstBody, closesConnections: subject.closesConnections, closesAfterAnswer: subject.closesAfterAnswer });
  } else {
    await probeLatency({ url, connections: 1, durationS: 0, minRequests: 5 }, server.firstBody);
  }
}

/** Summaries per figure, keeping every run. */
function summarizeLoads(runs) {
  return {
    runs,
    rps: summarize(runs.map((r) => r.rps)),
    msPerRequest: summarize(runs.map((r) => r.msPerRequest)),
    p99Ms: summarize(runs.map((r) => r.latencyMs.p99)),
    cpuMsPerRequest: summarize(runs.map((r) => r.cpuMsPerRequest)),
    loadGenCpuShare: summarize(runs.map((r) => r.loadGenCpuShare)),
  };
}

export function summarizeProbes(runs) {
  return {
    runs,
    p50Ms: summarize(runs.map((r) => r.p50)),
    p99Ms: summarize(runs.map((r) => r.p99)),
    meanMs: summarize(runs.map((r) => r.mean)),
  };
}

/**
 * Cold-starts the subject into `record` (median of the profile's cold runs), then runs `measure` on the server
 * the last start left running; the server is stopped whatever happens, and a failure becomes the record's error.
 */
async function measureStarted(subject, ctx, profile, step, record, measure) {
  let server = null;
  try {
    const cold = await coldStarts(subject, ctx, profile.coldRuns, step);
    server = cold.server;
    record.command = server.command;
    record.coldStartMs = { runs: cold.times, ...summarize(cold.times) };
    await measure(server, server.url + subject.check.path, idle(server));
  } catch (e) {
    record.error = errorText(e, server);
  } finally {
    await server?.stop();
  }
  return record;
}

/** A server subject: cold start, throughput at each concurrency, latency at c=1, peak RSS, CPU per request. */
export function measureServer(subject, ctx, profile, step) {
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, error: null };
  return measureStarted(subject, ctx, profile, step, record, async (server, url, rest) => {
    record.idleRssMb = rest.rssMb;
    server.tree.resetPeak();
    server.tree.startSampling(50);
    step('warm-up (discarded)');
    await warmUp(subject, server, url, profile, Math.min(16, Math.max(...subject.concurrencies)));
    await settle(server.tree, rest.count);
    const durationS = subject.slow ? profile.slowLoadS : profile.loadS;
    const loads = Object.fromEntries(subject.concurrencies.map((c) => [c, []]));
    const probes = [];
    // Rounds rather than all runs of one concurrency in a row: a slow minute on the machine then spreads over
    // every concurrency instead of biasing one.
    for (let round = 0; round < profile.runs; round++) {
      for (const c of subject.concurrencies) {
        step(`throughput c=${c}, run ${round + 1}/${profile.runs}`);
        const r = await runLoad({ url, connections: c, durationS, expectBody: server.firstBody, tree: server.tree, idleCount: rest.count, closesConnections: subject.closesConnections, closesAfterAnswer: subject.closesAfterAnswer });
        if (subject.closesConnections) r.latencyMs = { mean: null, p50: null, p99: null, max: null };
        loads[c].push(r);
      }
      step(`latency c=1, run ${round + 1}/${profile.runs}`);
      probes.push(await probeLatency({ url, connections: 1, durationS: profile.probeS, minRequests: profile.probeMinRequests }, server.firstBody));
      await settle(server.tree, rest.count);
    }
    server.tree.stopSampling();
    record.peakRssMb = server.tree.peakRssBytes / MiB;
    record.throughput = Object.fromEntries(Object.entries(loads).map(([c, runs]) => [c, summarizeLoads(runs)]));
    record.latencyC1 = summarizeProbes(probes);
  });
}

/** An import-cost subject: what the import costs at start (cold start) and per request (latency at c=1). */
export function measureImport(subject, ctx, profile, step) {
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, mode: subject.mode, costMs: subject.costMs, error: null };
  return measureStarted(subject, ctx, profile, step, record, async (server, url, rest) => {
    step('warm-up (discarded)');
    await probeLatency({ url, connections: 1, durationS: 0, minRequests: 3 }, server.firstBody);
    const probes = [];
    for (let round = 0; round < profile.runs; round++) {
      step(`latency c=1, run ${round + 1}/${profile.runs}`);
      // A CGI request pays the import every time: fewer samples, or the sweep alone would take minutes.
      const minRequests = subject.mode === 'cgi' ? Math.ceil(profile.probeMinRequests / 2) : profile.probeMinRequests;
      probes.push(await probeLatency({ url, connections: 1, durationS: profile.probeS, minRequests }, server.firstBody));
      await settle(server.tree, rest.count);
    }
    record.latencyC1 = summarizeProbes(probes);
  });
}

/**
 * What watching costs: the pool's hello at c=64 with the status page open (one client polling its JSON every
 * second, as the page does) and without, alternating, on one server.
 */
export function measureStatusOverhead(subject, ctx, profile, step) {
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, error: null };
  return measureStarted(subject, ctx, profile, step, record, async (server, url, rest) => {
    step('warm-up (discarded)');
    await warmUp(subject, server, url, profile, 16);
    const statusUrl = new URL('/-/status?format=json', url).href;
    const runs = { watched: [], unwatched: [] };
    for (let round = 0; round < profile.runs; round++) {
      // ABBA: each round starts with the side the last one ended on, so a machine that drifts during a round
      // does not always favour the same side.
      for (const watched of round % 2 === 0 ? [false, true] : [true, false]) {
        step(`c=64 ${watched ? 'with' : 'without'} the status page polled, run ${round + 1}/${profile.runs}`);
        let polling = watched;
        const poller = (async () => {
          while (polling) {
            const r = await fetch(statusUrl);
            if (!r.ok) throw new Error(`status JSON answered ${r.status}`);
            await r.json();
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        })();
        try {
          runs[watched ? 'watched' : 'unwatched'].push(await runLoad({ url, connections: 64, durationS: profile.loadS, expectBody: server.firstBody, tree: server.tree, idleCount: rest.count }));
        } finally {
          polling = false;
          await poller;
        }
      }
    }
    for (const [k, rs] of Object.entries(runs)) record[k] = summarizeLoads(rs);
  });
}

/** The failure, with the end of the server's log when there is one. */
export function errorText(e, server) {
  const log = server ? `\n--- ${server.name} log (last lines; all of it in ${server.keepLog()}) ---\n${server.logTail()}` : '';
  return `${e instanceof Error ? e.message : String(e)}${log}`;
}

/**
 * The load generator's cross-check: bare node:http under wrk and under autocannon's CLI, alternating, at c=64. If
 * autocannon reaches less than 0.9× of wrk's rate it, not the server, bounds what it measures.
 */
export function measureLoadgen(subject, ctx, profile, step) {
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, error: null };
  return measureStarted(subject, ctx, profile, step, record, async (server, url, rest) => {
    step('warm-up (discarded)');
    await warmUp(subject, server, url, profile, 16);
    const runs = { wrk: [], autocannon: [] };
    for (let round = 0; round < profile.runs; round++) {
      for (const generator of ['wrk', 'autocannon']) {
        step(`${generator} c=64, run ${round + 1}/${profile.runs}`);
        runs[generator].push(await runLoad({ url, connections: 64, durationS: profile.loadS, expectBody: server.firstBody, tree: server.tree, idleCount: rest.count, generator }));
      }
    }
    for (const [g, rs] of Object.entries(runs)) record[g] = summarizeLoads(rs);
  });
}
