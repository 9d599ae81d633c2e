// BENCHMARKS.md from one run's results: the machine, the method, one table per question, the targets, the
// charts, and an explanation written from the measured numbers.
import { auto, fmt, spread, table, withUnit } from './format.mjs';
import { lighttpdReferenceRps } from './ratios.mjs';
import { explain } from './story.mjs';
import { ballastMb, designHoldMb, importCostsMs, spawnDesigns } from './subjects.mjs';

const good = (s) => s && !s.error;
const serverOrder = ['ceiling-hello', 'adapter-hello', 'pool-hello', 'uwsgi-hello', 'gunicorn-hello', 'piscina-hello', 'adapter-add', 'pool-add', 'cgi-hello', 'cgi-add', 'cgi-bin-sh', 'cgi-bin-js', 'python-sh', 'lighttpd-sh'];

/** `charts`: file name → path relative to the report; `notes`: the text of scripts/bench/notes.md or null. */
export function writeReport(results, { charts, notes }) {
  const s = results.subjects;
  const m = results.method;
  const servers = serverOrder.filter((n) => s[n]);
  const img = (file, alt) => (charts[file] ? `\n![${alt}](${charts[file]})\n` : '');
  const out = [];
  const p = (...lines) => out.push(...lines, '');

  p('# Benchmarks');
  const kind = results.partial ? `a **partial run** (${results.profile}${results.only.length ? `, --only ${results.only.join(',')}` : ''}) — not the committed full run` : 'a full run';
  p(`Written by \`npm run bench\` from ${kind}, on ${results.startedAt.slice(0, 10)}, in ${fmt(results.wallS / 60, 1)} min (seed ${results.seed}; subject order below).`,
    'Every figure comes from this one run; compare ratios, not absolute numbers, across machines. Raw figures of every run:',
    `\`${results.resultsFile}\` (compare two runs with \`npm run bench -- --compare A.json B.json\`).`);

  const busy = results.machine.loadAverage[0];
  if (busy > 0.5) p(`> The machine was not idle when the run began (1-minute load average ${busy.toFixed(2)} on ${results.machine.cores} cores): absolute figures may be noisy.`);

  const errors = Object.values(s).filter((r) => r.error);
  if (errors.length) {
    p('## Errors', 'These subjects failed; their figures are missing below and the bench exited non-zero.',
      table(['subject', 'error'], errors.map((r) => [`**${r.name}**`, `ERROR: ${r.error.split('\n')[0]}`])));
  }

  const mc = results.machine;
  const v = results.versions;
  p('## Machine',
    table(['', ''], [
      ['CPU', `${mc.cpuModel}, ${mc.cores} cores`], ['memory', `${fmt(mc.ramGiB, 0)} GiB`], ['OS', `${mc.os}, kernel ${mc.kernel}`],
      ['load average at start', mc.loadAverage.map((x) => x.toFixed(2)).join(', ')],
      ['Node / npm', `${v.node} / ${v.npm ?? '–'}`], ['load generator', results.generator === 'wrk' ? `wrk ${v.wrk ?? ''} (autocannon ${v.autocannon} for HTTP/1.0 peers and the cross-check)` : `autocannon ${v.autocannon} (wrk not found)`], ['Python', v.python ?? 'not found: peer row skipped'],
      ['uWSGI', v.uwsgi ?? 'not found: peer row skipped'], ['gunicorn', v.gunicorn ?? 'not found: peer row skipped'],
      ['lighttpd', v.lighttpd ?? 'not found: peer row skipped'], ['/bin/sh', v.sh ?? '–'],
      ['gatehouse', `${v.gatehouse} at ${v.gatehouseCommit ?? '?'}${v.gatehouseDirty ? ' (src/ has uncommitted changes)' : ''}`],
      ['spawn paths', results.spawner.flag
        ? `\`--spawner helper\` (the default) and \`--spawner direct\`${results.spawner.helperBuilt ? '' : '; **the helper binary is not built, so `helper` fell back to forking from the front**'}`
        : 'the gateway has no `--spawner` flag yet: only its one spawn path is measured'],
    ]));

  const share = results.loadGenerator?.cpuShare;
  p('## Method',
    [
      '- Every subject is a real server process on 127.0.0.1, started by the bench in its own process group, its output going to a temp file. Readiness is polled (the `listening` log line, then the first correct answer), never slept on; the whole tree (the server and every descendant) is killed in `finally`, and between runs the bench waits until the tree is quiet (back to its idle process count, no CPU used for 100 ms), so requests cut at the end of a run cannot spill into the next.',
      '- Before anything is timed, each subject must answer correctly (status and body); every response under load must then carry exactly that body. Any non-2xx, socket error, timeout, wrong body, or request the server dropped without answering (autocannon re-sends those silently, so the bench compares requests sent with answers; wrk runs a Lua check of the status and body of every answer) fails the subject loudly: an error row and a non-zero exit, never a number.',
      `- Subjects run in shuffled order (seed ${results.seed}), except that each baseline (a ceiling, a floor) runs right after the subject it is the baseline of, so both sides of a ratio see the same machine (the speed of this shared machine drifts by more than the margins judged): ${results.order.join(', ')}.`,
      `- **Cold start**: launch → first correct answer, median of ${m.coldRuns}. One discarded warm-up load per server (${m.warmupS} s).`,
      `- **Throughput**: ${results.generator === 'wrk' ? 'wrk (one thread)' : 'autocannon\'s CLI'}, ${m.loadS} s per run (${m.slowLoadS} s for subjects under ~100 req/s, ${m.sweepLoadS} s in the issue-6 sweep, ${m.sweepSlowLoadS} s for hello.js there), in ${m.runs} rounds over the concurrencies; each figure is the median of ${m.runs} runs with its spread (min–max, small print). Rates are completed requests ÷ run time.`,
      `- **Latency at c=1**: a raw-socket keep-alive client timing every request with \`process.hrtime\` (autocannon's histogram holds whole milliseconds), ${m.probeS} s or at least ${m.probeMinRequests} requests per run; p50/p99 are medians over ${m.runs} runs. The table also gives autocannon's c=1 time per request (run time ÷ count).`,
      `- **Floors**: the same program spawned N times by \`xargs -P ${m.floorParallel} -n1\` with the CGI environment and output to /dev/null, no Node and no HTTP in the loop; N calibrated so one run lasts ~${m.floorS} s; one run's output is checked first. The gateway's per-request cost is 1 ÷ its rate at its best measured concurrency (both sides then run flat out, as when lighttpd at c=64 is set against \`xargs -P 2\`); its rate at c=${m.floorParallel}, where HTTP round trips run in series, is in the ratios too.`,
      `- **Import cost**: \`scripts/bench/apps/import-cost.mjs\` busy-waits \`BENCH_IMPORT_MS\` of CPU when imported; the bench sets it on the gateway (pool workers inherit the front's environment) and with \`--set-env\` (CGI children get a clean environment). **Issue 6 sweep**: \`scripts/bench/apps/ballast.mjs\` allocates and touches \`BENCH_BALLAST_MB\` MiB in each of the 2 pool workers.`,
      '- **Floors run as the bench\'s user**; when the bench runs as root the gateway runs scripts as `--cgi-user` (nobody), which adds a setuid/setgid to each spawn — negligible next to the spawn itself.',
      '- **Memory**: the sum of RSS over the server tree, sampled from /proc every 50 ms (shared pages count once per process, as `ps` shows them); the memory check also resets each process\'s kernel high-water mark and takes the larger of the two.',
      '- **CPU per request**: utime+stime+cutime+cstime of every process in the tree (reaped children land in their parent\'s cutime), the difference over a run ÷ requests completed.',
      `- **The load generator** is its own process (never the bench's), its CPU read from /proc; it competes with the server for the ${mc.cores} cores and used ${share ? `${fmt(share.median * 100, 0)} % (runs ${fmt(share.min * 100, 0)}–${fmt(share.max * 100, 0)} %)` : '–'} of the machine during load runs. With wrk installed, \`loadgen-check\` runs the ceiling under wrk and under autocannon: the ratio shows whether autocannon could have been the bottleneck. **The ceiling is bare \`node:http\` sending the same bytes** (\`scripts/bench/bare.mjs\`); the in-process adapter (\`ceiling.mjs\`: the gateway's environ and runApp, no thread hop) is a second, labelled line, so the report shows how much of the pool's cost is the adapter and how much the hop.`,
    ].join('\n'));

  const shown = (cmd) => cmd?.replaceAll(results.root, '.').replaceAll(process.execPath, 'node');
  p('## Subjects', 'Each row is a server (or, for floors and spawn designs, a command) started by the bench; `--only NAME` runs one.',
    table(['name', 'what', 'command'], results.order.map((n) => [n, s[n]?.title ?? '', s[n]?.command ? `\`${shown(s[n].command)}\`` : '–'])));

  p('## Targets',
    'Issues 5 §4, 6 §2 and 11, judged from this run. "must" is what the issue requires, "aim" what to chase with profiling.',
    table(['issue', 'target', 'measured', 'must', '', 'aim', ''],
      results.derived.targets.map((t) => [t.issue, `${t.label}${t.counts ? '' : ' *(comparison only)*'}${t.note ? ` — ${t.note}` : ''}`, withUnit(t.value, t.unit),
        t.must == null ? '–' : `${symbol[t.op]} ${withUnit(t.must, t.unit)}`, badge(t.mustStatus), t.aim == null ? '–' : `${symbol[t.op]} ${withUnit(t.aim, t.unit)}`, badge(t.aimStatus)]),
      'llrrlrl'));

  p('## Cold start', 'From launching the server process to its first correct answer (pool mode: import check, workers started and warm; CGI mode: import check, then one child for the request).',
    table(['subject', 'ms', 'runs'], servers.filter((n) => good(s[n])).map((n) => [s[n].title, spread(s[n].coldStartMs), s[n].coldStartMs?.n ?? '–']), 'lrr'));

  p('## Latency at c=1',
    table(['subject', 'p50 ms', 'p99 ms', 'mean ms', 'autocannon ms/request', 'requests per run'],
      servers.filter((n) => good(s[n])).map((n) => {
        const l = s[n].latencyC1;
        return [s[n].title, spread(l?.p50Ms), spread(l?.p99Ms), spread(l?.meanMs), spread(s[n].throughput?.[1]?.msPerRequest), fmt(Math.min(...(l?.runs ?? []).map((r) => r.count)))];
      }), 'lrrrrr'));

  const cs = [...new Set(servers.flatMap((n) => Object.keys(s[n].throughput ?? {}).map(Number)))].sort((a, b) => a - b);
  p('## Throughput by concurrency', 'Requests per second (median, spread in small print); p99 in whole ms from autocannon at the highest concurrency (not available for Python\'s HTTP/1.0 server, which closes every connection).',
    table(['subject', ...cs.map((c) => `c=${c}`), 'p99 ms at c=64'],
      servers.filter((n) => good(s[n])).map((n) => [s[n].title, ...cs.map((c) => spread(s[n].throughput?.[c]?.rps)), spread(s[n].throughput?.[64]?.p99Ms)]), `l${'r'.repeat(cs.length + 1)}`),
    img('throughput.svg', 'Throughput by subject and concurrency'));

  const floors = Object.values(s).filter((r) => r.kind === 'floor' && good(r));
  if (floors.length) {
    p('## Raw-spawn floors', `The program alone, \`xargs -P ${m.floorParallel}\`, no HTTP, no Node in the loop.`,
      table(['program', 'spawns/s', 'ms per spawn (wall ÷ N)', 'CPU ms per spawn', 'N per run'],
        floors.map((r) => [r.title, spread(r.rps), spread(r.msPerRequest), spread(r.cpuMsPerRequest), fmt(r.runs[0]?.n)]), 'lrrrr'));
  }

  p('## Memory and CPU', 'Peak RSS of the whole tree over all of the subject\'s runs; CPU per request at c=16 (the tree\'s CPU time ÷ requests).',
    table(['subject', 'idle RSS MiB', 'peak RSS MiB', 'CPU ms / request (c=16)', 'load generator CPU (max)'],
      servers.filter((n) => good(s[n])).map((n) => [s[n].title, fmt(s[n].idleRssMb), fmt(s[n].peakRssMb), spread(s[n].throughput?.[16]?.cpuMsPerRequest), `${fmt((s[n].throughput?.[16]?.loadGenCpuShare?.max ?? NaN) * 100, 0)} %`]), 'lrrrr'));
  const mem = s.memory;
  if (good(mem)) {
    p(`Memory check (\`scripts/bench/memory.mjs\`, pool mode): growth of the tree's peak RSS over its RSS just before each transfer; limit ${mem.limitMb} MiB.`,
      table(['transfer', 'growth MiB', 'worst run', 'MiB/s'], [
        [`${fmt(mem.streamBytes / 1024 ** 2)} MiB streamed response`, spread(mem.stream.growthMb), auto(mem.stream.growthMb.max), spread(mem.stream.mibPerS)],
        [`${fmt(mem.uploadBytes / 1024 ** 2)} MiB upload`, spread(mem.upload.growthMb), auto(mem.upload.growthMb.max), spread(mem.upload.mibPerS)],
      ], 'lrrr'));
  }

  p('## Ratios', table(['ratio', 'value'], results.derived.ratios.map((r) => [r.label, auto(r.value)]), 'lr'));

  const imp = (mode, ms) => s[`import-${mode}-${ms}`];
  if (importCostsMs.some((ms) => good(imp('pool', ms)) || good(imp('cgi', ms)))) {
    p('## Start-up cost: an app whose import costs 0, 20, 100 ms',
      table(['import cost', 'pool cold start ms', 'CGI cold start ms', 'pool p50 ms (c=1)', 'CGI p50 ms (c=1)', 'CGI p99 ms', 'break-even (requests)'],
        importCostsMs.map((ms) => [`${ms} ms`, spread(imp('pool', ms)?.coldStartMs), spread(imp('cgi', ms)?.coldStartMs), spread(imp('pool', ms)?.latencyC1?.p50Ms),
          spread(imp('cgi', ms)?.latencyC1?.p50Ms), spread(imp('cgi', ms)?.latencyC1?.p99Ms), fmt(results.derived.breakEven[`import-${ms}`]?.requests)]), 'lrrrrrr'),
      img('latency-vs-import.svg', 'Latency against import cost, CGI vs pool'), img('cold-start-vs-import.svg', 'Cold start against import cost'));
  }

  const be = results.derived.breakEven.add;
  p('## Break-even', be
    ? `The add app: the pool's cold start was ${auto(Math.abs(be.extraColdMs))} ms ${be.extraColdMs >= 0 ? 'longer' : 'shorter'} than CGI mode's, and each request at c=1 saved ${auto(be.savedMsPerRequest)} ms, so the pool is ahead after **${fmt(be.requests)}** request${be.requests === 1 ? '' : 's'}.`
    : 'Not measured in this run (needs pool-add and cgi-add).', img('break-even.svg', 'Break-even: cumulative time against request count'));

  writeSweep(p, results, img);
  writeDesigns(p, results);
  p('## What this means', explain(results));
  p('## Profiling notes', notes ? notes.trim() : '*None yet.* Explanations of missed aims (profiles, not guesses) go in `scripts/bench/notes.md`; the bench copies that file here on every run.');
  return `${out.join('\n').trimEnd()}\n`;
}

