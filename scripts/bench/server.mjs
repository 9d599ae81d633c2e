// A server under test: started as its own process group, polled until it answers correctly (the cold start),
// and stopped with its whole tree, so one subject cannot leave anything running into the next.
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcTree, readStat } from './proc-tree.mjs';

const readyBoundMs = 60_000;
/** Servers not yet stopped: an interrupted bench kills them on its way out. */
const live = new Map();
const stopBoundMs = 5_000;
/** Between readiness polls: short against a ~300 ms cold start, and only while nothing answers yet. */
const pollMs = 2;

/** A port nobody listens on now, for servers that cannot be told to pick one (python's http.server). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One GET without keep-alive: `{ status, body }`; rejects on a socket error or after `timeoutMs`. */
export function get(url, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.end();
  });
}

/** Throws unless the answer is what the subject must say: a fast wrong answer is not a result. */
export function assertCorrect(answer, check, where) {
  const wanted = check.status ?? 200;
  if (answer.status !== wanted || !answer.body.includes(check.contains)) {
    throw new Error(`${where}: expected ${wanted} with ${JSON.stringify(check.contains)}, got ${answer.status} ${JSON.stringify(answer.body.slice(0, 200))}`);
  }
}

/**
 * Starts `command args` in its own process group with stdout and stderr going to a temp file (cheaper than
 * draining a pipe, and kept for the error message if the server fails). Resolves once `check.path` answers
 * correctly, with `coldStartMs` measured from just before the spawn.
 *
 * `port`: the server was told this port; otherwise the URL comes from the JSON `listening` log line that the
 * gateway (and ceiling.mjs) print, so port 0 works.
 */
export async function startServer({ name, command = process.execPath, args, env = process.env, cwd, port, check }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
  const logFile = path.join(dir, 'server.log');
  const fd = openSync(logFile, 'w');
  const t0 = performance.now();
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd); // the child holds its own copy
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  child.once('error', (e) => (exit = { code: null, signal: null, error: e.message }));
  const tree = new ProcTree(child.pid);
  const server = {
    name,
    /** The command line, for the record (paths as given). */
    command: [command, ...args].join(' '),
    pid: child.pid,
    tree,
    logFile,
    url: null,
    coldStartMs: NaN,
    /** The body of the first correct answer: later loads expect exactly it. */
    firstBody: null,
    logTail: () => tail(logFile),
    /** Keeps the whole log past stop() (a failed subject): returns where it is now. */
    keepLog: () => {
      const kept = path.join(tmpdir(), `gatehouse-bench-${name}-${Date.now()}.log`);
      copyFileSync(logFile, kept);
      return kept;
    },
    stop: () => {
      live.delete(child.pid);
      return stopTree(child, tree, exited, () => exit, dir);
    },
  };
  live.set(child.pid, { tree, dir });
  try {
    const until = Date.now() + readyBoundMs;
    const failIfGone = () => {
      if (exit) throw new Error(`${name} exited before answering (${exit.error ?? `code ${exit.code}, signal ${exit.signal}`}):\n${tail(logFile)}`);
      if (Date.now() > until) throw new Error(`${name} did not answer within ${readyBoundMs} ms:\n${tail(logFile)}`);
    };
    let base = port ? `http://127.0.0.1:${port}` : null;
    while (!base) {
      failIfGone();
      base = listeningUrl(logFile);
      if (!base) await pause(pollMs);
    }
    server.url = base.replace(/\/$/, '');
    // Connection refused means not yet listening: poll. A completed wrong answer fails at once.
    for (;;) {
      failIfGone();
      let answer;
      try {
        answer = await get(server.url + check.path);
      } catch {
        await pause(pollMs);
        continue;
      }
      server.coldStartMs = performance.now() - t0;
      assertCorrect(answer, check, `${name} ${check.path}`);
      server.firstBody = answer.body;
      return server;
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/**
 * Runs a program that is not a server (a measurement in its own process, e.g. spawn-designs.mjs) to its end,
 * in its own process group and tracked like a server, so an interrupted bench kills it and whatever it started.
 * Resolves with `{ code, signal, stdout, stderr }`; rejects if it has not ended within `boundMs`. Whatever of
 * its tree is still alive when it settles is killed, as for a server.
 */
export async function runTracked({ name, command = process.execPath, args, env = process.env, cwd, boundMs }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const tree = new ProcTree(child.pid);
  live.set(child.pid, { tree, dir: null });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-16_384)));
  let exit = null;
  // 'exit' for stopping the tree (a grandchild may still hold the pipes); 'close' for the output, all of it read.
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit ??= { code, signal }))));
  const closed = new Promise((resolve) => {
    child.once('error', (e) => resolve((exit ??= { code: null, signal: null, error: e.message })));
    child.once('close', (code, signal) => resolve((exit ??= { code, signal })));
  });
  let timer;
  try {
    const bound = new Promise((r) => (timer = setTimeout(r, boundMs, 'timeout')));
    if ((await Promise.race([closed, bound])) === 'timeout') {
      const said = stderr.trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(`${name} did not finish within ${boundMs} ms${said ? `:\n${said}` : ''}`);
    }
    if (exit.error) throw new Error(`${name} could not start: ${exit.error}`);
    return { code: exit.code, signal: exit.signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
    live.delete(child.pid);
    await stopTree(child, tree, exited, () => exit, null);
  }
}

/** Synchronous last resort (process 'exit', a signal): SIGKILL every live server group and what it spawned. */
export function killAllNow() {
  for (const [pid, { tree, dir }] of live) {
    const pids = tree.pids(); // walked before the group dies, while descendants still hang under it
    signalGroup(pid, 'SIGKILL');
    for (const p of pids) killProcess(p);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}

function pause(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** The URL of the first `{"msg":"listening","url":…}` line, or null while there is none. */
function listeningUrl(logFile) {
  let text;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'listening' && entry.url) return entry.url;
    } catch {
      // a line still being written
    }
  }
  return null;
}

function tail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * SIGTERM to the server's process group, SIGKILL to the group if it is not gone within the bound, then
 * SIGKILL to anything from the tree that is still alive: CGI children lead their own process groups, so the
 * group kill alone would miss them. The pid's start time guards against a recycled pid.
 */
async function stopTree(child, tree, exited, exitState, dir) {
  const known = tree.pids().map((pid) => ({ pid, startTime: readStat(pid)?.startTime }));
  tree.stopSampling();
  if (!exitState()) {
    signalGroup(child.pid, 'SIGTERM');
    let timer;
    const bound = new Promise((r) => (timer = setTimeout(r, stopBoundMs, 'timeout')));
    const outcome = await Promise.race([exited, bound]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      signalGroup(child.pid, 'SIGKILL');
      await exited;
    }
  }
  for (const { pid, startTime } of known) {
    const s = readStat(pid);
    if (s && s.startTime === startTime && s.state !== 'Z') killProcess(pid);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * SIGKILL one process. A gatehouse-spawner killed this way cannot remove its socket directory (it does so when its
 * front goes away), so that directory, private to this user and named by the helper's own argument, goes too.
 */
function killProcess(pid) {
  let socketDir = null;
  try {
    const [argv0, socketPath] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dir = socketPath ? path.dirname(socketPath) : '';
    if (path.basename(argv0) === 'gatehouse-spawner' && path.dirname(dir) === tmpdir() && path.basename(dir).startsWith('gatehouse-spawner-')) socketDir = dir;
  } catch {
    // gone already
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // gone meanwhile: it cleaned up after itself
  }
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty
  }
}
