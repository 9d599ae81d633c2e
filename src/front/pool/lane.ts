// The front's end of one worker: its lane task in piscina, the requests running on it, and how it ends.
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { LaneChannel } from '../../workers/lane-channel.js';
import type { FrontMessage, PoolTask, PoolTaskResult, RequestStart, ToFront, ToWorker, WorkerMessage } from '../../workers/protocol.js';

/** A request running on a lane: where its messages go, and what it is told if the worker goes. */
export interface LaneRequest {
  onMessage(msg: WorkerMessage): void;
  onLost(why: string): void;
}

export class Lane {
  /** Settles when the worker has imported its apps and said hello; rejects if it dies first. */
  readonly ready: Promise<void>;
  /** The piscina task: resolves when the lane is stopped, rejects when its worker dies or is terminated. */
  readonly task: Promise<PoolTaskResult>;
  /** Requests on this lane plus those granted a place on it and about to start. */
  load = 0;
  /** Requests this lane has taken; it retires at its quota (--max-requests). */
  served = 0;
  quota = Infinity;
  /** No new requests; it ends once its last one is done. */
  retiring = false;
  /** True from the moment it is stopped, killed or found dead. */
  over = false;
  worker = 0;
  #channel: LaneChannel<ToWorker, ToFront>;
  #abort = new AbortController();
  #requests = new Map<number, LaneRequest>();
  #isReady = false;

  constructor(pool: Piscina<PoolTask, PoolTaskResult>) {
    const { port1, port2 } = new MessageChannel();
    let hello!: () => void;
    let failed!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => { hello = resolve; failed = reject; });
    this.ready.catch(() => {}); // a lane that dies before hello is reported through `task`
    this.#channel = new LaneChannel(port1, (msg) => {
      if (msg.t === 'hello') {
        this.worker = msg.worker;
        this.#isReady = true;
        return hello();
      }
      this.#requests.get(msg.id)?.onMessage(msg);
    });
    this.task = pool.run({ port: port2 }, { transferList: [port2], signal: this.#abort.signal });
    this.task.then(
      () => this.#end('its worker stopped'),
      (e: Error) => {
        failed(e);
        this.#end(this.#abort.signal.aborted ? `its worker was terminated (${String(this.#abort.signal.reason)})` : `worker died: ${e.message}`);
      },
    );
  }

  get isReady(): boolean {
    return this.#isReady && !this.over && !this.retiring;
  }

  /** Whether the lane's end was asked for (a timeout, retirement, shutdown) rather than a crash. */
  get killed(): boolean {
    return this.#abort.signal.aborted;
  }

  get running(): number {
    return this.#requests.size;
  }

  start(id: number, req: RequestStart, handler: LaneRequest): void {
    this.#requests.set(id, handler);
    this.#channel.post({ ...req, id });
  }

  send(id: number, msg: FrontMessage, transfer?: ArrayBuffer[]): void {
    this.#channel.post({ ...msg, id }, transfer);
  }

  /** The request is over on the front's side: later messages about it are dropped. */
  finish(id: number): void {
    this.#requests.delete(id);
  }

  /** Asks the worker to end its task (only when nothing runs on it): its thread stays for piscina to reuse. */
  stop(): void {
    if (this.over) return;
    this.over = true;
    this.#channel.post({ id: 0, t: 'stop' });
  }

  /** Terminates the worker thread (piscina does so on abort); whatever runs on it is lost. */
  kill(reason: string): void {
    this.over = true;
    this.#abort.abort(reason);
  }

  #end(why: string): void {
    this.over = true;
    this.#channel.close();
    const lost = [...this.#requests.values()];
    this.#requests.clear();
    for (const r of lost) r.onLost(why);
  }
}
