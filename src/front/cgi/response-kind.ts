// Classifies a parsed CGI header block into the response types of RFC 3875 §6.2.
import { STATUS_CODES } from 'node:http';
import { GatewayError } from '../errors.js';
import type { CgiHeaders } from './response-parser.js';

export type CgiResponse =
  /** §6.2.2: `Location: /path` and nothing else: the server serves that path itself, as a GET. */
  | { kind: 'local-redirect'; location: string }
  /** §6.2.1 document, §6.2.3 client redirect, §6.2.4 client redirect with document. */
  | { kind: 'document'; status: number; reason: string; fields: [string, string][]; declaredLength: number | null };

/** `//host/x` is network-path (another host), not a local path. */
const isLocalPath = (l: string) => l.startsWith('/') && !l.startsWith('//');
const isAbsoluteUri = (l: string) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(l) || l.startsWith('//');

export function classifyResponse(h: CgiHeaders): CgiResponse {
  if (h.location !== null && h.status === null) {
    if (isLocalPath(h.location)) return { kind: 'local-redirect', location: h.location };
    if (!isAbsoluteUri(h.location)) throw new GatewayError('CGI_BAD_HEADERS', `Location ${JSON.stringify(h.location.slice(0, 80))} is neither a local path nor an absolute URI`);
    return { kind: 'document', status: 302, reason: 'Found', fields: h.fields, declaredLength: h.declaredLength };
  }
  const status = h.status?.code ?? 200;
  // §6.3.1: a document must say what it is; 204/304 have no body, redirects may have none.
  if (h.contentType === null && h.location === null && status !== 204 && status !== 304) {
    throw new GatewayError('CGI_BAD_HEADERS', 'document response without Content-Type');
  }
  const reason = h.status?.reason || STATUS_CODES[status] || '';
  return { kind: 'document', status, reason, fields: h.fields, declaredLength: h.declaredLength };
}
