// CGI's floor: the same program spawned N times with no HTTP and no Node in the loop — `xargs -P <cores>` reads
// N lines and runs the program once per line, output to /dev/null. What the gateway adds on top of this is
// the gateway's cost, Node's own spawn included (issue 5 §4).
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { reapedChildrenCpuMs } from './proc-tree.mjs';
import { summarize } from './stats.mjs';

export const floorParallel = availableParallelism();

/** The environment a CGI program gets from the gateway for `GET scriptName+pathInfo?query` (as environ.ts builds it). */
export function cgiEnvironment({ scriptName, pathInfo = '', query = '', scriptFilename, documentRoot }) {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    GATEWAY_INTERFACE: 'CGI/1.1', SERVER_SOFTWARE: 'gatehouse-bench', SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: '127.0.0.1', SERVER_PORT: '8000', REQUEST_METHOD: 'GET', SCRIPT_NAME: scriptName, PATH_INFO: pathInfo,
    ...(pathInfo ? { PATH_TRANSLATED: documentRoot + pathInfo } : {}),
    QUERY_STRING: query, REMOTE_ADDR: '127.0.0.1', REMOTE_HOST: '127.0.0.1', REMOTE_PORT: '40000',
    REQUEST_URI: `${scriptName}${pathInfo}${query ? `?${query}` : ''}`, REQUEST_SCHEME: 'http', DOCUMENT_ROOT: documentRoot,
    ...(scriptFilename ? { SCRIPT_FILENAME: scriptFilename } : {}),
    REDIRECT_STATUS: '200', HTTP_HOST: '127.0.0.1:8000', HTTP_USER_AGENT: 'gatehouse-bench',
  };
}

/** Runs the program once and checks its output: a CGI header block, then the expected text. */
function checkOnce({ command, args, env, cwd, contains }) {
  const r = spawnSync(command, args, { env, cwd, encoding: 'utf8', timeout: 30_000 });
  const out = r.stdout ?? '';
  const headerEnd = out.search(/\r?\n\r?\n/);
  if (r.status !== 0 || headerEnd < 0 || !/^content-type:/im.test(out.slice(0, headerEnd)) || !out.slice(headerEnd).includes(contains)) {
    throw new Error(`${command} ${args.join(' ')}: exit ${r.status}, output ${JSON.stringify(out.slice(0, 200))}, stderr ${JSON.stringify((r.stderr ?? '').slice(0, 200))}`);
  }
}

/** `xargs -P parallel -n1 command args…` over `n` lines; resolves with wall time and the CPU all of it used. */
function xargsRun({ command, args, env, cwd }, n, parallel) {
  return new Promise((resolve, reject) => {
    const cpu0 = reapedChildrenCpuMs();
    const t0 = performance.now();
    const child = spawn('xargs', ['-P', String(parallel), '-n', '1', command, ...args], { env, cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      // xargs and every program it ran have been reaped by now: their CPU is in this process's cutime/cstime.
      const cpuMs = reapedChildrenCpuMs() - cpu0;
      if (code !== 0) return reject(new Error(`xargs ${command} exited ${code}: ${stderr.slice(0, 300)}`));
      resolve({ n, wallS: wallMs / 1000, rps: n / (wallMs / 1000), msPerRequest: wallMs / n, cpuMsPerRequest: cpuMs / n });
    });
    // The line is passed as one extra argument, which CGI programs ignore (they read their environment).
    child.stdin.end(Array.from({ length: n }, (_, i) => `${i + 1}\n`).join(''));
  });
}

/**
 * The floor of one program: checked once, calibrated so a run lasts about `runS`, then `runs` runs.
 * `onRun(i)` reports progress.
 */
export async function measureFloor(spec, { runS, runs, onRun = () => {} }) {
  checkOnce(spec);
  // Calibration: a short run gives the rate; it also warms the page cache and is discarded.
  const probe = await xargsRun(spec, spec.calibrateN ?? 4 * floorParallel, floorParallel);
  const n = Math.max(floorParallel * 2, Math.round(probe.rps * runS));
  const results = [];
  for (let i = 0; i < runs; i++) {
    onRun(i);
    results.push(await xargsRun(spec, n, floorParallel));
  }
  return {
    parallel: floorParallel,
    runs: results,
    rps: summarize(results.map((r) => r.rps)),
    msPerRequest: summarize(results.map((r) => r.msPerRequest)),
    cpuMsPerRequest: summarize(results.map((r) => r.cpuMsPerRequest)),
  };
}
