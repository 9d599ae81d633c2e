// The web-server side of CGI: run one program for one request, from admission to reaping.
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Limiter } from '../limiter.js';
import type { Logger } from '../logger.js';
import { limits, type Options } from '../options.js';
import { buildEnviron, type MountFacts } from '../environ.js';
import type { RequestRun } from '../request-run.js';
import { prepareBody } from '../request-body.js';
import { GatewayError } from '../errors.js';
import { baseEnvironment } from './base-env.js';
import { relayCgiResponse, relayNph, type RelayOutcome } from './relay.js';
import type { RunAs } from './run-as.js';
import type { CgiChild, Spawner } from './spawn.js';

export interface Program {
  file: string;
  mount: MountFacts;
  /** `nph-` scripts: output relayed unmodified. */
  nph: boolean;
  /** Extra environment (e.g. what a per-request app child needs). */
  extraEnv?: Record<string, string>;
  /** Arguments the gateway itself chose (never words from the request). */
  args?: string[];
  /** Working directory; the script's own directory by default. */
  cwd?: string;
  /** SIGTERM → SIGKILL grace for this program's group. */
  killGraceMs?: number;
  /** A failure exit after headers cuts the response (the gateway's own app children). */
  strictExit?: boolean;
  /** What the program's log lines are tagged with; the file that runs by default. */
  logTags?: Record<string, string>;
}

/** CGI as the status page and the metrics show it. */
export interface CgiFigures {
  /** Programs running now: the file, its pid, and for how long (ms). */
  running: { script: string; pid: number; forMs: number }[];
  spawned: number;
  /** Programs that could not be started (exec failed, the spawn helper unreachable). */
  startFailed: number;
  /** Answered 504, or cut, because the program stayed silent past --timeout. */
  timedOut: number;
  /** Programs the gateway killed (timeouts, departed clients, shutdown). */
  killed: number;
}

interface Running {
  child: CgiChild;
  file: string;
  since: number;
}

/** Kept to a few KiB: enough for a --debug page, never a memory sink. */
const stderrKeepBytes = 8 * 1024;

export class CgiHost {
  readonly #options: Options;
  readonly #limiter: Limiter;
  readonly #runAs: RunAs | null;
  readonly #base: Record<string, string>;
  readonly #children = new Set<Running>();
  readonly #counts = { spawned: 0, startFailed: 0, timedOut: 0, killed: 0 };
  readonly #spawner: Spawner;

  constructor(options: Options, limiter: Limiter, runAs: RunAs | null, spawner: Spawner) {
    this.#options = options;
    this.#limiter = limiter;
    this.#runAs = runAs;
    this.#spawner = spawner;
    this.#base = baseEnvironment(options);
  }

  get running(): number {
    return this.#children.size;
  }

