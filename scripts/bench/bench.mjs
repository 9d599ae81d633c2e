// The bench: what a process per request costs against a warm pool, each measured against its own limit in the
// same run, written to BENCHMARKS.md, bench/results/<time>.json and bench/charts/*.svg.
//
// Usage: npm run bench [-- --quick | --smoke] [--only NAME[,NAME]]… [--out DIR] [--seed N]
//        npm run bench -- --compare A.json B.json
//        npm run bench -- --report bench/results/<time>.json   (re-render the report, measure nothing)
//
// Method (BENCHMARKS.md repeats it with this run's numbers):
// - every subject is a real server process on 127.0.0.1 in its own process group; readiness is polled (log line,
//   then the first correct answer), never slept on; the server's whole tree is killed in `finally`;
// - each subject's answer is checked (status and body) before timing, and every answer under load must carry
//   that exact body; any non-2xx, socket error, timeout or wrong body fails the subject: an error row and a
//   non-zero exit, never a silent number;
// - one discarded warm-up per server; subjects in shuffled order (the seed is printed and recorded), except that
//   each baseline runs right after the subject it is the baseline of, so both sides of a ratio see the same machine;
// - each figure is the median of ≥3 runs (1 with --smoke) and keeps its spread; every run is in the JSON;
// - baselines in the same run: bare node:http sending the same bytes (the pool's ceiling; the in-process adapter is
//   a second, labelled line), uWSGI, gunicorn and plain piscina when installed, the xargs raw-spawn floor for CGI;
// - the load generator is its own process (wrk when installed, else autocannon's CLI) and its CPU is recorded;
//   with wrk present, a cross-check runs the ceiling under both generators;
// - issue 6's spawn designs (Node's own spawn, gatehouse-spawner) are measured with no HTTP, against that floor,
//   from a calling process holding 0 and 400 MiB (designs.mjs runs spawn-designs.mjs once per run);
// - the load generator's own CPU share is recorded (on 2 cores it competes with the server).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCharts } from './chart-set.mjs';
import { compareFiles } from './compare.mjs';
import { measureDesign } from './designs.mjs';
import { floorParallel, measureFloor } from './floor.mjs';
import { describeMachine, describeVersions, findGunicorn, findLighttpd, findPython, findUwsgi } from './machine.mjs';
import { measureImport, measureLoadgen, measureServer, measureStatusOverhead } from './measure.mjs';
import { measureMemory } from './memory.mjs';
import { profiles } from './profiles.mjs';
import { Progress } from './progress.mjs';
import { deriveFigures } from './ratios.mjs';
import { writeReport } from './report.mjs';
import { killAllNow } from './server.mjs';
import { defaultGenerator } from './load.mjs';
import { seededRandom, summarize } from './stats.mjs';
import { buildSubjects, orderSubjects, selectSubjects } from './subjects.mjs';
import { measureInterference, measureSweep } from './sweep.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, '..', '..');

const usage = `usage: node scripts/bench/bench.mjs [--quick | --smoke] [--only NAME[,NAME]]... [--out DIR] [--seed N]
       node scripts/bench/bench.mjs --compare A.json B.json
       node scripts/bench/bench.mjs --report RESULTS.json [--out DIR]
  --quick      fewer subjects, shorter runs (about 90 s)
  --smoke      one short run of each figure: checks the harness, not the speed
  --only NAME  run only this subject (a full name, or a group or leading part: ceiling, pool, cgi, sweep, floor,
               designs…)
  --out DIR    write DIR/BENCHMARKS.md, DIR/bench/results/, DIR/bench/charts/ instead of the repository
               (without it, partial runs — --quick, --smoke, --only — write under bench/partial/)
  --seed N     subject order (default: random, printed)
  --compare    print each figure of two results files: A, B and the change in per cent
  --report     rewrite BENCHMARKS.md and the charts from a saved results file, measuring nothing
               (e.g. after adding profiling notes to scripts/bench/notes.md)
`;

