// Issue 6 §2: /cgi-bin/ scripts served by a pool-mode front whose workers hold 0, 200 or 400 MiB (does spawning
// slow down as the front grows?), and a pool request's p99 with and without CGI load beside it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { LoadError, runLoad, settle } from './load.mjs';
import { errorText, launch, summarizeProbes } from './measure.mjs';
import { probeLatency } from './probe.mjs';
import { get } from './server.mjs';
import { summarize } from './stats.mjs';

const MiB = 1024 * 1024;

/** The exact body of a script's answer, checked first: a wrong answer fails the subject before any timing. */
async function checkedBody(base, check) {
  const a = await get(base + check.path);
  if (a.status !== 200 || !a.body.includes(check.contains)) throw new Error(`${check.path}: ${a.status} ${JSON.stringify(a.body.slice(0, 200))}`);
  return a.body;
}

/** req/s and p99 of sh and js at each concurrency, and the front's idle size (does the ballast really hold?). */
export async function measureSweep(subject, ctx, profile, step) {
  const scripts = profile.sweepScripts ?? Object.keys(subject.scripts);
  const concurrencies = profile.sweepConcurrencies ?? subject.concurrencies;
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, mb: subject.mb, spawner: subject.spawner, error: null };
  let server = null;
  try {
    step('start');
    server = await launch(subject, ctx);
    record.command = server.command;
    record.coldStartMs = { runs: [server.coldStartMs] };
    const rest = server.tree.sample();
    record.idleRssMb = rest.rssBytes / MiB;
    server.tree.resetPeak();
    server.tree.startSampling(50);
    record.scripts = {};
    for (const name of scripts) {
      const check = subject.scripts[name];
      const url = server.url + check.path;
      const body = await checkedBody(server.url, check);
      step(`${name}: warm-up (discarded)`);
      if (profile.warmupS > 0) await runLoad({ url, connections: 8, durationS: Math.min(profile.warmupS, 0.5), expectBody: body });
      await settle(server.tree, rest.count);
      const loads = Object.fromEntries(concurrencies.map((c) => [c, []]));
      for (let round = 0; round < profile.runs; round++) {
        for (const c of concurrencies) {
          step(`${name}: c=${c}, run ${round + 1}/${profile.runs}`);
          const durationS = check.slow ? profile.sweepSlowLoadS : profile.sweepLoadS;
          loads[c].push(await runLoad({ url, connections: c, durationS, expectBody: body, tree: server.tree, idleCount: rest.count }));
        }
      }
      record.scripts[name] = Object.fromEntries(
        Object.entries(loads).map(([c, runs]) => [c, { runs, rps: summarize(runs.map((r) => r.rps)), p99Ms: summarize(runs.map((r) => r.latencyMs.p99)), cpuMsPerRequest: summarize(runs.map((r) => r.cpuMsPerRequest)) }]),
      );
    }
    server.tree.stopSampling();
    record.peakRssMb = server.tree.peakRssBytes / MiB;
  } catch (e) {
    record.error = errorText(e, server);
  } finally {
    await server?.stop();
  }
  return record;
}

/**
 * Starts background-load.mjs against `url` and resolves once it has its first answer; `stop()` ends it and
 * resolves with its result. A separate process, so the load does not share the probe's event loop.
 */
async function backgroundLoad(ctx, url, connections, expectBody) {
  const child = spawn(process.execPath, [path.join(ctx.benchDir, 'background-load.mjs'), url, String(connections), expectBody], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  let wake = null;
  lines.on('line', (l) => {
    queue.push(JSON.parse(l));
    wake?.();
  });
  const exited = new Promise((r) => child.once('exit', r));
  const next = async () => {
    while (!queue.length) {
      const gone = await Promise.race([new Promise((r) => (wake = r)), exited.then(() => 'exit')]);
      if (gone === 'exit' && !queue.length) throw new LoadError('background load exited without a result');
    }
    return queue.shift();
  };
  const first = await next();
  if (!first.running) throw new LoadError(`background load: ${JSON.stringify(first)}`);
  return {
    async stop() {
      child.kill('SIGTERM');
      const result = await next();
      await exited;
      if (result.error || result.failures) throw new LoadError(`background CGI load failed: ${JSON.stringify(result)}`);
      return result;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/** Pool-request latency (hello, c=8) alone, then with sh load beside it; alternated per round. */
export async function measureInterference(subject, ctx, profile, step) {
  const record = { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, mb: subject.mb, spawner: subject.spawner, error: null };
  let server = null;
  let background = null;
  try {
    step('start');
    server = await launch(subject, ctx);
    record.command = server.command;
    const rest = server.tree.sample();
    record.idleRssMb = rest.rssBytes / MiB;
    const helloUrl = server.url + subject.hello.path;
    const helloBody = await checkedBody(server.url, subject.hello);
    const shUrl = server.url + subject.sh.path;
    const shBody = await checkedBody(server.url, subject.sh);
    const c = subject.connections;
    step('warm-up (discarded)');
    await probeLatency({ url: helloUrl, connections: c, durationS: profile.warmupS, minRequests: 50 }, helloBody);
    const alone = [];
    const beside = [];
    const cgiRates = [];
    for (let round = 0; round < profile.runs; round++) {
      step(`pool p99 alone, run ${round + 1}/${profile.runs}`);
      alone.push(await probeLatency({ url: helloUrl, connections: c, durationS: profile.probeS, minRequests: 100 }, helloBody));
      step(`pool p99 beside CGI load, run ${round + 1}/${profile.runs}`);
      background = await backgroundLoad(ctx, shUrl, c, shBody);
      beside.push(await probeLatency({ url: helloUrl, connections: c, durationS: profile.probeS, minRequests: 100 }, helloBody));
      const bg = await background.stop();
      background = null;
      cgiRates.push(bg.rps);
      await settle(server.tree, rest.count);
    }
    record.alone = summarizeProbes(alone);
    record.beside = summarizeProbes(beside);
    record.cgiRps = { runs: cgiRates, ...summarize(cgiRates) };
  } catch (e) {
    record.error = errorText(e, server);
  } finally {
    background?.kill();
    await server?.stop();
  }
  return record;
}
