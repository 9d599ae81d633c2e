// --max-requests: a piscina load balancer that retires a worker after N requests (plus jitter),
// only once it is idle, so recycling never fails a request.
import type { Piscina } from 'piscina';

type PiscinaLoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaWorker = Parameters<PiscinaLoadBalancer>[1][number];

export class Recycler {
  readonly #limit: number;
  readonly #jitter: number;
  readonly #served = new Map<number, number>();
  readonly #quota = new Map<number, number>();
  readonly #retiring = new Set<number>();
  readonly #known = new Map<number, PiscinaWorker>();
  /** Handed over for terminate(): piscina lists them until they exit, and must not pick them meanwhile. */
  readonly #terminating = new Set<number>();

  /** `limit` 0 turns recycling off; each worker's quota is limit + up to `jitter` × limit. */
  constructor(limit: number, jitter = 0.1) {
    this.#limit = limit;
    this.#jitter = jitter;
  }

  get enabled(): boolean {
    return this.#limit > 0;
  }

  /** The least-busy choice among workers that are not retiring. */
  readonly balancer: PiscinaLoadBalancer = (task, workers) => {
    let choice: PiscinaWorker | null = null;
    for (const w of workers) {
      this.#known.set(w.id, w);
      if (w.terminating || w.destroyed || this.#retiring.has(w.id) || this.#terminating.has(w.id) || w.isRunningAbortableTask) continue;
      if (w.currentUsage === 0) {
        choice = w;
        break;
      }
    }
    if (choice && this.enabled && task.name !== 'warm') {
      const n = (this.#served.get(choice.id) ?? 0) + 1;
      this.#served.set(choice.id, n);
      if (!this.#quota.has(choice.id)) this.#quota.set(choice.id, this.#limit + Math.floor(Math.random() * (this.#limit * this.#jitter + 1)));
      if (n >= this.#quota.get(choice.id)!) this.#retiring.add(choice.id);
    }
    return choice;
  };

  /** Thread ids of retiring workers that are idle now: the caller terminates them. */
  takeIdleRetirees(): number[] {
    const out: number[] = [];
    for (const id of this.#terminating) {
      if (this.#known.get(id)?.destroyed !== false) {
        this.#terminating.delete(id);
        this.#known.delete(id);
      }
    }
    for (const id of this.#retiring) {
      const w = this.#known.get(id);
      if (!w || w.destroyed) {
        this.#forget(id);
      } else if (w.currentUsage === 0) {
        out.push(id);
        this.#forget(id);
        this.#known.set(id, w);
        this.#terminating.add(id);
      }
    }
    return out;
  }

  #forget(id: number): void {
    this.#retiring.delete(id);
    this.#served.delete(id);
    this.#quota.delete(id);
    this.#known.delete(id);
  }
}