function parseArgs(argv) {
  const o = { quick: false, smoke: false, only: [], out: null, seed: null, compare: null, report: null, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--only') o.only.push(...value().split(',').filter(Boolean));
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--compare') o.compare = [value(), value()];
    else if (a === '--report') o.report = value();
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.seed !== null && !Number.isInteger(o.seed)) throw new Error('--seed takes an integer');
  return o;
}

/** Does this build of the gateway have --spawner (issue 6)? Then the sweep measures both spawn paths. */
function hasSpawnerFlag() {
  const help = execFileSync(process.execPath, [path.join(root, 'bin', 'gatehouse.js'), '--help'], { encoding: 'utf8' });
  return help.includes('--spawner');
}

/** Runs one subject with the runner its kind needs; never throws (a failure is the record's `error`). */
async function runSubject(subject, ctx, profile, step) {
  try {
    switch (subject.kind) {
      case 'server':
        return await measureServer(subject, ctx, profile, step);
      case 'import':
        return await measureImport(subject, ctx, profile, step);
      case 'loadgen':
        return await measureLoadgen(subject, ctx, profile, step);
      case 'status-overhead':
        return await measureStatusOverhead(subject, ctx, profile, step);
      case 'sweep':
        return await measureSweep(subject, ctx, profile, step);
      case 'interference':
        return await measureInterference(subject, ctx, profile, step);
      case 'memory':
        return await measureMemory({ runs: profile.memoryRuns, streamBytes: profile.streamBytes, uploadBytes: profile.uploadBytes, step });
      case 'design':
        return await measureDesign(subject, ctx, profile, step);
      case 'floor': {
        const floor = await measureFloor(subject.spec, { runS: profile.floorS, runs: profile.runs, onRun: (i) => step(`run ${i + 1}/${profile.runs}`) });
        const command = `xargs -P ${floor.parallel} -n 1 ${[subject.spec.command, ...subject.spec.args].join(' ')}`;
        return { name: subject.name, kind: 'floor', group: subject.group, title: subject.title, of: subject.of, command, error: null, ...floor };
      }
      default:
        throw new Error(`no runner for kind ${subject.kind}`);
    }
  } catch (e) {
    return { name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, error: e instanceof Error ? e.message : String(e) };
  }
}

/** One line per finished subject, so a long run's log says what it found as it goes. */
function headline(r) {
  if (r.error) return `${r.name}: ERROR ${r.error.split('\n')[0]} [${r.elapsedS.toFixed(1)} s]`;
  const parts = [];
  if (r.coldStartMs?.median) parts.push(`cold ${r.coldStartMs.median.toFixed(0)} ms`);
  if (r.latencyC1) parts.push(`p50 ${r.latencyC1.p50Ms.median.toFixed(3)} ms`);
  for (const [c, t] of Object.entries(r.throughput ?? {})) parts.push(`c=${c} ${t.rps.median.toFixed(0)}/s`);
  if (r.kind === 'design') parts.push(`${r.perSecond.median.toFixed(1)} spawns/s (${r.perSecond.min.toFixed(1)}–${r.perSecond.max.toFixed(1)}), caller RSS ${r.rssMb.median.toFixed(0)} MiB`);
  if (r.kind === 'floor') parts.push(`${r.rps.median.toFixed(1)} spawns/s, ${r.cpuMsPerRequest.median.toFixed(2)} CPU ms each`);
  for (const [script, byC] of Object.entries(r.scripts ?? {})) parts.push(`${script} ${Object.entries(byC).map(([c, t]) => `c=${c} ${t.rps.median.toFixed(0)}/s`).join(' ')}`);
  if (r.kind === 'interference') parts.push(`p99 alone ${r.alone.p99Ms.median.toFixed(2)} ms, beside CGI ${r.beside.p99Ms.median.toFixed(2)} ms`);
  if (r.kind === 'status-overhead') parts.push(`c=64 ${r.unwatched.rps.median.toFixed(0)}/s alone, ${r.watched.rps.median.toFixed(0)}/s with the status page polled`);
  if (r.kind === 'loadgen') parts.push(`wrk ${r.wrk.rps.median.toFixed(0)}/s, autocannon ${r.autocannon.rps.median.toFixed(0)}/s at c=64`);
  if (r.kind === 'memory') parts.push(`stream +${r.stream.growthMb.max.toFixed(1)} MiB, upload +${r.upload.growthMb.max.toFixed(1)} MiB`);
  return `${r.name}: ${parts.join(', ')} [${r.elapsedS.toFixed(1)} s]`;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n${usage}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (o.compare) {
    process.stdout.write(`${compareFiles(...o.compare)}\n`);
    return 0;
  }
  if (o.report) return rerender(o.report, o.out);
  for (const built of [['dist', 'src', 'front', 'cli.js'], ['dist', 'examples', 'apps', 'add.js'], ['dist', 'src', 'workers', 'cgi-child.js']]) {
    if (!existsSync(path.join(root, ...built))) {
      process.stderr.write(`bench: ${built.join('/')} is missing: run npm run build first\n`);
      return 2;
    }
  }

  const profileName = o.smoke ? 'smoke' : o.quick ? 'quick' : 'full';
  const profile = profiles[profileName];
  const spawnerFlag = hasSpawnerFlag();
  const python = findPython();
  const lighttpd = findLighttpd();
  const ctx = {
    root, benchDir, cgiDir: path.join(benchDir, 'cgi-bin'), cores: availableParallelism(), python, lighttpd, uwsgi: findUwsgi(), gunicorn: findGunicorn(), wrk: defaultGenerator === 'wrk',
    spawners: spawnerFlag ? ['helper', 'direct'] : [null],
    helperBuilt: existsSync(path.join(root, 'dist', 'spawner', 'gatehouse-spawner')),
    // Generated files (a peer's configuration): removed when the run ends.
    tmpDir: mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-run-')),
  };
  runTmpDir = ctx.tmpDir;
  try {
    return await runBench(o, ctx, { spawnerFlag, profileName, profile });
  } finally {
    rmSync(ctx.tmpDir, { recursive: true, force: true });
  }
}

