// One gateway under soak: the real command (bin/gatehouse.js) in its own process group, its log in a file,
// its process tree watched, and what it leaves behind once it has gone.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcTree, readStat } from '../bench/proc-tree.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const here = path.dirname(fileURLToPath(import.meta.url));
export const soakApp = (name) => path.join(here, 'apps', `${name}.mjs`);
/**
 * The soak's scripts, copied to a world-readable temp directory: under root the gateway runs them as nobody,
 * who may not reach a checkout under /root. Removed when the soak exits.
 */
export const soakCgiDir = (() => {
  const base = mkdtempSync(path.join(tmpdir(), 'gatehouse-soak-cgi-'));
  chmodSync(base, 0o755);
  const dir = path.join(base, 'cgi-bin');
  cpSync(path.join(here, 'cgi-bin'), dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(path.join(dir, f), 0o755);
  process.on('exit', () => rmSync(base, { recursive: true, force: true }));
  return dir;
})();

/**
 * The gateways' own temp directory (TMPDIR for them): what they leave there (request-body spools, the spawn
 * helper's socket directory) is theirs alone, even while other gateways run on the machine.
 */
const gatewayTmp = mkdtempSync(path.join(tmpdir(), 'gatehouse-soak-tmp-'));
chmodSync(gatewayTmp, 0o1777);
process.on('exit', () => rmSync(gatewayTmp, { recursive: true, force: true }));

/** Temp entries the gateways have left. */
export function gatewayTempEntries() {
  return readdirSync(gatewayTmp);
}

/** Live processes in process group `pgid` (the gateway's, since it leads its own). */
function groupMembers(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) out.push({ pid: Number(d), state: f[0] });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the gateway with `args`; resolves once it logged `listening` and answers `probe`. */
export async function startGateway(args, { probe = '/hello/', boundMs = 20_000 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-soak-'));
  const logFile = path.join(dir, 'gateway.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--max-semi-space-size=4', path.join(root, 'bin', 'gatehouse.js'), '--port', '0', ...args], {
    cwd: root, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, TMPDIR: gatewayTmp },
  });
  closeSync(fd);
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  const tree = new ProcTree(child.pid);
  const logLines = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return { raw: l }; } });
  const g = {
    pid: child.pid,
    tree,
    url: '',
    logLines,
    exited,
    get exit() { return exit; },
    signal: (sig) => { try { process.kill(child.pid, sig); } catch { /* gone */ } },
    /** Zombies in the tree now (a child the gateway has not reaped). */
    zombies: () => tree.pids().filter((p) => readStat(p)?.state === 'Z').length,
    /** Stops it (SIGTERM, then SIGKILL after `graceMs`), and reports what is left: processes of its group, temp entries. */
    async stop(graceMs = 15_000) {
      if (!exit) {
        g.signal('SIGTERM');
        await Promise.race([exited, pause(graceMs)]);
      }
      const forced = !exit;
      if (forced) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exited;
      }
      // Children it started may take a moment to be reaped by init after it exits: look for up to 2 s.
      let left = groupMembers(child.pid);
      for (let i = 0; i < 20 && left.length; i++) {
        await pause(100);
        left = groupMembers(child.pid);
      }
      for (const p of left) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      const log = logLines();
      rmSync(dir, { recursive: true, force: true });
      return { exit, forced, leftoverProcesses: left.length, log };
    },
  };
  const until = Date.now() + boundMs;
  while (!g.url) {
    if (exit) throw new Error(`gateway exited before listening (${JSON.stringify(exit)}):\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > until) throw new Error(`gateway did not listen within ${boundMs} ms`);
    const line = logLines().find((l) => l.msg === 'listening');
    if (line) g.url = line.url.replace(/\/$/, '');
    else await pause(50);
  }
  for (;;) {
    try {
      const r = await fetch(g.url + probe);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`gateway did not answer ${probe} within ${boundMs} ms`);
    await pause(50);
  }
  return g;
}

/**
 * The idle figure a scenario's memory is judged against: the gateway's tree once it has served a short warm-up
 * of the scenario's own requests (code compiled, pools and buffers made) and been quiet for 2 s. A cold start's
 * figure would count first-use growth (the node binary's pages touched, JIT code) as if it were a leak.
 */
export async function warmIdleRss(g, paths, { flood }) {
  await Promise.all(paths.map((p) => flood(g.url, p, { concurrency: 2, durationMs: 1_500, boundMs: 10_000 })));
  await pause(2_000);
  return g.tree.sample().rssBytes;
}

export function machineLine() {
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0;
  let os = '';
  try { os = execFileSync('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'], { encoding: 'utf8' }).trim(); } catch { /* unknown */ }
  return `${cpus} CPUs, ${os}, Node ${process.version}`;
}
