// One request's trip through the pool, front side: lane messages → the socket, with --timeout, client
// disconnect, --max-body crossed mid-stream and worker death. One object per request, no closures per request.
import { GatewayError } from '../errors.js';
import { noBody, type PreparedBody } from '../request-body.js';
import type { RequestRun } from '../request-run.js';
import type { RequestStart, RequestResult, WireBytes, WorkerMessage } from '../../workers/protocol.js';
import type { Deadlines, Timed } from './deadlines.js';
import type { Lane, LaneRequest } from './lane.js';

const noBodyStatus = (s: number) => s === 204 || s === 304;
const wireLength = (b: WireBytes) => (typeof b === 'string' ? b.length : b.byteLength);

/** What the pool does with an exchange that never ran where it was (its worker went, or gave it back). */
export type Requeue = (ex: PoolExchange, from?: Lane) => void;
/** Told once when the request is over on the front's side; `err` while a status page is still possible. */
export type Over = (ex: PoolExchange, err?: GatewayError) => void;

export class PoolExchange implements LaneRequest, Timed {
  readonly id: number;
  readonly movable: boolean;
  readonly run: RequestRun;
  /** The pool's bookkeeping for this request, kept here rather than in a closure per request. */
  body: PreparedBody = noBody;
  sink: { destroy(): void } | null = null;
  dispatchedAt = 0;
  /** The request-body sink's credit: the app read a chunk. */
  onCredit: () => void = () => {};
  /** Set while it waits in the pool's queue: takes it out (its client left). */
  dequeue: (() => void) | null = null;
  deadlineSlot = -1;
  #lane: Lane | null = null;
  readonly #app: string;
  readonly #start: { id: number } & RequestStart;
  readonly #timeoutMs: number;
  readonly #deadlines: Deadlines;
  readonly #requeue: Requeue;
  readonly #onOver: Over;
  #headSeen = false;
  #ended = false;
  #clientGone = false;
  #over = false;
  #tooLarge: GatewayError | undefined;

  constructor(run: RequestRun, app: string, start: { id: number } & RequestStart, timeoutMs: number, deadlines: Deadlines, requeue: Requeue, over: Over) {
    this.id = start.id;
    this.movable = !start.hasBody;
    this.run = run;
    this.#app = app;
    this.#start = start;
    this.#timeoutMs = timeoutMs;
    this.#deadlines = deadlines;
    this.#requeue = requeue;
    this.#onOver = over;
    run.onClientGone = this.#onClose;
  }

  get path(): string {
    return this.run.facts.target.path;
  }

  /** The lane it is on (it moves only if its worker went, or gave it back, before its turn). */
  get lane(): Lane | null {
    return this.#lane;
  }

