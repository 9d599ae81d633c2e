// The bench: what a process per request costs against a warm pool, each measured against its own limit
// in the same run, and written to BENCHMARKS.md. Usage: npm run bench [-- --quick]
//
// Method: every server is a separate process on 127.0.0.1; readiness is polled, never slept on; each load
// starts with a discarded warm-up; any non-2xx or socket error fails the bench; children are killed in
// `finally`. Ratios compare figures taken minutes apart on the same machine, so noise partly cancels.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 10;
const warmupSeconds = quick ? 1 : 2;
const coldRuns = quick ? 3 : 5;
const cpuCount = availableParallelism();
const maxCgi = 2 * cpuCount; // the gateway's default --max-cgi
const poolConnections = 32;

const addModule = path.join(root, 'dist', 'examples', 'apps', 'add.js');
const cgiChild = path.join(root, 'dist', 'src', 'workers', 'cgi-child.js');
const benchCgiDir = path.join(root, 'scripts', 'bench', 'cgi-bin');
const helloScript = path.join(benchCgiDir, 'hello.sh');
const addPath = '/add/?operand=2&operand=3';

/** Starts a process that prints a readiness line; resolves with its URL and handle. */
async function startServer(args, readyUrl) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      const port = /^listening (\d+)$/.exec(line)?.[1];
      if (port) return resolve(`http://127.0.0.1:${port}`);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(entry.url.replace(/\/$/, ''));
      } catch {}
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  // From here on the output (access lines) is drained unparsed, so the bench spends no CPU on it.
  lines.close();
  child.stdout.on('data', () => {});
  child.stdout.resume();
  if (readyUrl) await waitFor200(url + readyUrl);
  return { url, child, stop: () => stop(child) };
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  return exited;
}

async function waitFor200(url, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} never answered 200`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Peak resident memory of a process, from the kernel's high-water mark. */
function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function load(url, connections, duration = seconds) {
  await autocannon({ url, connections, duration: warmupSeconds });
  const r = await autocannon({ url, connections, duration });
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  // One connection means back-to-back requests: the time per request is exact from the count, while
  // autocannon's latency samples are whole milliseconds.
  const perRequestMs = connections === 1 ? (duration * 1000) / r.requests.total : r.latency.mean;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, mean: perRequestMs };
}

function floor(program, args, env, concurrency) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'bench', 'floor.mjs'), String(seconds), String(concurrency), JSON.stringify(env), program, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`floor exited ${code}`))));
  });
}

/** From process start to the first 200 of the app: what a cold start costs. Median of `coldRuns`. */
async function coldStart(mode) {
  const times = [];
  for (let i = 0; i < coldRuns; i++) {
    const t0 = performance.now();
    const s = await startServer(gatewayArgs(mode), addPath);
    times.push(performance.now() - t0);
    await s.stop();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const gatewayArgs = (mode) => ['bin/gatehouse.js', '--port', '0', '--mode', mode, '--app', `/add=${addModule}`, '--cgi-dir', benchCgiDir];

const cgiEnv = {
  PATH: '/usr/local/bin:/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', SERVER_NAME: '127.0.0.1',
  SERVER_PORT: '8000', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'bench', SCRIPT_NAME: '/add', PATH_INFO: '/',
  QUERY_STRING: 'operand=2&operand=3', REMOTE_ADDR: '127.0.0.1', REQUEST_SCHEME: 'http',
};

const results = {};
const servers = [];
try {
  process.stderr.write('bench: ceiling (app in-process, bare node:http)…\n');
  let s = await startServer([path.join('scripts', 'bench', 'ceiling.mjs'), addModule], addPath);
  servers.push(s);
  results.ceiling = { ...(await load(s.url + addPath, poolConnections)), c1: await load(s.url + addPath, 1), rssMb: peakRssMb(s.child.pid) };
  await s.stop();

  process.stderr.write('bench: pool mode…\n');
  s = await startServer(gatewayArgs('pool'), addPath);
  servers.push(s);
  results.pool = { ...(await load(s.url + addPath, poolConnections)), c1: await load(s.url + addPath, 1) };
  results.poolScript = await load(s.url + '/cgi-bin/hello.sh', maxCgi);
  results.pool.rssMb = peakRssMb(s.child.pid);
  await s.stop();

  process.stderr.write('bench: CGI mode…\n');
  s = await startServer(gatewayArgs('cgi'), addPath);
  servers.push(s);
  results.cgi = { ...(await load(s.url + addPath, maxCgi)), c1: await load(s.url + addPath, 1) };
  results.cgiScript = await load(s.url + '/cgi-bin/hello.sh', maxCgi);
  results.cgi.rssMb = peakRssMb(s.child.pid);
  await s.stop();

  process.stderr.write('bench: CGI floors (spawn without HTTP)…\n');
  results.floorApp = await floor(process.execPath, [cgiChild, addModule], cgiEnv, maxCgi);
  results.floorScript = await floor(helloScript, [], { PATH: cgiEnv.PATH }, maxCgi);

  process.stderr.write('bench: cold starts…\n');
  results.coldPool = await coldStart('pool');
  results.coldCgi = await coldStart('cgi');
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}

const r = results;
const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (a, b) => fmt(a / b, 2);
// Break-even: the pool's extra start-up cost, paid back by what each request saves against CGI mode (c=1).
const savedPerRequestMs = r.cgi.c1.mean - r.pool.c1.mean;
const breakEven = savedPerRequestMs > 0 ? Math.max(0, Math.ceil((r.coldPool - r.coldCgi) / savedPerRequestMs)) : Infinity;

const md = `# Benchmarks

