// What a connection may cost the front: how long its request head and body may take to arrive, how long it
// may sit kept alive, how long it may stall a response, and the answer when the parser refuses it.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { answerClientError } from './client-error.js';
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

export function guardConnections(server: Server, o: Options, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket as Socket, log, { headerMs: o.headerTimeoutMs, requestMs: o.requestTimeoutMs }));
  // A connection that has moved no bytes for --idle-timeout: if the front holds bytes the client is not taking,
  // the client stopped reading, and the connection goes. If not, a program is still working on its answer,
  // which its own --timeout governs: look again later.
  server.setTimeout(o.idleTimeoutMs, (socket) => {
    if (socket.writableLength > 0) {
      log.info({ remote: `${socket.remoteAddress}:${socket.remotePort}`, pendingBytes: socket.writableLength, idleMs: o.idleTimeoutMs }, 'client stopped reading: connection closed');
      socket.destroy();
    } else socket.setTimeout(o.idleTimeoutMs);
  });
}
