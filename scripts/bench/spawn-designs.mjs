// Spawn designs compared, with no HTTP at all: how many times per second can each way start the same
// script and read its output, C at a time? Usage: node spawn-designs.mjs DESIGN SCRIPT SECONDS CONCURRENCY [HOLD_MB]
//   xargs   `seq | xargs -P C` (the machine's own floor: fork+exec from a tiny C program)
//   node    child_process.spawn from this Node process (what a Node spawn helper could do at best)
//   helper  gatehouse-spawner, through the gateway's own client (src/front/cgi/spawn-helper.ts)
// HOLD_MB: this process first allocates and touches that much memory, as a front holding loaded apps does.
// Prints one JSON line: { design, holdMb, rssMb, runs, seconds, perSecond }.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [design, scriptArg, secondsArg, concurrencyArg, holdArg = '0'] = process.argv.slice(2);
const script = path.resolve(scriptArg);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const holdMb = Number(holdArg);
const designs = ['xargs', 'node', 'helper'];
if (!designs.includes(design) || !scriptArg || !(seconds > 0) || !(Number.isInteger(concurrency) && concurrency > 0) || !(Number.isInteger(holdMb) && holdMb >= 0)) {
  process.stderr.write(`usage: node spawn-designs.mjs ${designs.join('|')} SCRIPT SECONDS CONCURRENCY [HOLD_MB]\n`);
  process.exit(2);
}
const env = { PATH: '/usr/local/bin:/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', QUERY_STRING: '' };

// Resident, not just reserved: every page is written, as live heap objects would be.
const ballast = [];
for (let i = 0; i < holdMb; i++) ballast.push(Buffer.alloc(1024 * 1024, i & 0xff));
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;

async function timed(runOnce) {
  const until = Date.now() + seconds * 1000;
  let runs = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await runOnce();
        runs++;
      }
    }),
  );
  return { runs, seconds: (performance.now() - t0) / 1000 };
}

/** Collects a child's stdout and checks it answered like a CGI script. */
function checkOutput(text) {
  if (!/^Content-Type:/im.test(text)) throw new Error(`${script} printed no CGI header: ${JSON.stringify(text.slice(0, 80))}`);
}

async function viaNode() {
  return timed(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(script, [], { env, stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.on('data', (c) => (out += c));
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`${script} exited ${code}`));
          // A throw here would be an uncaught exception in an event handler, not this run's rejection.
          try {
            checkOutput(out);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      }),
  );
}

async function viaHelper() {
  const { HelperSpawner, spawnerBinary } = await import('../../dist/src/front/cgi/spawn-helper.js');
  if (!existsSync(spawnerBinary)) throw new Error(`${spawnerBinary} is not built (npm run build needs a C compiler)`);
  // The client logs a warning and forks from this process when the helper is not running (and an error when it
  // died): either would make this design's figure Node's own spawn, so both fail the run instead.
  let trouble = null;
  const log = { child: () => log, warn: (f, m) => (trouble ??= `${m} ${JSON.stringify(f)}`), error: (f, m) => (trouble ??= `${m} ${JSON.stringify(f)}`), info() {}, debug() {} };
  const spawner = new HelperSpawner(spawnerBinary, log);
  await spawner.ready;
  try {
    return await timed(async () => {
      if (trouble) throw new Error(`gatehouse-spawner: ${trouble}`);
      const child = await spawner.spawn({ file: script, args: [], cwd: '/', env, runAs: null, killGraceMs: 1000, stdin: false });
      child.stdin.end();
      child.stderr.resume();
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      await new Promise((resolve) => child.stdout.once('end', resolve).resume());
      const exit = await child.exited;
      if (exit.code !== 0) throw new Error(`${script} exited ${exit.code ?? exit.signal}`);
      checkOutput(out);
    }).then((r) => {
      if (trouble) throw new Error(`gatehouse-spawner: ${trouble}`);
      return r;
    });
  } finally {
    await spawner.close();
  }
}

/** xargs runs the script N times, C at a time; N is calibrated from a short first run. */
function viaXargs() {
  const run = (n) => {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', `seq ${n} | xargs -P ${concurrency} -n 1 ${JSON.stringify(script)} > /dev/null`], { env, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`xargs exited ${r.status}`);
    return (performance.now() - t0) / 1000;
  };
  const probe = spawnSync(script, [], { env, encoding: 'utf8' });
  checkOutput(probe.stdout);
  const calib = 200;
  const rate = calib / run(calib);
  const n = Math.max(calib, Math.round(rate * seconds));
  return { runs: n, seconds: run(n) };
}

let result;
try {
  result = design === 'xargs' ? viaXargs() : design === 'node' ? await viaNode() : await viaHelper();
} catch (e) {
  // One line a caller can quote (the bench puts it in the subject's error row), not a stack trace.
  process.stderr.write(`spawn-designs ${design}: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
console.log(JSON.stringify({ design, holdMb, rssMb: Math.round(rssMb()), runs: result.runs, seconds: result.seconds, perSecond: result.runs / result.seconds }));
void ballast.length;
