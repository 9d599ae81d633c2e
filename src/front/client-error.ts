// A connection the HTTP parser refused before any request existed: a malformed or oversized head, or one that
// did not arrive within --header-timeout (slowloris). It gets a bare status line and is closed, with one log line;
// no request handler ever ran, so there is no access line.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorCatalogue, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

/** Node's error codes for the refusals, by the catalogue code they become. */
function codeOf(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket, log: Logger, timeouts: { headerMs: number; requestMs: number }): void {
  // A reset or a client that left mid-head: nobody to answer, and nothing worth a line above debug.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    log.debug({ err: err.code }, 'connection closed before a request arrived');
    return void socket.destroy();
  }
  const code = codeOf(err);
  const { status } = errorCatalogue[code];
  const why = code === 'REQUEST_TIMEOUT' ? `no complete request within ${timeouts.headerMs / 1000} s (head) / ${timeouts.requestMs / 1000} s (whole)` : `${err.code ?? 'parse error'}: ${err.message}`;
  log.info({ code, status, remote: `${socket.remoteAddress}:${socket.remotePort}` }, `${why}: connection closed`);
  // A response to an earlier request still going out on this connection cannot be followed by a status line.
  if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) return void socket.destroy();
  // Written, then destroyed (as Node's own handler does): a client that never reads cannot hold the socket open.
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}
