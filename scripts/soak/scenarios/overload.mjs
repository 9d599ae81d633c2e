// Overload: ten times the concurrency the pool and the CGI cap can serve, at once → only 200s and 503s with
// Retry-After; admitted requests answered within a bound; memory bounded; the next request after the flood at
// normal speed.
import { soakApp, soakCgiDir, startGateway, warmIdleRss } from '../gateway.mjs';
import { addTally, flood, newTally, percentile, request } from '../load.mjs';
import http from 'node:http';

const workers = 2;
const maxQueue = 20;
const maxCgi = 8;

async function quietLatencyMs(base) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ms = [];
  for (let i = 0; i < 30; i++) ms.push((await request(agent, `${base}/hello/`, { boundMs: 5_000 })).ms ?? Infinity);
  agent.destroy();
  return percentile(ms, 0.5);
}

export async function overload({ seconds }) {
  const g = await startGateway(['--mode', 'pool', '--app', `/hello=${soakApp('hello')}`, '--cgi-dir', soakCgiDir,
    '--workers', String(workers), '--max-queue', String(maxQueue), '--max-cgi', String(maxCgi)]);
  const before = await quietLatencyMs(g.url);
  const idleRss = await warmIdleRss(g, ['/hello/', '/cgi-bin/hello.sh'], { flood });
  g.tree.resetPeak();
  g.tree.startSampling(100);
  // The pool admits workers × 1 running + the queue; CGI admits --max-cgi running + the queue.
  const poolClients = 10 * (workers + maxQueue);
  const cgiClients = 10 * (maxCgi + maxQueue);
  const durationMs = seconds * 1000;
  const [pool, cgi] = await Promise.all([
    flood(g.url, '/hello/', { concurrency: poolClients, durationMs, expect: 'hello', boundMs: 30_000 }),
    flood(g.url, '/cgi-bin/hello.sh', { concurrency: cgiClients, durationMs, expect: 'hello', boundMs: 30_000 }),
  ]);
  g.tree.stopSampling();
  const after = await quietLatencyMs(g.url);
  const tally = addTally(addTally(newTally(), pool), cgi);
  const statuses = Object.keys(tally.byStatus).map(Number);
  const p99 = percentile(tally.latenciesMs, 0.99);
  const peakRss = g.tree.peakRssBytes;
  const checks = [
    ['only 200 and 503 answers', statuses.every((s) => s === 200 || s === 503), statuses.join(', ')],
    ['every 503 carries Retry-After', tally.without503RetryAfter === 0, `${tally.without503RetryAfter} without`],
    ['both 200s and 503s (the flood did overload it)', (tally.byStatus[200] ?? 0) > 0 && (tally.byStatus[503] ?? 0) > 0, `${tally.byStatus[200] ?? 0} / ${tally.byStatus[503] ?? 0}`],
    ['admitted requests answered within 5 s (p99)', p99 < 5_000, `p99 ${p99.toFixed(0)} ms`],
    ['memory bounded: peak RSS under idle + 200 MiB', peakRss < idleRss + 200 * 1024 ** 2, `${mib(idleRss)} → ${mib(peakRss)} MiB`],
    ['after the flood, a request at normal speed (median of 30 within 3× before + 2 ms)', after <= 3 * before + 2, `${before.toFixed(2)} → ${after.toFixed(2)} ms`],
  ];
  return { gateway: g, tally, idleRss, peakRss, checks, detail: `${poolClients} pool + ${cgiClients} CGI clients for ${seconds} s` };
}

export const mib = (b) => (b / 1024 ** 2).toFixed(0);