const symbol = { '>=': '≥', '<=': '≤' };

function badge(status) {
  return status === 'MET' ? '**MET**' : status === 'MISSED' ? '**MISSED**' : '–';
}

/** Issue 6 §2: the memory sweep table and the pool-latency-beside-CGI table. */
function writeSweep(p, results, img) {
  const s = results.subjects;
  const modes = results.spawner.modes;
  const rows = [];
  for (const spawner of modes) {
    for (const mb of ballastMb) {
      const r = s[`sweep-${mb}mb-${spawner}`];
      if (!r) continue;
      if (!good(r)) {
        rows.push([`${mb}`, spawner, 'ERROR', '', '', '', '', '', '']);
        continue;
      }
      const cell = (script, c) => {
        const x = r.scripts?.[script]?.[c];
        return x ? `${spread(x.rps)} (p99 ${auto(x.p99Ms?.median)})` : '–';
      };
      rows.push([`${mb}`, spawner, fmt(r.idleRssMb), cell('sh', 1), cell('sh', 8), cell('sh', 64), cell('js', 1), cell('js', 8), cell('js', 64)]);
    }
  }
  if (!rows.length) return;
  p('## Issue 6: CGI scripts from a front that holds memory',
    `A pool-mode front (2 workers) whose mounted app allocates and touches the given MiB (split between the workers) serves \`/cgi-bin/hello.sh\` and \`hello.js\`. Requests per second, p99 in whole ms (autocannon). ${results.spawner.flag ? 'Each row once through the spawn helper and once spawning directly from the front (`--spawner direct`).' : 'The gateway has no `--spawner` flag yet, so only its one spawn path is measured; the helper-vs-direct comparison appears once the flag exists.'}`,
    table(['MiB held', 'spawner', 'idle RSS MiB', 'sh c=1', 'sh c=8', 'sh c=64', 'js c=1', 'js c=8', 'js c=64'], rows, 'llrrrrrrr'),
    img('spawn-sweep.svg', 'CGI requests per second against memory held by the front'));
  const heaviest = ballastMb[ballastMb.length - 1];
  const close = modes.map((m) => [m, s[`sweep-${heaviest}mb-${m}`]]).filter(([, r]) => good(r) && r.scripts?.sh?.[8]);
  if (close.length) {
    const ref = results.derived.lighttpdRps ?? { value: lighttpdReferenceRps, measured: false };
    const source = ref.measured ? 'measured in this run, `lighttpd-sh`' : 'the figure in `shared/notes/cgi-mode.md` for this machine kind; lighttpd did not run here';
    p(`How close each spawn path got to lighttpd's mod_cgi (${fmt(ref.value)} req/s for the same script at c=8, ${source}), with ${heaviest} MiB held: ` +
      close.map(([m, r]) => `${m} ${fmt(r.scripts.sh[8].rps.median)} req/s (${fmt((r.scripts.sh[8].rps.median / ref.value) * 100)} %)`).join(', ') + '.');
  }
  const inter = modes.map((m) => s[`interference-${m}`]).filter(Boolean);
  if (inter.length) {
    p('Pool requests (hello, c=8, raw-socket probe) alone and with `hello.sh` CGI load (c=8, a separate load process; the probe starts once that load is steady, its first 50 answers in) beside them, 400 MiB held:',
      table(['spawner', 'p50 alone', 'p99 alone', 'p50 beside CGI', 'p99 beside CGI', 'p99 ratio', 'CGI req/s beside'],
        inter.map((r) => (good(r)
          ? [r.spawner, spread(r.alone.p50Ms), spread(r.alone.p99Ms), spread(r.beside.p50Ms), spread(r.beside.p99Ms), auto(r.beside.p99Ms.median / r.alone.p99Ms.median), spread(r.cgiRps)]
          : [r.spawner, 'ERROR', '', '', '', '', ''])), 'lrrrrrr'));
  }
}

