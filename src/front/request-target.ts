// Parses and checks a request target once, so every route sees the same decoded path.
import { GatewayError } from './errors.js';

export interface RequestTarget {
  /** The path exactly as sent (still percent-encoded). */
  rawPath: string;
  /** Everything after the first '?', byte for byte as sent; '' when there is none. */
  query: string;
  /** The path decoded once (RFC 3875 §4.1.5: PATH_INFO is not URL-encoded). */
  path: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Accepts origin-form (`/a/b?q`) and absolute-form (`http://host/a?q`).
 * Refuses, with 400: bad percent-encoding, NUL, an encoded '/', invalid UTF-8 and dot segments,
 * because each has let a path escape a script directory in some well-known CGI host.
 */
export function parseRequestTarget(url: string): RequestTarget {
  let target = url;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (absolute) {
    target = target.slice(absolute[0].length);
    if (!target.startsWith('/')) target = `/${target}`; // RFC 9112 §3.3: an empty path is '/'
  }
  if (!target.startsWith('/')) throw new GatewayError('BAD_REQUEST_TARGET', `not an origin-form target: ${JSON.stringify(url)}`);
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  return { rawPath, query, path: decodePath(rawPath) };
}

/** A '.' or '..' segment. */
const dotSegment = /(?:^|\/)\.\.?(?:\/|$)/;

function decodePath(rawPath: string): string {
  if (/[^\x21-\x7e]/.test(rawPath)) throw new GatewayError('BAD_REQUEST_TARGET', 'raw control, space or non-ASCII byte in path');
  if (!rawPath.includes('%')) {
    // Nothing to decode (the common case): printable ASCII is valid UTF-8 and holds no NUL.
    if (dotSegment.test(rawPath)) throw new GatewayError('BAD_REQUEST_TARGET', 'dot segment in path');
    return rawPath;
  }
  if (/%(?![0-9a-f]{2})/i.test(rawPath)) throw new GatewayError('BAD_REQUEST_TARGET', 'malformed percent-encoding');
  if (/%2f/i.test(rawPath)) throw new GatewayError('BAD_REQUEST_TARGET', 'encoded "/" in path');
  const bytes = Buffer.from(rawPath.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  let path: string;
  try {
    path = utf8.decode(bytes);
  } catch {
    throw new GatewayError('BAD_REQUEST_TARGET', 'path is not valid UTF-8');
  }
  if (path.includes('\0')) throw new GatewayError('BAD_REQUEST_TARGET', 'NUL in path');
  if (dotSegment.test(path)) throw new GatewayError('BAD_REQUEST_TARGET', 'dot segment in path');
  return path;
}