/**
 * BENCHMARKS.md and bench/charts/*.svg under `outDir`, from a run's results; also how --report re-renders a saved
 * run (after a change to the report, or to scripts/bench/notes.md) without measuring again.
 */
function writeOutputs(results, outDir) {
  const chartsDir = path.join(outDir, 'bench', 'charts');
  mkdirSync(chartsDir, { recursive: true });
  const charts = {};
  for (const [file, svg] of Object.entries(buildCharts(results))) {
    writeFileSync(path.join(chartsDir, file), svg);
    charts[file] = path.relative(outDir, path.join(chartsDir, file));
  }
  const notesFile = path.join(benchDir, 'notes.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : null;
  const reportFile = path.join(outDir, 'BENCHMARKS.md');
  writeFileSync(reportFile, writeReport(results, { charts, notes }));
  return { reportFile, charts: Object.keys(charts).length };
}

/** --report FILE: the saved run's figures, with the derived ratios and targets recomputed by today's code. */
function rerender(file, out) {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  results.derived = deriveFigures(results.subjects, { spawners: results.spawner.modes.map((m) => (m === 'default' ? null : m)) });
  const outDir = out ?? (results.partial ? path.join(root, 'bench', 'partial') : root);
  const { reportFile, charts } = writeOutputs(results, outDir);
  process.stderr.write(`bench: rewrote ${path.relative(process.cwd(), reportFile) || reportFile} and ${charts} charts from ${file}\n`);
  return 0;
}

/** Runs the selected subjects in shuffled order and writes the results, charts and report. */
async function runBench(o, ctx, { spawnerFlag, profileName, profile }) {
  const { python, lighttpd } = ctx;
  let selected;
  try {
    selected = selectSubjects(buildSubjects(ctx), { only: o.only, quick: profileName !== 'full' });
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    return 2;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const order = orderSubjects(selected, seededRandom(seed));
  const partial = profileName !== 'full' || o.only.length > 0;
  const outDir = o.out ?? (partial ? path.join(root, 'bench', 'partial') : root);

  const progress = new Progress(order.length);
  progress.note(`bench: ${profileName} run, ${order.length} subjects, seed ${seed}; order: ${order.map((s) => s.name).join(', ')}`);
  if (!spawnerFlag) progress.note('bench: the gateway has no --spawner flag: the issue-6 sweep measures its only spawn path');
  if (!python) progress.note('bench: python3 not found: the http.server peer row is skipped');
  if (!ctx.helperBuilt) progress.note('bench: dist/spawner/gatehouse-spawner is not built: the spawn-design rows for the helper are skipped');
  if (!lighttpd) progress.note('bench: lighttpd not found: its peer row is skipped (issue 6 aim judged against a reference figure)');
  if (!ctx.uwsgi) progress.note('bench: uwsgi (with its python3 plugin) not found: its peer row is skipped');
  if (!ctx.gunicorn) progress.note('bench: gunicorn not found: its peer row is skipped');
  if (defaultGenerator !== 'wrk') progress.note('bench: wrk not found: autocannon (its CLI, in its own process) generates the load, and the cross-check against wrk is skipped');

  const startedAt = new Date();
  const machine = describeMachine();
  const subjects = {};
  // What is measured is what was built at the start (npm run bench builds first): its commit and whether src/
  // had uncommitted changes are read now, not after the run, when the tree may have moved on.
  const versions = describeVersions(python, lighttpd, { uwsgi: ctx.uwsgi, gunicorn: ctx.gunicorn });
  for (const subject of order) {
    progress.subject(subject.name);
    const t0 = performance.now();
    const record = await runSubject(subject, ctx, profile, (what) => progress.step(what));
    record.elapsedS = (performance.now() - t0) / 1000;
    subjects[subject.name] = record;
    progress.note(headline(record));
  }
  const finishedAt = new Date();

  const loadShares = Object.values(subjects).flatMap((r) => Object.values(r.throughput ?? {}).flatMap((t) => t.runs.map((x) => x.loadGenCpuShare)));
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const resultsDir = path.join(outDir, 'bench', 'results');
  const resultsFile = path.join(resultsDir, `${stamp}${profileName === 'full' ? '' : `-${profileName}`}.json`);
  const results = {
    schema: 1,
    profile: profileName,
    partial,
    only: o.only,
    seed,
    order: order.map((s) => s.name),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallS: (finishedAt - startedAt) / 1000,
    resultsFile: path.relative(outDir, resultsFile),
    root,
    machine,
    versions,
    generator: defaultGenerator,
    // Without its binary (no C compiler at build time) the gateway falls back to forking from the front.
    spawner: { flag: spawnerFlag, modes: ctx.spawners.map((x) => x ?? 'default'), helperBuilt: ctx.helperBuilt },
    method: { ...profile, floorParallel, sampleEveryMs: 50, loadAverageAtEnd: loadavg() },
    loadGenerator: { cpuShare: summarize(loadShares) },
    subjects,
  };
  results.derived = deriveFigures(subjects, { spawners: ctx.spawners });

  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const { reportFile, charts } = writeOutputs(results, outDir);

  const failed = Object.values(subjects).filter((r) => r.error);
  progress.note(`bench: done in ${(results.wallS / 60).toFixed(1)} min; wrote ${path.relative(process.cwd(), reportFile) || reportFile}, ${path.relative(process.cwd(), resultsFile)}, ${charts} charts`);
  for (const t of results.derived.targets) {
    if (t.mustStatus === 'n/a' && t.aimStatus === 'n/a') continue;
    progress.note(`  target ${t.id}: ${t.value == null ? '–' : +t.value.toFixed(3)} ${t.unit}: must ${t.mustStatus}${t.aim == null ? '' : `, aim ${t.aimStatus}`}`);
  }
  if (failed.length) {
    progress.note(`bench: ${failed.length} subject(s) FAILED: ${failed.map((r) => r.name).join(', ')}`);
    for (const r of failed) progress.note(`--- ${r.name}\n${r.error}`);
    return 1;
  }
  return 0;
}

// An interrupted bench still kills every server it started (they run in their own process groups, so the
// terminal's Ctrl-C does not reach them), and removes its temp directory.
let runTmpDir = null;
function cleanUpNow() {
  killAllNow();
  if (runTmpDir) rmSync(runTmpDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanUpNow();
    process.exit(130);
  });
}
process.once('exit', cleanUpNow);

process.exitCode = await main();