  moveTo(lane: Lane): void {
    this.#lane = lane;
    if (this.#clientGone) return this.#finish(); // it left while waiting for another worker
    lane.served++;
    if (!lane.start(this.#start, this) && this.run.debug) {
      this.run.log.debug(this.#where({ thread: lane.worker }), 'waits its turn on a busy worker');
    }
    const placed = this.#placed;
    this.#placed = null;
    placed?.();
  }

  /** It waits in the pool's queue, `waiting` requests there in all (no worker has room). */
  onQueued(waiting: number): void {
    if (this.run.debug) this.run.log.debug(this.#where({ waiting }), 'queued: no worker has room');
  }

  /** Runs `fn` once the request is on a lane (at once if it is): its body may then follow it there. */
  whenPlaced(fn: () => void): void {
    if (this.#lane) fn();
    else this.#placed = fn;
  }

  #placed: (() => void) | null = null;

  /** --timeout counts from the moment its worker takes it up. */
  onActive(): void {
    this.#restartTimer();
  }

  onNeverStarted(): void {
    this.run.log.info(this.#where({ thread: this.#lane?.worker }), 'its worker went before its turn: it runs on another');
    this.#requeue(this);
  }

  onMessage(msg: WorkerMessage): void {
    // After the body crossed --max-body the app only saw part of it: whatever it answers is not sent.
    if (this.#tooLarge && msg.t !== 'log' && msg.t !== 'result') {
      if (msg.t === 'response') this.#onResult({ t: 'done' });
      return;
    }
    const res = this.run.res;
    switch (msg.t) {
      case 'response': {
        // The whole response in one message: one writeHead, one end, and the request is over.
        this.#headSeen = this.#ended = true;
        this.#stopTimer();
        if (this.#clientGone) return this.#finish();
        this.run.served.worker = msg.worker;
        const headers = msg.headers;
        if (!noBodyStatus(msg.status)) headers.push('Content-Length', String(wireLength(msg.body)));
        res.writeHead(msg.status, msg.reason, headers);
        if (typeof msg.body === 'string') res.end(msg.body, 'latin1');
        else res.end(msg.body);
        return this.#finish();
      }
      case 'head': {
        this.#headSeen = true;
        this.run.served.worker = msg.worker;
        const headers = msg.headers;
        if (msg.contentLength !== null && !noBodyStatus(msg.status)) headers.push('Content-Length', String(msg.contentLength));
        res.writeHead(msg.status, msg.reason, headers);
        if (msg.end) return this.#end(msg.body);
        if (msg.body) this.#write(msg.body);
        else this.#restartTimer();
        return;
      }
      case 'chunk':
        return this.#write(msg.data);
      case 'end':
        return this.#end(null);
      case 'body-ack':
        return this.onCredit();
      case 'log':
        return void this.run.log.warn(this.#where({ stream: 'gateway.errors' }), msg.text.replace(/\n$/, ''));
      case 'result':
        return this.#onResult(msg.result);
    }
  }

  onLost(why: string): void {
    if (this.#over) return;
    const detail = `${why}, running ${this.#app}`;
    if (this.#ended) return this.#finish();
    if (!this.run.res.headersSent) return this.#finish(new GatewayError('WORKER_DIED', detail));
    this.#cut(detail);
    this.#finish();
  }

  /** A streamed request body crossed --max-body: the app is stopped, and what it answers is not sent. */
  tooLarge(e: GatewayError): void {
    this.#tooLarge = e;
    this.run.log.warn(this.#where({ code: e.code }), e.detail);
    this.#lane?.send(this.id, { t: 'abort' });
    if (this.run.res.headersSent) this.#cut(e.detail);
  }

  #write(data: WireBytes): void {
    // Until the socket has taken it, the client owes the next step, not the app: --timeout waits (a client
    // that stopped reading is --idle-timeout's business, and must not cost the worker its life).
    this.#stopTimer();
    this.#unacked++;
    // The ack is the worker's credit: it goes back once the chunk has reached the socket.
    const ack = this.#ack;
    if (typeof data === 'string') this.run.res.write(data, 'latin1', ack);
    else this.run.res.write(data, ack);
  }

  /** Response parts written but not yet taken by the socket. */
  #unacked = 0;

  readonly #ack = () => {
    this.#lane?.send(this.id, { t: 'ack' });
    if (--this.#unacked === 0 && !this.#ended && !this.#over) this.#restartTimer();
  };

  #end(last: WireBytes | null): void {
    this.#ended = true;
    this.#stopTimer();
    // The result message, which follows, finishes the exchange.
    if (typeof last === 'string') this.run.res.end(last, 'latin1');
    else this.run.res.end(last ?? undefined);
  }

  #onResult(r: RequestResult): void {
    const log = this.run.log;
    if (r.t === 'withdrawn') {
      this.#stopTimer(); // the front may have counted it as started while the answer was on its way
      log.debug(this.#where({ thread: this.#lane?.worker }), 'given back by a busy worker: it runs on a free one');
      return this.#requeue(this, this.#lane!);
    }
    if (r.t === 'failed') {
      log.error(this.#where({ code: r.code, stack: r.stack }), `app failed: ${r.message}`);
      if (!this.#headSeen && !this.run.res.headersSent) {
        return this.#finish(new GatewayError('APP_FAILED', `${this.#app}: ${r.message}`, { debugText: r.stack ?? '' }));
      }
      if (!this.#ended) this.#cut(`app ${this.#app} failed after its headers`);
      return this.#finish();
    }
    if (this.#tooLarge && !this.run.res.headersSent) return this.#finish(this.#tooLarge);
    if (!this.#ended && !this.#clientGone && !this.#tooLarge && r.t === 'done') this.#cut(`app ${this.#app} ended without finishing its response`);
    this.#finish();
  }

  readonly #onClose = () => {
    if (this.#over || this.#ended || this.run.res.writableFinished) return;
    this.#clientGone = true;
    if (this.dequeue) {
      this.dequeue();
      this.dequeue = null;
      return this.#finish(new GatewayError('CLIENT_GONE', 'client left while queued: nothing was run'));
    }
    // The app stops at its next chunk and its body is finalised; the timer still guards a stuck app.
    this.#lane?.send(this.id, { t: 'abort' });
  };

  /** --timeout passed with no progress: the worker is terminated (the deadline watch calls this). */
  onDeadline(): void {
    const lane = this.#lane!;
    const timeoutMs = this.#timeoutMs;
    lane.kill('timeout'); // piscina terminates the worker; a new lane takes its place
    if (!this.#headSeen && !this.#clientGone) {
      return this.#finish(new GatewayError('TIMEOUT', `app ${this.#app} sent no response within ${timeoutMs} ms for ${this.run.facts.url}: worker terminated`));
    }
    if (!this.#clientGone) this.#cut(`app ${this.#app} sent nothing for ${timeoutMs} ms (worker terminated)`);
    else this.run.log.warn(this.#where(), `app ${this.#app} still running ${timeoutMs} ms after its client left: worker terminated`);
    this.#finish();
  }

  #restartTimer(): void {
    this.#deadlines.set(this, performance.now() + this.#timeoutMs);
  }

  #stopTimer(): void {
    this.#deadlines.clear(this);
  }

  #cut(why: string): void {
    this.run.log.warn(this.#where({ code: 'CUT' }), `${why}: connection cut`);
    this.run.res.destroy();
  }

  #finish(err?: GatewayError): void {
    if (this.#over) return;
    this.#over = true;
    this.#stopTimer();
    this.#onOver(this, err);
  }

  #where(extra?: Record<string, unknown>): Record<string, unknown> {
    return { app: this.#app, url: this.run.facts.url, ...extra };
  }
}