/** What each spawn design is, for its table row. */
const designWhat = {
  xargs: (c) => `the floor: \`xargs -P ${c} -n1\` forks and execs from a tiny C program, output to /dev/null, no Node in the loop (the floor-sh subject)`,
  node: () => "Node's own `child_process.spawn` from the calling process, output read through pipes: the best a Node spawn helper passing the child's pipes back over IPC could do, before any IPC cost",
  helper: () => "gatehouse-spawner, a C helper exec'd before anything loads, `vfork()`s each child; the caller's Unix-socket connection becomes the child's stdout. Asked through the gateway's own client",
};

/** Issue 6: spawns/s of each way of starting hello.sh, no HTTP, against the xargs floor, from a small and a big caller. */
function writeDesigns(p, results) {
  const s = results.subjects;
  const m = results.method;
  const rows = spawnDesigns.flatMap((design) => designHoldMb.map((mb) => [design, mb, s[`designs-${design}-${mb}mb`]])).filter(([, , r]) => r);
  if (!rows.length) return;
  const floor = good(s['floor-sh']) ? s['floor-sh'] : null;
  const floorRps = floor?.rps?.median;
  const share = (v) => (Number.isFinite(v) && Number.isFinite(floorRps) ? `${auto(v / floorRps)}×` : '–');
  const first = rows.find(([, , r]) => good(r))?.[2];
  const c = first?.concurrency ?? m.floorParallel;
  const secs = first?.secondsPerRun ?? m.floorS;
  const warm = first?.warmupS > 0 ? `, after one discarded ${first.warmupS} s warm-up run` : '';
  const designTable = table(['design', 'caller holds MiB', 'spawns/s', '÷ xargs floor', 'caller RSS MiB', 'what it is'], [
    ['**xargs**', '–', floor ? spread(floor.rps) : s['floor-sh'] ? 'ERROR' : 'not run', floor ? '1×' : '–', '–', designWhat.xargs(m.floorParallel)],
    // A design's description once, on its first row.
    ...rows.map(([design, mb, r], i) => {
      const what = rows[i - 1]?.[0] === design ? '' : designWhat[design]();
      return good(r) ? [`**${design}**`, fmt(mb), spread(r.perSecond), share(r.perSecond?.median), spread(r.rssMb, (v) => fmt(v)), what] : [`**${design}**`, fmt(mb), 'ERROR', '', '', what];
    }),
  ], 'lrrrrl');
  const notes = [];
  if (!floor) notes.push(`The xargs floor (\`floor-sh\`) ${s['floor-sh'] ? 'failed' : 'did not run'} in this run, so the ratios are missing (\`--only designs,floor-sh\` measures both).`);
  if (!results.spawner.helperBuilt && !rows.some(([d]) => d === 'helper')) notes.push('gatehouse-spawner is not built (no C compiler at build time?): its rows are skipped.');
  p('## Spawn designs compared (no HTTP)',
    `Issue 6: before choosing how the front starts CGI programs, each way was measured starting \`scripts/bench/cgi-bin/hello.sh\` and reading (and checking) its output, ${c} at a time (the floor's parallelism), with no HTTP at all, from a calling process that first allocated and touched 0 or ${designHoldMb[designHoldMb.length - 1]} MiB, as a front holding loaded apps does. ` +
      `Each figure is ${m.runs === 1 ? 'one run' : `the median of ${m.runs} runs`} of \`node scripts/bench/spawn-designs.mjs DESIGN hello.sh ${secs} ${c} HOLD_MB\` (a fresh process per run, ${secs} s of spawning each${warm}; spread min–max in small print). ` +
      "Spawns/s are completed children (started, output read, exit seen) ÷ the run's time; the caller's RSS is the measuring process's own at the end of a run (the helper's few hundred KiB not included). The xargs row is this run's floor-sh figure, not measured again.",
    designTable);
  const sentences = designSentences(s, floorRps);
  if (notes.length || sentences) p(...notes, ...(sentences ? [sentences] : []));
}

