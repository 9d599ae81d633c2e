// --timeout for every running pool request with one timer, not one per request. A timer per request cost the
// front ~6% of its instructions per warm request (callgrind, hello at c=8): each setTimeout makes a Timeout, links
// it into a list, and the list itself is made and dropped whenever it empties.

/** Something with a deadline: a request running on a worker. */
export interface Timed {
  /** Its slot in the watch's list, -1 when it has no deadline; kept by the watch. */
  deadlineSlot: number;
  /** Called once its deadline (performance.now() ms) passes; it is no longer watched. */
  onDeadline(): void;
}

export class Deadlines {
  #items: Timed[] = [];
  #at: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now() ms); Infinity when none is armed. */
  #fireAt = Infinity;

  /** Calls `item.onDeadline()` at `at` unless it is set again or cleared first. */
  set(item: Timed, at: number): void {
    if (item.deadlineSlot < 0) {
      item.deadlineSlot = this.#items.length;
      this.#items.push(item);
      this.#at.push(at);
    } else this.#at[item.deadlineSlot] = at;
    // Deadlines made with the same --timeout only ever move later: the armed timer is nearly always early enough.
    if (at < this.#fireAt) this.#arm(at);
  }

  clear(item: Timed): void {
    const slot = item.deadlineSlot;
    if (slot < 0) return;
    item.deadlineSlot = -1;
    const last = this.#items.length - 1;
    if (slot !== last) {
      const moved = this.#items[last]!;
      this.#items[slot] = moved;
      this.#at[slot] = this.#at[last]!;
      moved.deadlineSlot = slot;
    }
    this.#items.pop();
    this.#at.pop();
  }

  /** How many requests are watched (tests). */
  get size(): number {
    return this.#items.length;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#fireAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#fireAt = at;
    // Unref'd: an in-flight request keeps the process alive through its socket, and a timer left armed after the
    // last request must not hold up an exit.
    this.#timer = setTimeout(this.#fire, Math.max(1, at - performance.now())).unref();
  }

  readonly #fire = (): void => {
    this.#fireAt = Infinity;
    const now = performance.now();
    const due: Timed[] = [];
    let next = Infinity;
    for (let i = 0; i < this.#items.length; i++) {
      const at = this.#at[i]!;
      if (at <= now) due.push(this.#items[i]!);
      else if (at < next) next = at;
    }
    for (const item of due) this.clear(item);
    if (next < Infinity) this.#arm(next);
    for (const item of due) item.onDeadline();
  };
}
