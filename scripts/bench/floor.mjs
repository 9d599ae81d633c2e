// CGI's floor: the same program spawned back to back with no HTTP at all, from a small Node process,
// C at a time for S seconds. Usage: node floor.mjs SECONDS CONCURRENCY ENV_JSON PROGRAM [ARGS...]
// Prints one JSON line: { runs, perSecond, p50Ms, p99Ms }.
import { spawn } from 'node:child_process';

const [seconds, concurrency, envJson, program, ...args] = process.argv.slice(2);
const env = JSON.parse(envJson);
const until = Date.now() + Number(seconds) * 1000;
const times = [];

function once() {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let bytes = 0;
    child.stdout.on('data', (c) => { bytes += c.length; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || bytes === 0) return reject(new Error(`${program} exited ${code} with ${bytes} bytes`));
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      resolve();
    });
  });
}

async function worker() {
  while (Date.now() < until) await once();
}

const t0 = Date.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const elapsed = (Date.now() - t0) / 1000;
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(JSON.stringify({ runs: times.length, perSecond: times.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) }));
