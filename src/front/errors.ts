// The catalogue of request failures: each has a stable code, an HTTP status and a public sentence.
// Failures travel as GatewayError values and become responses at exactly one place (send-error.ts).
import { appFailedMessage } from '../app/error-page.js';

export const errorCatalogue = {
  BAD_REQUEST_TARGET: { status: 400, message: 'The request target is malformed.' },
  // Refused by the HTTP parser before there was a request (client-error.ts): a bare response, then close.
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request head is too large.' },
  NOT_FOUND: { status: 404, message: 'Nothing is here.' },
  FORBIDDEN: { status: 403, message: 'This resource may not be run or served.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  // Not an HTTP status anyone receives: the client is gone. nginx's 499, for the access line and the log.
  CLIENT_GONE: { status: 499, message: 'The client closed the request.' },
  CGI_START_FAILED: { status: 500, message: 'The script could not be started.' },
  REDIRECT_LOOP: { status: 500, message: 'The script redirected too many times.' },
  INTERNAL: { status: 500, message: 'The server failed to handle this request.' },
  APP_FAILED: { status: 500, message: appFailedMessage },
  WORKER_DIED: { status: 502, message: 'The worker running the application died.' },
  CGI_BAD_HEADERS: { status: 502, message: 'The script did not send a valid response.' },
  CGI_DIED: { status: 502, message: 'The script died before finishing its response.' },
  SPAWNER_DIED: { status: 502, message: 'The process that starts scripts failed; try again.' },
  OVERLOADED: { status: 503, message: 'The server is busy; try again shortly.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down.' },
  TIMEOUT: { status: 504, message: 'The program took too long to answer.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly code: ErrorCode;
  readonly status: number;
  /** What the log line says (never shown to the client unless --debug). */
  readonly detail: string;
  /** Extra text for the --debug page, such as a script's stderr. */
  debugText: string | undefined;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown; debugText?: string }) {
    super(`${code}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.detail = detail;
    this.debugText = options?.debugText;
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
