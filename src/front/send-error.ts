// The one boundary where a failure becomes a response: a status page before headers, a cut connection after.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { errorCatalogue, GatewayError, isGatewayError } from './errors.js';
import { limits } from './options.js';
import type { Logger } from './logger.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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
export function sendError(res: ServerResponse, e: unknown, log: Logger, debug: boolean): void {
  const err = toGatewayError(e);
  const level = err.status >= 500 ? 'error' : 'info';
  log[level]({ code: err.code, status: err.status, ...(err.code === 'INTERNAL' && err.debugText ? { stack: err.debugText } : {}) }, err.detail);
  if (res.headersSent || res.writableEnded || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const title = `${err.status} ${STATUS_CODES[err.status] ?? ''}`.trim();
  let page = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<p>${escapeHtml(errorCatalogue[err.code].message)}</p>\n`;
  if (debug) {
    page += `<h2>Detail (--debug)</h2>\n<pre>${escapeHtml(err.detail)}</pre>\n`;
    if (err.debugText) page += `<pre>${escapeHtml(err.debugText)}</pre>\n`;
  }
  page += '</body></html>\n';
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