Written by \`npm run bench\`${quick ? ' (quick run)' : ''} on ${new Date().toISOString().slice(0, 10)}:
${cpuCount} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 1024 ** 3, 0)} GiB, Node ${process.version}.
Every figure below comes from the same run; compare the ratios, not the absolute numbers, across machines.

## What is measured
- **The app**: \`examples/apps/add\` (the adding machine), \`GET ${addPath}\`, the same module in every row.
- **Pool mode** against its **ceiling**: the same app called in-process by a bare \`node:http\` server
  (\`scripts/bench/ceiling.mjs\`: same environ builder, same \`runApp\`, no thread hop).
- **CGI mode** against its **floor**: the same program spawned back to back with no HTTP at all, from a small Node
  process (\`scripts/bench/floor.mjs\`), with the concurrency of the gateway's default \`--max-cgi\` (${maxCgi}).
- **A shell script** (\`scripts/bench/cgi-bin/hello.sh\`) through \`/cgi-bin/\`, against spawning it directly.
- Load: autocannon, ${seconds} s per figure after a ${warmupSeconds} s warm-up that is discarded; ${poolConnections} connections for
  the pool and the ceiling, ${maxCgi} for CGI. Time per request at c=1 is a separate ${seconds} s run with one connection: its duration divided by its request count.
  Any non-2xx response or socket error fails the bench.
- Cold start: from starting the process to the first 200 from the app, median of ${coldRuns}.
- Memory: the gateway process's peak RSS (\`VmHWM\`) after its loads.

## Results

| what | req/s | p50 ms | p99 ms | ms per request at c=1 | peak RSS MiB |
|---|---:|---:|---:|---:|---:|
| ceiling: app in-process, bare node:http | ${fmt(r.ceiling.rps)} | ${r.ceiling.p50} | ${r.ceiling.p99} | ${fmt(r.ceiling.c1.mean, 2)} | ${fmt(r.ceiling.rssMb)} |
| **pool mode** | ${fmt(r.pool.rps)} | ${r.pool.p50} | ${r.pool.p99} | ${fmt(r.pool.c1.mean, 2)} | ${fmt(r.pool.rssMb)} |
| **CGI mode** (a fresh node per request) | ${fmt(r.cgi.rps)} | ${r.cgi.p50} | ${r.cgi.p99} | ${fmt(r.cgi.c1.mean, 2)} | ${fmt(r.cgi.rssMb)} |
| floor: spawn the app child, no HTTP | ${fmt(r.floorApp.perSecond)} | ${fmt(r.floorApp.p50Ms, 1)} | ${fmt(r.floorApp.p99Ms, 1)} | | |
| sh script via /cgi-bin/, pool-mode front | ${fmt(r.poolScript.rps)} | ${r.poolScript.p50} | ${r.poolScript.p99} | | |
| sh script via /cgi-bin/, CGI-mode front | ${fmt(r.cgiScript.rps)} | ${r.cgiScript.p50} | ${r.cgiScript.p99} | | |
| floor: spawn the sh script, no HTTP | ${fmt(r.floorScript.perSecond)} | ${fmt(r.floorScript.p50Ms, 1)} | ${fmt(r.floorScript.p99Ms, 1)} | | |

| ratio | value |
|---|---:|
| pool mode ÷ its ceiling (throughput) | ${ratio(r.pool.rps, r.ceiling.rps)} |
| CGI mode ÷ its floor (throughput) | ${ratio(r.cgi.rps, r.floorApp.perSecond)} |
| sh script through the gateway ÷ its floor (CGI-mode front) | ${ratio(r.cgiScript.rps, r.floorScript.perSecond)} |
| sh script, pool-mode front ÷ CGI-mode front (what a big front costs spawning) | ${ratio(r.poolScript.rps, r.cgiScript.rps)} |
| pool mode ÷ CGI mode (what a process per request costs) | ${ratio(r.pool.rps, r.cgi.rps)} |

| cold start | ms |
|---|---:|
| pool mode: start, import check, warm ${cpuCount} workers, first 200 | ${fmt(r.coldPool)} |
| CGI mode: start, import check, first 200 (one child) | ${fmt(r.coldCgi)} |
| **break-even**: requests after which the pool's extra start-up has paid for itself (c=1 latency saved ${fmt(savedPerRequestMs, 2)} ms/request) | ${Number.isFinite(breakEven) ? fmt(breakEven) : 'never'} |
`;
writeFileSync(path.join(root, 'BENCHMARKS.md'), md);
process.stdout.write(md);
