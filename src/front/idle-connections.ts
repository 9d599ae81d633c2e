// --idle-timeout: a connection that has moved no bytes either way for that long while the front holds bytes for
// it has a client that stopped reading, and is closed. Checked by one sweep over the open connections, not by a
// timer per socket: socket.setTimeout re-arms its timer on every read and write, ~3% of the front's instructions
// per warm request (callgrind, hello at c=8).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from './logger.js';

interface Watched {
  socket: Socket;
  /** Its index in the open list. */
  slot: number;
  /** Bytes read plus bytes the kernel took, at the last sweep that saw them move. */
  moved: number;
  since: number;
}

/** Bytes read plus bytes written that the kernel has taken (bytesWritten counts what is still buffered). */
const movedBytes = (s: Socket) => s.bytesRead + (s.bytesWritten ?? 0) - s.writableLength;

export class IdleConnections {
  /**
   * Open connections: an array whose entries know their index, so a close is O(1) (no Map or WeakMap churning an
   * entry per connection: see the pool's Lane on what such churn costs).
   */
  readonly #open: Watched[] = [];
  readonly #idleMs: number;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;

  constructor(server: Server, idleMs: number, log: Logger) {
    this.#idleMs = idleMs;
    this.#log = log;
    server.on('connection', (socket: Socket) => this.#watch(socket));
    server.on('close', () => clearInterval(this.#timer));
    // A stalled connection goes between 1 and 1.25 idle timeouts after its last byte moved.
    this.#timer = setInterval(() => this.sweep(), Math.max(10, idleMs / 4)).unref();
  }

  #peak = 0;

  /** Connections open now. */
  get open(): number {
    return this.#open.length;
  }

  /** The most connections open at once since the last call (the memory-after-bursts check reads it). */
  takePeak(): number {
    const peak = this.#peak;
    this.#peak = this.#open.length;
    return peak;
  }

  #watch(socket: Socket): void {
    const w: Watched = { socket, slot: this.#open.length, moved: movedBytes(socket), since: performance.now() };
    this.#open.push(w);
    if (this.#open.length > this.#peak) this.#peak = this.#open.length;
    socket.once('close', () => this.#forget(w));
  }

  #forget(w: Watched): void {
    const last = this.#open.pop()!;
    if (last !== w) {
      this.#open[w.slot] = last;
      last.slot = w.slot;
    }
  }

  /** Closes every connection that stalled a response for --idle-timeout (the interval calls this). */
  sweep(): void {
    const now = performance.now();
    const stalled: Socket[] = [];
    for (const w of this.#open) {
      const moved = movedBytes(w.socket);
      if (moved !== w.moved || w.socket.writableLength === 0) {
        // Moving, or nothing of ours waiting on it: a kept-alive or still-working connection is not stalled
        // (keep-alive has its own timeout, and a program its --timeout).
        w.moved = moved;
        w.since = now;
      } else if (now - w.since >= this.#idleMs) stalled.push(w.socket);
    }
    for (const socket of stalled) {
      this.#log.info({ remote: `${socket.remoteAddress}:${socket.remotePort}`, pendingBytes: socket.writableLength, idleMs: this.#idleMs }, 'client stopped reading: connection closed');
      socket.destroy();
    }
  }
}
