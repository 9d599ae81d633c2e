// The ratios that answer the issues' questions, and the targets (issue 5 §4, issue 6 §2) judged from figures
// measured in the same run. A missing figure (subject not run, or failed) gives `null`, never a guess.
import { floorParallel } from './floor.mjs';
import { designHoldMb, importCostsMs, spawnDesigns } from './subjects.mjs';

/** lighttpd mod_cgi on hello.sh, c=8, this project's machine kind (shared/notes/cgi-mode.md): issue 6's aim. */
export const lighttpdReferenceRps = 2090;

const ok = (s) => s && !s.error;
const rps = (s, c) => (ok(s) ? s.throughput?.[c]?.rps?.median : undefined);
const p50 = (s) => (ok(s) ? s.latencyC1?.p50Ms?.median : undefined);
const meanC1 = (s) => (ok(s) ? s.latencyC1?.meanMs?.median : undefined);
const cold = (s) => (ok(s) ? s.coldStartMs?.median : undefined);
const p99 = (s) => (ok(s) ? s.latencyC1?.p99Ms?.median : undefined);
const cpuPer = (s, c) => (ok(s) ? s.throughput?.[c]?.cpuMsPerRequest?.median : undefined);
const div = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : null);
const sub = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? a - b : null);

/**
 * Requests after which the pool's higher start-up has paid for itself: its extra cold start ÷ what each request
 * saves at c=1. 0 when the pool does not start slower; Infinity when a request saves nothing.
 */
export function breakEven(poolCold, cgiCold, poolMs, cgiMs) {
  if (![poolCold, cgiCold, poolMs, cgiMs].every(Number.isFinite)) return null;
  const extra = poolCold - cgiCold;
  const saved = cgiMs - poolMs;
  if (extra <= 0) return { requests: 0, extraColdMs: extra, savedMsPerRequest: saved };
  if (saved <= 0) return { requests: Infinity, extraColdMs: extra, savedMsPerRequest: saved };
  return { requests: Math.ceil(extra / saved), extraColdMs: extra, savedMsPerRequest: saved };
}

/** A target: `op` is '>=' or '<='; must/aim statuses are 'MET', 'MISSED' or 'n/a' (no figure, or no aim). */
function target({ id, issue, label, value, op, must, aim, unit = '×', note = '', counts = true }) {
  const meets = (bound) => (bound == null || value == null ? 'n/a' : (op === '>=' ? value >= bound : value <= bound) ? 'MET' : 'MISSED');
  return { id, issue, label, value, op, must, aim: aim ?? null, unit, mustStatus: meets(must), aimStatus: meets(aim), note, counts };
}