/** Two sentences from the numbers: what holding memory did to Node's spawn, and to the helper's. */
function designSentences(s, floorRps) {
  const [empty, held] = [designHoldMb[0], designHoldMb[designHoldMb.length - 1]];
  const rate = (design, mb) => (good(s[`designs-${design}-${mb}mb`]) ? s[`designs-${design}-${mb}mb`].perSecond?.median : undefined);
  const ofFloor = (v) => (Number.isFinite(floorRps) ? `${fmt((v / floorRps) * 100)} % of the xargs floor's ${fmt(floorRps)}/s` : null);
  const out = [];
  const [n0, nH, h0, hH] = [rate('node', empty), rate('node', held), rate('helper', empty), rate('helper', held)];
  if (Number.isFinite(n0) && Number.isFinite(nH)) {
    const floorPart = ofFloor(nH);
    out.push(nH / n0 < 0.9
      ? `Node's own spawn from a ${held} MiB process managed ${fmt(nH)}/s, ${auto(n0 / nH)}× below the ${fmt(n0)}/s it managed holding nothing${floorPart ? ` and ${floorPart}` : ''}: its cost grows with what the caller holds.`
      : `Node's own spawn managed ${fmt(nH)}/s from a ${held} MiB process and ${fmt(n0)}/s holding nothing${floorPart ? ` (${floorPart})` : ''}: on this machine, what the caller holds did not slow it by 10 % or more.`);
  }
  if (Number.isFinite(h0) && Number.isFinite(hH)) {
    const floorPart = ofFloor(hH);
    const vsNode = Number.isFinite(nH) ? `; at that size that is ${auto(hH / nH)}× Node's own spawn` : '';
    const change = hH / h0;
    out.push(change >= 0.9 && change <= 1.1
      ? `gatehouse-spawner kept ${fmt(hH)}/s with ${held} MiB held (${fmt(h0)}/s holding nothing)${floorPart ? `, ${floorPart}` : ''}, whatever the caller holds${vsNode}.`
      : change > 1.1
        ? `gatehouse-spawner was not slowed by what the caller holds: ${fmt(hH)}/s with ${held} MiB held, ${fmt(h0)}/s holding nothing${floorPart ? ` (${floorPart} at ${held} MiB)` : ''}${vsNode}.`
        : `gatehouse-spawner went from ${fmt(h0)}/s holding nothing to ${fmt(hH)}/s with ${held} MiB held${floorPart ? ` (${floorPart})` : ''}${vsNode}.`);
  }
  return out.join(' ');
}