  describe(): CgiFigures {
    const now = performance.now();
    const running = [...this.#children].map((r) => ({ script: r.file, pid: r.child.pid, forMs: Math.round(now - r.since) }));
    return { running, ...this.#counts };
  }

  /** Runs `program` for the request. Throws a GatewayError while the client can still get an error page. */
  async run(run: RequestRun, program: Program): Promise<RelayOutcome> {
    const o = this.#options;
    const body = await prepareBody(run.withBody ? run.req : null, {
      maxBodyBytes: o.maxBodyBytes,
      chunkedBody: o.chunkedBody,
      spoolThresholdBytes: limits.spoolThresholdBytes,
    });
    const queued = new AbortController();
    const onGone = () => queued.abort(new GatewayError('CLIENT_GONE', 'client left while queued: nothing was run'));
    if (run.res.closed) onGone(); // gone while the body was being read
    else run.res.once('close', onGone);
    let release;
    try {
      release = await this.#limiter.acquire(queued.signal);
    } catch (e) {
      await body.cleanup();
      throw e;
    } finally {
      run.res.off('close', onGone);
    }
    let child: CgiChild | undefined;
    let entry: Running | undefined;
    let onLost: (() => void) | undefined;
    try {
      // A client that left while queued is noticed here, before a process is started for nobody.
      if (run.res.closed) throw new GatewayError('CLIENT_GONE', 'client left while queued: nothing was run');
      const env = { ...this.#base, ...program.extraEnv, ...buildEnviron(run.facts, program.mount, body, { passAuth: o.passAuth }) };
      try {
        child = await this.#spawner.spawn({
          file: program.file,
          args: program.args ?? [],
          cwd: program.cwd ?? path.dirname(program.file),
          env,
          runAs: this.#runAs,
          killGraceMs: program.killGraceMs ?? limits.killGraceMs,
          stdin: body.length !== null || body.streamedChunked,
        });
      } catch (e) {
        this.#counts.startFailed++;
        throw e;
      }
      this.#counts.spawned++;
      entry = { child, file: program.file, since: performance.now() };
      this.#children.add(entry);
      run.served.childPid = child.pid;
      const log = run.log.child({ script: program.file, childPid: child.pid, ...program.logTags });
      const stderr = collectStderr(child, log);
      // A streamed body crossing --max-body stops the relay at once: 413 if nothing was sent, else a cut.
      const stop = new AbortController();
      body.pipeTo(child.stdin, (e) => stop.abort(e));
      // The spawn helper died under the script: 502 if nothing was sent yet, else a cut.
      const lost = child.lost;
      onLost = () => stop.abort(lost.reason);
      if (lost.aborted) onLost();
      else lost.addEventListener('abort', onLost, { once: true });
      const relayCtx = {
        res: run.res,
        log,
        timeoutMs: o.timeoutMs,
        isHead: run.facts.method === 'HEAD',
        strictExit: program.strictExit ?? false,
        stop: stop.signal,
      };
      let outcome: RelayOutcome;
      try {
        outcome = await (program.nph ? relayNph(child, relayCtx) : relayCgiResponse(child, relayCtx));
      } catch (e) {
        if (e instanceof GatewayError && e.code === 'TIMEOUT') this.#counts.timedOut++;
        if (e instanceof GatewayError && o.debug) e.debugText = await stderr;
        throw e;
      }
      if (outcome.kind === 'cut' && outcome.timeout) this.#counts.timedOut++;
      const exit = await this.#awaitExit(child, log);
      if (exit.code !== 0 && child.killedBecause === undefined) log.warn({ exitCode: exit.code, signal: exit.signal }, 'script exited with failure');
      return outcome;
    } finally {
      // Direct children share one never-aborted signal: a listener left on it would leak per request.
      if (child && onLost) child.lost.removeEventListener('abort', onLost);
      if (entry) {
        const e = entry;
        void e.child.exited.then(() => {
          this.#children.delete(e);
          if (e.child.killedBecause !== undefined) this.#counts.killed++;
        });
        void e.child.exited.then(release, release);
      } else release();
      void body.cleanup();
    }
  }

  /** After the response: a script that closed stdout but keeps running gets --timeout more, then is killed. */
  async #awaitExit(child: CgiChild, log: Logger) {
    const timer = setTimeout(() => {
      log.warn('script still running after its response ended: killed');
      child.kill('still running after response');
    }, this.#options.timeoutMs);
    const exit = await child.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Shutdown: every running script's group gets SIGTERM, then SIGKILL. Resolves when all have exited. */
  async killAll(reason: string): Promise<void> {
    const all = [...this.#children].map((r) => r.child);
    for (const c of all) c.kill(reason);
    await Promise.all(all.map((c) => c.exited));
  }
}

/** One log line per stderr line, tagged with the request; the tail is kept for --debug pages. */
function collectStderr(child: CgiChild, log: Logger): Promise<string> {
  let kept = '';
  const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
  lines.on('line', (line) => {
    log.warn({ stderr: line }, 'script stderr');
    if (kept.length < stderrKeepBytes) kept += `${line}\n`;
  });
  return new Promise((resolve) => lines.once('close', () => resolve(kept.slice(0, stderrKeepBytes))));
}