export function deriveFigures(subjects, { spawners }) {
  const s = subjects;
  const atCores = floorParallel;
  const ratios = [];
  const add = (id, label, value, detail = '') => ratios.push({ id, label, value, detail });

  // Issue 11: against the real limits — bare node:http sending the same bytes, and the peers.
  const pool = s['pool-hello'];
  const bare = s['ceiling-hello'];
  add('pool-vs-ceiling-hello-c64', 'pool ÷ bare node:http, hello, req/s at c=64', div(rps(pool, 64), rps(bare, 64)));
  add('adapter-vs-ceiling-hello-c64', 'in-process adapter ÷ bare node:http, hello, req/s at c=64 (the adapter alone)', div(rps(s['adapter-hello'], 64), rps(bare, 64)));
  add('pool-vs-adapter-hello-c64', 'pool ÷ in-process adapter, hello, req/s at c=64 (the thread hop alone)', div(rps(pool, 64), rps(s['adapter-hello'], 64)));
  for (const peer of ['uwsgi', 'gunicorn', 'piscina']) add(`pool-vs-${peer}-c64`, `pool ÷ ${peer}, hello, req/s at c=64`, div(rps(pool, 64), rps(s[`${peer}-hello`], 64)));
  add('pool-cpu-vs-ceiling-c64', 'server CPU per request, pool ÷ bare node:http, hello, c=64', div(cpuPer(pool, 64), cpuPer(bare, 64)));
  add('pool-minus-ceiling-p50-hello', 'pool p50 − bare node:http p50, hello, c=1 (ms)', sub(p50(pool), p50(bare)));
  add('pool-vs-ceiling-p99-hello', 'pool p99 ÷ bare node:http p99, hello, c=1', div(p99(pool), p99(bare)));
  add('pool-vs-adapter-add-c64', 'pool ÷ in-process adapter (bare node:http calling the same app), add, req/s at c=64', div(rps(s['pool-add'], 64), rps(s['adapter-add'], 64)));
  add('pool-minus-adapter-p50-hello', 'pool p50 − adapter p50, hello, c=1 (ms)', sub(p50(pool), p50(s['adapter-hello'])));
  const so = s['status-overhead'];
  add('status-watched-vs-unwatched-c64', 'pool hello req/s at c=64, status page polled ÷ not (issue 14: ≥ 0.95)', ok(so) ? div(so.watched?.rps?.median, so.unwatched?.rps?.median) : null);
  const lg = s['loadgen-check'];
  add('autocannon-vs-wrk', 'autocannon ÷ wrk on bare node:http, req/s at c=64 (below 0.9: autocannon is the bottleneck)', ok(lg) ? div(lg.autocannon?.rps?.median, lg.wrk?.rps?.median) : null);
  // Per-request cost = 1 / throughput, so cost ÷ floor cost = floor rps ÷ gateway rps. The floor is xargs at
  // full parallelism with no client; the gateway's cost is its rate at its best measured concurrency (the way the
  // issue compares lighttpd at c=64 with xargs -P2). At c=cores the gateway is bound by HTTP round trips in
  // series rather than by cost; that figure is reported beside it.
  const floorRps = (name) => (ok(s[name]) ? s[name].rps?.median : undefined);
  const bestRps = (x) => {
    const all = ok(x) ? Object.values(x.throughput ?? {}).map((t) => t?.rps?.median).filter(Number.isFinite) : [];
    return all.length ? Math.max(...all) : undefined;
  };
  const cgiVsFloor = [
    ['cgi-add', 'floor-add', 'add app, node child'],
    ['cgi-hello', 'floor-hello', 'hello app, node child'],
    ['cgi-bin-sh', 'floor-sh', 'hello.sh'],
    ['cgi-bin-js', 'floor-js', 'hello.js'],
  ];
  for (const [cgi, floor, what] of cgiVsFloor) {
    add(`cgi-vs-floor-${cgi}`, `CGI per-request cost ÷ raw-spawn floor, ${what}, gateway at its best concurrency`, div(floorRps(floor), bestRps(s[cgi])));
    add(`cgi-vs-floor-${cgi}-c${atCores}`, `the same at c=${atCores} (round trips in series)`, div(floorRps(floor), rps(s[cgi], atCores)));
  }
  // Issue 6's spawn designs, no HTTP: each design's spawns/s as a share of the xargs floor on the same script, and
  // what holding memory in the calling process did to it.
  const designRps = (design, mb) => (ok(s[`designs-${design}-${mb}mb`]) ? s[`designs-${design}-${mb}mb`].perSecond?.median : undefined);
  const [noHold, heldMb] = [designHoldMb[0], designHoldMb[designHoldMb.length - 1]];
  for (const design of spawnDesigns) {
    for (const mb of designHoldMb) add(`design-${design}-${mb}-vs-floor`, `spawn design ${design}, caller holding ${mb} MiB: spawns/s ÷ xargs floor (hello.sh, no HTTP)`, div(designRps(design, mb), floorRps('floor-sh')));
    add(`design-${design}-held-vs-empty`, `spawn design ${design}: spawns/s with ${heldMb} MiB held ÷ with ${noHold} MiB`, div(designRps(design, heldMb), designRps(design, noHold)));
  }
  for (const app of ['hello', 'add']) add(`pool-vs-cgi-${app}`, `pool ÷ CGI mode, ${app}, req/s at c=16`, div(rps(s[`pool-${app}`], 16), rps(s[`cgi-${app}`], 16)));
  add('sh-vs-python-c16', 'sh via CGI-mode front ÷ python http.server --cgi, req/s at c=16', div(rps(s['cgi-bin-sh'], 16), rps(s['python-sh'], 16)));
  add('sh-vs-lighttpd-c16', 'sh via CGI-mode front ÷ lighttpd mod_cgi, req/s at c=16', div(rps(s['cgi-bin-sh'], 16), rps(s['lighttpd-sh'], 16)));

  // Break-even, from the c=1 mean time per request of the latency probe.
  const breakEvens = { add: breakEven(cold(s['pool-add']), cold(s['cgi-add']), meanC1(s['pool-add']), meanC1(s['cgi-add'])) };
  for (const ms of importCostsMs) {
    const [p, c] = [s[`import-pool-${ms}`], s[`import-cgi-${ms}`]];
    breakEvens[`import-${ms}`] = breakEven(cold(p), cold(c), meanC1(p), meanC1(c));
  }

  const r = (id) => ratios.find((x) => x.id === id)?.value ?? null;
  const targets = [
    target({ id: 'pool-vs-bare', issue: '11', label: 'pool hello req/s at c=64 ÷ bare node:http', value: r('pool-vs-ceiling-hello-c64'), op: '>=', must: 0.75, aim: 1.0 }),
    target({ id: 'pool-vs-uwsgi', issue: '11', label: 'pool hello req/s at c=64 ÷ uWSGI (2 processes)', value: r('pool-vs-uwsgi-c64'), op: '>=', must: 1.3, aim: 2, note: ok(s['uwsgi-hello']) ? '' : 'uWSGI not measured in this run' }),
    target({ id: 'pool-cpu', issue: '11', label: 'server CPU per request at c=64, pool ÷ bare node:http', value: r('pool-cpu-vs-ceiling-c64'), op: '<=', must: 2, aim: 1.3 }),
    target({ id: 'pool-p50', issue: '11', label: 'p50 at c=1, pool − bare node:http', value: r('pool-minus-ceiling-p50-hello'), op: '<=', must: 0.1, aim: 0.05, unit: 'ms' }),
    target({ id: 'pool-p99', issue: '11', label: 'p99 at c=1, pool ÷ bare node:http', value: r('pool-vs-ceiling-p99-hello'), op: '<=', must: 2, aim: 1.3 }),
    target({ id: 'pool-rss-idle', issue: '11', label: 'RSS of the whole pool-mode server (2 workers, hello), idle', value: ok(pool) ? pool.idleRssMb : null, op: '<=', must: 70, aim: 60, unit: 'MiB' }),
    target({ id: 'pool-rss-peak', issue: '11', label: 'RSS of the whole pool-mode server (2 workers, hello), peak over the loads up to c=64', value: ok(pool) ? pool.peakRssMb : null, op: '<=', must: 120, aim: 100, unit: 'MiB' }),
    target({ id: 'pool-add', issue: '11', label: 'add app req/s at c=64, pool ÷ bare node:http calling the same app in-process', value: r('pool-vs-adapter-add-c64'), op: '>=', must: 0.6, aim: 0.8 }),
    target({ id: 'load-generator', issue: '11', label: 'autocannon ÷ wrk on bare node:http, c=64 (the throughput figures come from wrk when it is installed)', value: r('autocannon-vs-wrk'), op: '>=', must: null, aim: 0.9, note: ok(lg) ? '' : 'wrk not installed: autocannon generated the load unchecked', counts: false }),
    target({ id: 'status-overhead', issue: '14', label: 'pool hello req/s at c=64 with the status page polled every second ÷ without', value: r('status-watched-vs-unwatched-c64'), op: '>=', must: 0.95 }),
    target({ id: 'pool-dispatch', issue: '5 §4', label: 'Pool dispatch: pool ÷ in-process adapter (the thread hop), hello, req/s at c=64', value: r('pool-vs-adapter-hello-c64'), op: '>=', must: 0.5, aim: 0.75 }),
    target({ id: 'pool-latency', issue: '5 §4', label: 'Pool latency: pool p50 − in-process adapter p50, hello, c=1', value: r('pool-minus-adapter-p50-hello'), op: '<=', must: 0.15, aim: 0.05, unit: 'ms' }),
    target({ id: 'cgi-overhead-node', issue: '5 §4', label: 'CGI overhead, node app (add): per-request cost ÷ floor (gateway at its best concurrency)', value: r('cgi-vs-floor-cgi-add'), op: '<=', must: 1.5, aim: 1.15 }),
    target({ id: 'cgi-overhead-sh', issue: '5 §4', label: 'CGI overhead, hello.sh: per-request cost ÷ floor (gateway at its best concurrency)', value: r('cgi-vs-floor-cgi-bin-sh'), op: '<=', must: 2, aim: 1.15 }),
    target({ id: 'sh-vs-python', issue: '5 §4', label: "hello.sh, CGI-mode front ÷ Python's http.server --cgi, req/s at c=16", value: r('sh-vs-python-c16'), op: '>=', must: 2 }),
  ];
  const mem = s.memory;
  for (const [key, what] of [['stream', '1 GiB streamed response'], ['upload', '100 MiB upload']]) {
    const growth = ok(mem) && mem.streamBytes >= (key === 'stream' ? 1024 ** 3 : 100 * 1024 ** 2) ? mem[key]?.growthMb?.max : null;
    targets.push(target({ id: `memory-${key}`, issue: '5 §4', label: `Memory: ${what}, pool mode, growth of the tree's peak RSS (worst run)`, value: growth ?? null, op: '<=', must: 64, unit: 'MiB', note: growth == null && ok(mem) ? 'smaller transfer in this mode' : '' }));
  }

  // Issue 6's aim: lighttpd on this machine in this run when it ran, else the figure from the notes.
  const lighttpdMeasured = rps(s['lighttpd-sh'], 8);
  const lighttpd8 = lighttpdMeasured ?? lighttpdReferenceRps;
  const lighttpdNote = lighttpdMeasured ? 'lighttpd measured in this run (lighttpd-sh, c=8)' : 'lighttpd: reference figure from shared/notes/cgi-mode.md (not measured in this run)';
  for (const spawner of spawners) {
    const label = spawner ?? 'default';
    const counts = label !== 'direct'; // the direct path is the comparison; the helper (or the only path) is judged
    const sh8 = (mb) => (ok(s[`sweep-${mb}mb-${label}`]) ? s[`sweep-${mb}mb-${label}`].scripts?.sh?.[8]?.rps?.median : undefined);
    const inter = s[`interference-${label}`];
    const p99Ratio = ok(inter) ? div(inter.beside?.p99Ms?.median, inter.alone?.p99Ms?.median) : null;
    add(`sweep-400-vs-0-${label}`, `sh req/s at c=8, 400 MiB held ÷ nothing held, spawner ${label}`, div(sh8(400), sh8(0)));
    add(`p99-beside-cgi-${label}`, `pool p99 beside CGI load ÷ alone, 400 MiB, spawner ${label}`, p99Ratio);
    targets.push(
      target({ id: `spawn-vs-size-${label}`, issue: '6 §2', label: `sh CGI req/s with 400 MiB loaded ÷ with nothing loaded (c=8), spawner ${label}`, value: r(`sweep-400-vs-0-${label}`), op: '>=', must: 0.9, counts }),
      target({ id: `p99-beside-cgi-${label}`, issue: '6 §2', label: `pool p99 (hello, c=8) beside sh CGI load ÷ without, 400 MiB, spawner ${label}`, value: p99Ratio, op: '<=', must: 1.5, counts }),
      target({ id: `sh-vs-lighttpd-${label}`, issue: '6 §2', label: `aim: sh CGI req/s (c=8, 400 MiB held) ≥ lighttpd mod_cgi, spawner ${label}`, value: sh8(400) ?? null, op: '>=', must: null, aim: lighttpd8, unit: 'req/s', note: lighttpdNote, counts }),
    );
  }
  return { ratios, targets, breakEven: breakEvens, lighttpdRps: { value: lighttpd8, measured: Boolean(lighttpdMeasured) } };
}
