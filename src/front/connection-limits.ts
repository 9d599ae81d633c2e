// What a connection may cost the front: how long its request head and body may take to arrive, how long it
// may sit kept alive, how long it may stall a response, and the answer when the parser refuses it.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { answerClientError } from './client-error.js';
import { IdleConnections } from './idle-connections.js';
import { MemoryAfterLoad } from './memory-after-load.js';
import type { Logger } from './logger.js';
import type { Options } from './options.js';

/** node:http's own limits, from the flags. */
export function serverLimits(o: Options): ServerOptions {
  return {
    requireHostHeader: false,
    headersTimeout: o.headerTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    // How often Node checks the two above; its 30 s default would let a stalled head live up to 40 s.
    connectionsCheckingInterval: Math.min(1_000, o.headerTimeoutMs),
  };
}

/**
 * Header, idle and client-error handling for every connection, and memory given back after a load
 * (`requests` counts the requests the server has started).
 */
export function guardConnections(server: Server, o: Options, log: Logger, requests: () => number): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket as Socket, log, { headerMs: o.headerTimeoutMs, requestMs: o.requestTimeoutMs }));
  const idle = new IdleConnections(server, o.idleTimeoutMs, log);
  const memory = new MemoryAfterLoad(idle, requests, log);
  server.on('close', () => memory.stop());
}
