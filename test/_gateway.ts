// Test helpers: a real gateway on port 0 with captured logs, fixture directories a `nobody` can reach,
// and small HTTP clients. Every helper cleans up after itself.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { cpSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGateway, type Gateway } from '../src/front/gateway.js';
import type { Options } from '../src/front/options.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const fixtures = path.join(root, 'test', 'fixtures');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RunningGateway {
  url: string;
  port: number;
  gateway: Gateway;
  logs: LogLine[];
  /** Resolves with the first log line matching `pred` (bounded wait). */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/**
 * Copies a directory to a fresh world-readable temp dir, so scripts can run as `nobody` when the tests run
 * as root (a checkout under /root is not reachable for `nobody`). Modes are kept.
 */
export function reachableCopy(src: string): { dir: string; remove: () => void } {
  const base = mkdtempSync(path.join(tmpdir(), 'gatehouse-test-'));
  chmodSync(base, 0o755);
  const dir = path.join(base, path.basename(src));
  cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
  makeReachable(dir);
  return { dir, remove: () => rmSync(base, { recursive: true, force: true }) };
}

function makeReachable(dir: string): void {
  chmodSync(dir, statSync(dir).mode | 0o555);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) makeReachable(path.join(dir, e.name));
    else if (e.isFile()) chmodSync(path.join(dir, e.name), statSync(path.join(dir, e.name)).mode | 0o444);
  }
}

/** Collects JSON log lines and lets a test wait (boundedly) for the first one that matches. */
class LogWatch {
  readonly lines: LogLine[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(private readonly extra: () => string = () => '') {}

  push(line: LogLine): void {
    this.lines.push(line);
    for (const w of this.#waiters) w();
  }

  waitFor = (pred: (l: LogLine) => boolean, boundMs = 10_000): Promise<LogLine> =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (!hit) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching log line within ${boundMs} ms; saw:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}${this.extra()}`));
      }, boundMs);
      this.#waiters.add(check);
      check();
    });
}

/** Starts a gateway on 127.0.0.1:0, runs `fn`, always shuts it down. */
export async function withGateway<T>(options: Partial<Options>, fn: (g: RunningGateway) => Promise<T>): Promise<T> {
  const watch = new LogWatch();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) watch.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  // No apps unless a test mounts some: CGI tests need no worker threads.
  const gateway = createGateway({ host: '127.0.0.1', port: 0, logLevel: 'debug', gracefulTimeoutMs: 2000, apps: [], ...options }, { logDestination: sink });
  const url = await gateway.listen();
  const port = Number(new URL(url).port);
  try {
    return await fn({ url: url.replace(/\/$/, ''), port, gateway, logs: watch.lines, waitForLog: watch.waitFor });
  } finally {
    await gateway.shutdown();
  }
}

/** A gateway kept running across several tests (beforeAll/afterAll): `stop` shuts it down. */
export function holdGateway(options: Partial<Options>): Promise<{ g: RunningGateway; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const done = withGateway(options, async (g) => {
      resolve({ g, stop: async () => { release(); await done; } });
      await released;
    });
    done.catch(reject);
  });
}

export interface Command {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Its JSON log lines (stdout), as they come. */
  logs: LogLine[];
  waitForLog(pred: (l: LogLine) => boolean, boundMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export const bin = path.join(root, 'bin', 'gatehouse.js');

/** The command runs built code: fail clearly when the module bin/gatehouse.js imports has not been built. */
export function requireBuild(): void {
  const spec = /from '(\.\.\/dist\/[^']+)'/.exec(readFileSync(bin, 'utf8'))?.[1];
  if (spec && !existsSync(path.resolve(path.dirname(bin), spec))) throw new Error(`${spec} is missing: run \`npx tsc -p .\` (npm run build) first`);
}

/** Starts the real command, `node bin/gatehouse.js …`, and follows its JSON log on stdout. */
export function startCommand(args: string[], env: Record<string, string> = {}): Command {
  requireBuild();
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const watch = new LogWatch(() => `\nstderr:\n${stderr}`);
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      watch.push(JSON.parse(line) as LogLine);
    } catch {
      watch.push({ level: 0, msg: `(not JSON) ${line}` });
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, logs: watch.lines, waitForLog: (pred, boundMs = 15_000) => watch.waitFor(pred, boundMs), exited, stderr: () => stderr };
}

export interface Reply {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** Raw header pairs as received. */
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

/** A real HTTP/1.1 request with node:http (no keep-alive). `body` may be a string, Buffer or async iterable (sent chunked). */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer | AsyncIterable<Buffer | string>; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.setTimeout(init.timeoutMs ?? 20_000, () => req.destroy(new Error('client timeout')));
    const body = init.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          req.end();
        } catch (e) {
          req.destroy(e as Error);
        }
      })();
    }
  });
}

/** Sends raw bytes over a TCP socket and returns everything the server sent until it closed (bounded). */
export function rawRequest(port: number, raw: string | Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    }, timeoutMs);
    socket.on('connect', () => socket.write(raw));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (chunks.length) resolve(Buffer.concat(chunks));
      else reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** True while a process with this pid exists (zombies included: see isZombie). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Running, as opposed to gone or dead-but-unreaped (an orphan killed with its group is reaped by init, not by us). */
export function isRunning(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The numbers a fixture printed on stderr as `NAME=N [M…]`, read from the gateway's log. */
export async function stderrNumbers(g: RunningGateway, name: string): Promise<number[]> {
  const re = new RegExp(`^${name}=(\\d+(?: \\d+)*)$`);
  const line = await g.waitForLog((l) => typeof l.stderr === 'string' && re.test(l.stderr));
  return re.exec(String(line.stderr))![1]!.split(' ').map(Number);
}

/** Polls `cond` until true or the bound passes; never a bare sleep. */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 25): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Parses `env-KEY=value` lines printed by the env fixture. */
export function parseEnvDump(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^env-([^=]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Zombie processes (state Z) whose parent is this process. */
/** Every process below this one (children, the spawn helper's children, and so on), with its state. */
export function descendants(): { pid: number; state: string }[] {
  const parents = new Map<number, { ppid: number; state: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /\) (\S) (\d+)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (m) parents.set(Number(name), { state: m[1]!, ppid: Number(m[2]) });
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid)?.ppid; p !== undefined && p > 1; p = parents.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  return [...parents].filter(([pid]) => below(pid)).map(([pid, { state }]) => ({ pid, state }));
}

/** Zombies anywhere below this process: a child someone (the front or the spawn helper) failed to reap. */
export function zombieChildren(): number[] {
  return descendants().filter((p) => p.state === 'Z').map((p) => p.pid);
}
