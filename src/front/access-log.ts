// The access line: one per request, written when the response closes, whatever happened.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeAccessLine, maxLineBytes, type AccessFacts } from './access-line.js';
import { LineBatch } from './line-batch.js';
import { streamOf, type Logger } from './logger.js';

/** Who answered: filled in by the route as the request goes. */
export interface Served {
  /** 'static', 'cgi-script', or '<mode>:<app prefix>'. */
  via: string;
  /** The CGI process (script or per-request app child); not `pid`, which is the front's own on every line. */
  childPid?: number;
  /** The pool worker thread. */
  worker?: number;
}

/** Lines for a destination that is not a LineBatch (tests' capture streams) are encoded here first. */
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Writes access lines as pino would ({"level":30,"time":…,"pid":…,"req":…,…,"msg":"access"}) but straight to
 * the logger's stream, encoded as bytes (access-line.ts): the line has a fixed shape, so one encoder does what
 * pino's general serialiser does with a dozen string concatenations per line.
 */
export class AccessLog {
  readonly #log: Logger;
  readonly #pid = process.pid;

  constructor(log: Logger) {
    this.#log = log;
  }

  write(id: number, req: IncomingMessage, path: string, status: number, complete: boolean, bytes: number, ms: number, served: Served): void {
    if (!this.#log.isLevelEnabled('info')) return;
    const facts: AccessFacts = {
      time: Date.now(), pid: this.#pid, req: id, method: req.method ?? '', path, status, bytes, ms,
      via: served.via, childPid: served.childPid, worker: served.worker, complete,
    };
    const stream = streamOf(this.#log);
    const room = maxLineBytes(facts);
    if (stream instanceof LineBatch) {
      const at = stream.reserve(room);
      if (at !== null) return stream.commit(encodeAccessLine(stream.chunk, at, facts));
    }
    const buf = room <= scratch.length ? scratch : Buffer.allocUnsafe(room);
    stream.write(buf.toString('utf8', 0, encodeAccessLine(buf, 0, facts)));
  }
}

/**
 * One request as the front tracks it: its id, who served it, its logger, and its access line. The logger
 * tagged with the id is made only when something logs besides the access line: most requests never need it,
 * and a pino child per request was a measurable part of a warm request's cost.
 */
export class RequestScope {
  readonly id: number;
  readonly served: Served = { via: 'static' };
  /** Told, once, when the response closes before it finished: the client left. One listener per request. */
  onClientGone: (() => void) | null = null;
  readonly #root: Logger;
  #log: Logger | null = null;

  /** Starts the clock; `onClosed` runs after the access line is written, with its status and time, and the end (performance.now()). */
  constructor(id: number, req: IncomingMessage, res: ServerResponse, root: Logger, access: AccessLog, onClosed: (status: number, ms: number, endedAt: number) => void) {
    this.id = id;
    this.#root = root;
    const started = performance.now();
    const bytesBefore = req.socket.bytesWritten;
    const path = req.url ?? ''; // before an internal redirect rewrites it
    // on, not once: 'close' comes once per response, and once() wraps every listener in another function.
    res.on('close', () => {
      if (!res.writableFinished) this.onClientGone?.();
      const now = performance.now();
      const ms = Math.round((now - started) * 1000) / 1000;
      // Closed before any answer went out: the client left (nginx logs 499), whatever status was set meanwhile.
      const status = res.headersSent ? res.statusCode : 499;
      access.write(id, req, path, status, res.writableFinished, req.socket.bytesWritten - bytesBefore, ms, this.served);
      onClosed(status, ms, now);
    });
  }

  /** The request's logger: every line carries its id. */
  get log(): Logger {
    return (this.#log ??= this.#root.child({ req: this.id }));
  }

  get debug(): boolean {
    return this.#root.isLevelEnabled('debug');
  }
}
