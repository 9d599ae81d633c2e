// A CGI child's lifecycle: start it in its own process group, kill the whole group, know when it is gone.
// Two ways to start one (a Spawner): from the front itself (here), or through gatehouse-spawner (spawn-helper.ts).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { RunAs } from './run-as.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CgiChild {
  readonly pid: number;
  readonly stdin: Writable;
  /** May start paused, so nothing (not even an early EOF) is emitted before its reader is ready: resume it. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the direct child has exited (Node reaps it: no zombie). */
  readonly exited: Promise<ExitStatus>;
  /** Why the group was killed, if it was. */
  readonly killedBecause: string | undefined;
  /** Aborted, with a GatewayError, if whatever started the child can no longer follow it (the helper died). */
  readonly lost: AbortSignal;
  /** SIGTERM to the whole group now, SIGKILL `graceMs` later if anything in it is still alive. */
  kill(reason: string): void;
}

/** How CGI processes are started: `helper` asks gatehouse-spawner, `direct` forks the front. */
/** Who starts CGI processes, as the status page shows it. */
export interface SpawnerFigures {
  kind: 'helper' | 'direct';
  /** The spawn helper's pid while it runs (direct: none). */
  pid: number | null;
  state: 'running' | 'starting' | 'restarting';
  restarts: number;
}

export interface Spawner {
  readonly name: 'helper' | 'direct';
  describe(): SpawnerFigures;
  spawn(req: SpawnRequest): Promise<CgiChild>;
  /** Stops the spawner itself (children are killed by their owners first). */
  close(): Promise<void>;
}

export interface SpawnRequest {
  file: string;
  /** Chosen by the gateway, never taken from the request (the ISINDEX rule stays off: CVE-2012-1823). */
  args: string[];
  cwd: string;
  env: Record<string, string>;
  runAs: RunAs | null;
  killGraceMs: number;
  /** Whether the child will be sent a request body (else its stdin may be /dev/null). */
  stdin: boolean;
}

export const directSpawner: Spawner = {
  name: 'direct',
  describe: () => ({ kind: 'direct', pid: null, state: 'running', restarts: 0 }),
  spawn: spawnDirect,
  close: async () => {},
};

/** Runs `file` from the front's own process (never through a shell). */
async function spawnDirect(req: SpawnRequest): Promise<CgiChild> {
  await assertExecutableFormat(req.file);
  const child = spawn(req.file, req.args, {
    cwd: req.cwd,
    env: req.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // setsid(): the script leads its own process group, so the group can be killed as one
    ...(req.runAs ? { uid: req.runAs.uid, gid: req.runAs.gid } : {}),
  }) as ChildProcessByStdio<Writable, Readable, Readable>;

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(new GatewayError('CGI_START_FAILED', `could not start ${req.file}: ${e.code ?? e.message}`, { cause: e }));
    });
  });
  // A script that exits without reading its stdin must not crash the front with EPIPE.
  child.stdin.on('error', () => {});
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      // Anything the script left behind in its group goes with it: a CGI request owns its processes.
      signalGroup(child.pid!, 'SIGKILL');
      resolve({ code, signal });
    });
  });
  return new GroupChild(child.pid!, child.stdin, child.stdout, child.stderr, exited, req.killGraceMs);
}

const neverLost = new AbortController().signal;

/** A running child that leads its own process group; how it was started is its owner's business. */
export class GroupChild implements CgiChild {
  killedBecause: string | undefined;
  #graceMs: number;
  #exited = false;

  constructor(
    readonly pid: number,
    readonly stdin: Writable,
    readonly stdout: Readable,
    readonly stderr: Readable,
    readonly exited: Promise<ExitStatus>,
    graceMs: number,
    readonly lost: AbortSignal = neverLost,
  ) {
    this.#graceMs = graceMs;
    void exited.then(() => { this.#exited = true; });
  }

  kill(reason: string): void {
    if (this.killedBecause !== undefined) return;
    this.killedBecause = reason;
    if (this.#exited) return;
    signalGroup(this.pid, 'SIGTERM');
    const escalate = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), this.#graceMs);
    void this.exited.then(() => clearTimeout(escalate));
  }
}

/**
 * libuv execs through execvp(), and glibc's execvp() retries a file that fails with ENOEXEC through /bin/sh.
 * Refuse such files ourselves, so an executable text file without `#!` is never run by a shell.
 */
async function assertExecutableFormat(file: string): Promise<void> {
  const head = Buffer.alloc(4);
  let handle;
  try {
    handle = await open(file, 'r');
    await handle.read(head, 0, 4, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new GatewayError('CGI_START_FAILED', `could not read ${file}: ${code}`, { cause: e });
  } finally {
    await handle?.close();
  }
  const shebang = head[0] === 0x23 && head[1] === 0x21;
  const elf = head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  if (!shebang && !elf) throw new GatewayError('CGI_START_FAILED', `${file} is neither a #! script nor an ELF binary (ENOEXEC)`);
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}
