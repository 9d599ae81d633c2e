// The one boundary where a failure becomes a response: a status page before headers, a cut connection after.
import type { ServerResponse } from 'node:http';
import { errorCatalogue, GatewayError, isGatewayError } from './errors.js';
import { limits } from './options.js';
import type { Logger } from './logger.js';

import { renderErrorPage } from '../app/error-page.js';
import type { RefusalLog } from './refusal-log.js';

/** Pages without --debug's detail are the same for every request with that code: made once each. */
const plainPages = new Map<GatewayError['code'], string>();

function plainPage(err: GatewayError): string {
  let page = plainPages.get(err.code);
  if (page === undefined) plainPages.set(err.code, (page = renderErrorPage(err.status, errorCatalogue[err.code].message, [])));
  return page;
}

export function toGatewayError(e: unknown): GatewayError {
  if (isGatewayError(e)) return e;
  const err = new GatewayError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
  if (e instanceof Error && e.stack) err.debugText = e.stack;
  return err;
}

/**
 * Answers a failure. Not started → a short, detail-free page (the detail only under --debug);
 * headers already sent → destroy the socket so the client sees a truncated response, never a short clean one.
 */
export function sendError(res: ServerResponse, e: unknown, log: Logger, debug: boolean, refusals?: RefusalLog): void {
  const err = toGatewayError(e);
  if (err.code === 'OVERLOADED' && refusals) refusals.note(err.detail);
  else {
    const level = err.status >= 500 ? 'error' : 'info';
    log[level]({ code: err.code, status: err.status, ...(err.code === 'INTERNAL' && err.debugText ? { stack: err.debugText } : {}) }, err.detail);
  }
  if (res.headersSent || res.writableEnded || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const page = debug ? renderErrorPage(err.status, errorCatalogue[err.code].message, [err.detail, ...(err.debugText ? [err.debugText] : [])]) : plainPage(err);
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = err.status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(page));
  res.setHeader('Cache-Control', 'no-store');
  if (err.status === 503) res.setHeader('Retry-After', String(limits.retryAfterSeconds));
  // A body we did not read (e.g. a 413) must not be parsed as the next request.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  res.end(page);
}
