// The front's side of gatehouse-spawner (src/workers/spawner.c): start it, supervise it, ask it for children.
// The helper is exec'd before any app loads and stays tiny, so a spawn costs the same whatever the front holds.
import { spawn as spawnProcess, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { packageRoot } from '../package-root.js';
import { directSpawner, GroupChild, signalGroup, type CgiChild, type ExitStatus, type SpawnRequest, type Spawner, type SpawnerFigures } from './spawn.js';

/** Built from src/workers/spawner.c by `npm run build` (scripts/build-spawner.js). */
export const spawnerBinary = path.join(packageRoot, 'dist', 'spawner', 'gatehouse-spawner');

/** Frame header: u32 body length, u8 type, u32 id (both directions, little-endian). */
const headerBytes = 9;
/** The helper refuses larger specs; Linux's own limit on argv + environment is lower still. */
const maxSpecBytes = 8 * 1024 * 1024;
/** A helper that dies sooner than this after starting is restarted only after this long (no respawn storm). */
const restartPauseMs = 1_000;

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
const signalNames = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

interface Tracked {
  file: string;
  /** Settles the spawn() call, until 'S' or 'F' arrives. */
  started?: { resolve: (pid: number) => void; reject: (e: GatewayError) => void };
  stderr: PassThrough;
  exit: (status: ExitStatus) => void;
  lost: AbortController;
  pid?: number;
}

/** One running gatehouse-spawner process and the children it started for us. */
class HelperProcess {
  readonly ready: Promise<void>;
  readonly gone: Promise<void>;
  readonly startedAt = Date.now();
  #proc: ChildProcessByStdio<Writable, Readable, null>;
  #socketPath: string;
  #tracked = new Map<number, Tracked>();
  #nextId = 0;
  #pending: Buffer = Buffer.alloc(0);
  #dead = false;

  constructor(binary: string, socketPath: string) {
    this.#socketPath = socketPath;
    // detached: its own session, so a terminal's Ctrl-C reaches the front (which drains) and not the helper.
    this.#proc = spawnProcess(binary, [socketPath], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => { markReady = () => { this.#ready = true; resolve(); }; failReady = reject; });
    this.ready.catch(() => {}); // observed by whoever spawns; a failed start must not be an unhandled rejection
    this.#onReady = markReady;
    this.#proc.stdin.on('error', () => {}); // the lifeline breaks when the helper dies; 'close' handles that
    // An idle helper never keeps the front alive (when the front exits, the lifeline's EOF stops the helper);
    // while it starts, and while children it started run, waiting for its frames is work in progress.
    (this.#proc.stdin as unknown as net.Socket).unref();
    void this.ready.then(() => this.#holdLoop(), () => {});
    this.#proc.stdout.on('data', (chunk: Buffer) => this.#read(chunk));
    this.gone = new Promise((resolve) => {
      this.#proc.once('error', (e) => { failReady(e); });
      // 'close', not 'exit': every frame the helper wrote before dying is read first.
      this.#proc.once('close', (code, signal) => {
        this.#dead = true;
        failReady(new Error(`gatehouse-spawner exited (${signal ?? code}) before it was ready`));
        this.#orphan(signal ?? `exit ${code}`);
        resolve();
      });
    });
  }

  #onReady: () => void;
  #ready = false;

  get isReady(): boolean {
    return this.#ready && !this.#dead;
  }
  #closing = false;

  /** Keeps the event loop alive exactly while frames are awaited: before 'R', and while any child is tracked. */
  #holdLoop(): void {
    const hold = !this.#ready || this.#tracked.size > 0 || this.#closing;
    const out = this.#proc.stdout as unknown as net.Socket;
    if (hold) {
      this.#proc.ref();
      out.ref();
    } else {
      this.#proc.unref();
      out.unref();
    }
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  async spawn(req: SpawnRequest): Promise<CgiChild> {
    const id = ++this.#nextId >>> 0;
    const spec = specFrame(id, req);
    const stderr = new PassThrough();
    const lost = new AbortController();
    let exit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => { exit = resolve; });
    const tracked: Tracked = { file: req.file, stderr, exit, lost };
    const pid = new Promise<number>((resolve, reject) => { tracked.started = { resolve, reject }; });
    this.#tracked.set(id, tracked);
    if (this.#tracked.size === 1) this.#holdLoop();

    const stdout = net.createConnection(this.#socketPath);
    // Paused before it connects: a child that exits at once would otherwise emit 'end' before the relay listens.
    stdout.pause();
    stdout.write(spec);
    let stdin: Writable;
    if (req.stdin) {
      const conn = net.createConnection(this.#socketPath);
      conn.write(frame('I', id, Buffer.alloc(0)));
      conn.resume(); // nothing should come back on it; an EOF must still be seen
      stdin = conn;
    } else stdin = discard();
    // A script that exits without reading its stdin must not crash the front with EPIPE/ECONNRESET.
    stdin.on('error', () => {});
    const failStart = (e: Error) => {
      tracked.started?.reject(new GatewayError('SPAWNER_DIED', `could not reach the spawn helper: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    };
    // Either connection failing before the start means the helper will never start this child.
    stdout.once('error', failStart);
    stdin.once('error', failStart);
    try {
      tracked.pid = await pid;
    } catch (e) {
      this.#forget(id);
      stdout.destroy();
      stdin.destroy();
      throw e;
    }
    stdout.off('error', failStart);
    stdin.off('error', failStart);
    stdout.on('error', () => {}); // e.g. ECONNRESET when the group is killed mid-write: the relay sees the end
    return new GroupChild(tracked.pid, stdin, stdout, stderr, exited, req.killGraceMs, lost.signal);
  }

  /** Ends the lifeline: the helper kills whatever is left and exits. */
  async close(): Promise<void> {
    if (!this.#dead) {
      // Waiting for it to go is work: the loop stays alive until its exit and its stdout's end ('close').
      this.#closing = true;
      this.#holdLoop();
      this.#proc.stdin.end();
    }
    await this.gone;
  }

  #forget(id: number): void {
    if (this.#tracked.delete(id) && this.#tracked.size === 0) this.#holdLoop();
  }

  #read(chunk: Buffer): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= headerBytes) {
      const len = buf.readUInt32LE(0);
      if (buf.length < headerBytes + len) break;
      const type = String.fromCharCode(buf[4]!);
      const id = buf.readUInt32LE(5);
      this.#frame(type, id, buf.subarray(headerBytes, headerBytes + len));
      buf = buf.subarray(headerBytes + len);
    }
    // Copy the remainder so a large chunk is not kept alive by a small unread tail.
    this.#pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  #frame(type: string, id: number, body: Buffer): void {
    if (type === 'R') return this.#onReady();
    const t = this.#tracked.get(id);
    if (!t) return;
    switch (type) {
      case 'S':
        t.started?.resolve(body.readInt32LE(0));
        t.started = undefined;
        break;
      case 'F': {
        const errno = body.readInt32LE(0);
        const name = errnoNames.get(errno) ?? `errno ${errno}`;
        const why = name === 'ENOEXEC' ? `${t.file} is neither a #! script nor an ELF binary (ENOEXEC)` : `could not start ${t.file}: ${name}`;
        t.started?.reject(new GatewayError('CGI_START_FAILED', why));
        this.#forget(id);
        break;
      }
      case 'E':
        t.stderr.write(Buffer.from(body));
        break;
      case 'e':
        t.stderr.end();
        break;
      case 'X': {
        const code = body.readInt32LE(0);
        const signal = body.readInt32LE(4);
        t.exit({ code: code < 0 ? null : code, signal: signal ? (signalNames.get(signal) ?? null) : null });
        this.#forget(id);
        break;
      }
    }
  }

  /** The helper is gone: its children are orphans nobody reaps for us. Kill them and fail their requests. */
  #orphan(how: string): void {
    const err = () => new GatewayError('SPAWNER_DIED', `the spawn helper died (${how}) while the program ran`);
    for (const t of this.#tracked.values()) {
      if (t.started) {
        t.started.reject(err());
        continue;
      }
      if (t.pid !== undefined) signalGroup(t.pid, 'SIGKILL');
      t.lost.abort(err());
      t.stderr.end();
      t.exit({ code: null, signal: 'SIGKILL' });
    }
    this.#tracked.clear();
  }
}

/** The spawner `--spawner` asks for; `helper` falls back to `direct`, with a warning, if the helper was never built. */
export function createSpawner(kind: 'helper' | 'direct', log: Logger, binary = spawnerBinary): Spawner {
  if (kind === 'direct') return directSpawner;
  if (!existsSync(binary)) {
    log.warn({ component: 'spawner', binary }, 'spawn helper not built (no C compiler at build time?): CGI processes are forked by the front, whose cost grows with its memory');
    return directSpawner;
  }
  return new HelperSpawner(binary, log);
}

/** Starts CGI children through gatehouse-spawner, restarting it if it dies. */
export class HelperSpawner implements Spawner {
  readonly name = 'helper';
  #binary: string;
  #dir: string;
  #log: Logger;
  #current: HelperProcess;
  #generation = 0;
  #closed = false;
  #restarting: Promise<void> | null = null;

  constructor(binary: string, log: Logger) {
    this.#binary = binary;
    this.#log = log.child({ component: 'spawner' });
    // Private to our user (mkdtemp makes it 0700): only we can ask for processes.
    this.#dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-spawner-'));
    this.#current = this.#start();
  }

  #restarts = 0;

  describe(): SpawnerFigures {
    const h = this.#current;
    const state = this.#restarting ? 'restarting' : h.isReady ? 'running' : 'starting';
    return { kind: 'helper', pid: state === 'running' ? (h.pid ?? null) : null, state, restarts: this.#restarts };
  }

  /** Settles once the first helper is listening; rejects if it cannot start (the caller falls back). */
  get ready(): Promise<void> {
    return this.#current.ready;
  }

  async spawn(req: SpawnRequest): Promise<CgiChild> {
    if (this.#restarting) await this.#restarting;
    const helper = this.#current;
    try {
      await helper.ready;
    } catch (e) {
      // Not running (it could not start, or is between restarts): this child is forked by the front instead.
      this.#log.warn({ err: (e as Error).message }, 'spawn helper not running: spawning from the front');
      return directSpawner.spawn(req);
    }
    return helper.spawn(req);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#current.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #start(): HelperProcess {
    const socket = path.join(this.#dir, `s${++this.#generation}`);
    const helper = new HelperProcess(this.#binary, socket);
    void helper.gone.then(() => this.#onGone(helper));
    return helper;
  }

  #onGone(helper: HelperProcess): void {
    if (this.#closed || helper !== this.#current) return;
    const lived = Date.now() - helper.startedAt;
    const pause = lived < restartPauseMs ? restartPauseMs : 0;
    this.#log.error({ helperPid: helper.pid, restartInMs: pause }, 'spawn helper died; restarting it');
    this.#restarts++;
    this.#restarting = new Promise<void>((resolve) => {
      setTimeout(() => {
        this.#restarting = null;
        if (!this.#closed) this.#current = this.#start();
        resolve();
      }, pause).unref();
    });
  }
}

function frame(type: string, id: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4 + 1 + 4);
  head.writeUInt32LE(body.length, 0);
  head[4] = type.charCodeAt(0);
  head.writeUInt32LE(id, 5);
  return Buffer.concat([head, body]);
}

/** The 'R' frame: ids, flags and counts, then NUL-terminated file, cwd, argv and environment. */
export function specFrame(id: number, req: SpawnRequest): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const strings = [req.file, req.cwd, ...req.args, ...env];
  if (strings.some((s) => s.includes('\0'))) throw new GatewayError('CGI_START_FAILED', 'a NUL byte in the program, its arguments or its environment');
  const text = Buffer.from(strings.join('\0') + '\0');
  const fixed = Buffer.allocUnsafe(20);
  fixed.writeInt32LE(req.runAs ? req.runAs.uid : -1, 0);
  fixed.writeInt32LE(req.runAs ? req.runAs.gid : -1, 4);
  fixed.writeUInt32LE(req.stdin ? 1 : 0, 8);
  fixed.writeUInt32LE(req.args.length, 12);
  fixed.writeUInt32LE(env.length, 16);
  if (fixed.length + text.length > maxSpecBytes) throw new GatewayError('CGI_START_FAILED', 'the environment is too large to start a program (E2BIG)');
  return frame('R', id, Buffer.concat([fixed, text]));
}

/** stdin of a child that gets no body: it reads /dev/null; what the host writes (only an end) goes nowhere. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}
