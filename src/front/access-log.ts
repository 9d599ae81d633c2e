// The access line: one per request, written when the response closes, whatever happened.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

/** Who answered: filled in by the route as the request goes. */
export interface Served {
  /** 'static', 'cgi-script', or '<mode>:<app prefix>'. */
  via: string;
  /** The CGI process (script or per-request app child); not `pid`, which is the front's own on every line. */
  childPid?: number;
  /** The pool worker thread. */
  worker?: number;
}

/** Starts the clock; logs method, path, status, bytes on the wire, ms, and who served it. */
export function logAccessOnClose(req: IncomingMessage, res: ServerResponse, log: Logger, served: Served): void {
  const started = process.hrtime.bigint();
  const bytesBefore = req.socket.bytesWritten;
  const path = req.url; // before an internal redirect rewrites it
  res.once('close', () => {
    log.info({
      method: req.method,
      path,
      status: res.statusCode,
      bytes: req.socket.bytesWritten - bytesBefore,
      ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      ...served,
      complete: res.writableFinished,
    }, 'access');
  });
}
