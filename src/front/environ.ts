// The environ: one pure function turns a request into RFC 3875 meta-variables, for both modes.
// CGI mode hands them to the child as its environment; pool mode hands them to the app.
import type { RequestTarget } from './request-target.js';
import { serverSoftware } from './version.js';

/** What the front knows about the request and its connection. */
export interface RequestFacts {
  method: string;
  target: RequestTarget;
  /** The raw request target, as the client sent it (for REQUEST_URI). */
  url: string;
  /** `1.1` or `1.0`, as Node reports it. */
  httpVersion: string;
  /** Node's rawHeaders: name, value, name, value… in arrival order, duplicates kept. */
  rawHeaders: readonly string[];
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  scheme: 'http' | 'https';
}

/** Where the request landed: which program, and what is left of the path for it. */
export interface MountFacts {
  /** RFC 3875 §4.1.13: the URL path of the program; '' or starting with '/'. */
  scriptName: string;
  /** RFC 3875 §4.1.5: the decoded path after SCRIPT_NAME; '' or starting with '/'. */
  pathInfo: string;
  /** The file that runs (SCRIPT_FILENAME); absent for apps mounted in the pool. */
  scriptFilename?: string;
  documentRoot: string;
}

export interface BodyFacts {
  /** The body length when known (CONTENT_LENGTH); null when streamed to EOF. */
  length: number | null;
  /** The body is being streamed de-chunked without a length (the Apache convention). */
  streamedChunked: boolean;
}

export interface EnvironPolicy {
  /** Hand Authorization / Proxy-Authorization to the program. */
  passAuth: boolean;
}

export type MetaVariables = Record<string, string>;

/** Headers that never become HTTP_* variables. */
const neverExported = new Set([
  'proxy', // httpoxy (CVE-2016-5385): HTTP_PROXY is read as a proxy setting by many HTTP clients
  'content-type', // RFC 3875 §4.1.18: sent as CONTENT_TYPE instead
  'content-length', // sent as CONTENT_LENGTH instead, and only when the gateway knows it
  'transfer-encoding', // the gateway has already removed the chunking
  // Gateway-only: php-cgi's cgi.force_redirect check was bypassed by a client's Redirect-Status header
  // (CVE-2024-8927), and programs that read HTTP_REDIRECT_STATUS as the redirect status would be fooled too.
  'redirect-status',
]);
const credentials = new Set(['authorization', 'proxy-authorization']);
/** Only names made of letters, digits and '-': otherwise `X_Foo` could pose as `X-Foo`. */
const exportableName = /^[A-Za-z0-9-]+$/;
/** A Host value safe to hand on as SERVER_NAME; anything else falls back to the listening address. */
const hostPattern = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d*)?$/;

export function buildEnviron(req: RequestFacts, mount: MountFacts, body: BodyFacts, policy: EnvironPolicy): MetaVariables {
  const env: MetaVariables = {};
  const raw = req.rawHeaders;
  const host = headerValue(raw, 'host');

  env.GATEWAY_INTERFACE = 'CGI/1.1'; // §4.1.4
  env.SERVER_SOFTWARE = serverSoftware; // §4.1.17
  env.SERVER_PROTOCOL = `HTTP/${req.httpVersion}`; // §4.1.16
  env.SERVER_NAME = serverName(host, req.localAddress); // §4.1.14
  env.SERVER_PORT = String(req.localPort); // §4.1.15: the port the request arrived on, not the Host header's
  env.REQUEST_METHOD = req.method; // §4.1.12
  env.SCRIPT_NAME = mount.scriptName; // §4.1.13
  env.PATH_INFO = mount.pathInfo; // §4.1.5
  if (mount.pathInfo !== '') env.PATH_TRANSLATED = mount.documentRoot + mount.pathInfo; // §4.1.6: only with PATH_INFO
  env.QUERY_STRING = req.target.query; // §4.1.7: always set, as sent
  env.REMOTE_ADDR = plainAddress(req.remoteAddress); // §4.1.8
  env.REMOTE_HOST = env.REMOTE_ADDR; // §4.1.9: the address stands in when the name is not looked up
  env.REMOTE_PORT = String(req.remotePort);
  if (body.length !== null && body.length > 0) env.CONTENT_LENGTH = String(body.length); // §4.1.2
  const contentType = headerValue(raw, 'content-type');
  if (contentType !== undefined) env.CONTENT_TYPE = contentType; // §4.1.3: only when the header is present

  // De-facto variables real programs need; only ever set here, never from a client header.
  env.REQUEST_URI = req.url.includes('?') ? `${req.target.rawPath}?${req.target.query}` : req.target.rawPath;
  env.REQUEST_SCHEME = req.scheme;
  env.DOCUMENT_ROOT = mount.documentRoot;
  if (mount.scriptFilename !== undefined) env.SCRIPT_FILENAME = mount.scriptFilename;
  env.REDIRECT_STATUS = '200'; // php-cgi refuses to run without it (cgi.force_redirect)
  if (req.scheme === 'https') env.HTTPS = 'on';

  // §4.1.18: protocol-specific variables from the request headers, repeats joined with ', ' (RFC 9110 §5.3),
  // cookies with '; ' (RFC 6265 §5.4).
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = httpVariable(raw[i]!, policy.passAuth);
    if (key === null) continue;
    const value = raw[i + 1]!;
    const prior = env[key];
    env[key] = prior === undefined ? value : `${prior}${key === 'HTTP_COOKIE' ? '; ' : ', '}${value}`;
  }
  if (body.streamedChunked) env.HTTP_TRANSFER_ENCODING = 'chunked';
  return env;
}

/** The first value of a header (by lower-cased name), repeats joined as for HTTP_*; undefined when absent. */
function headerValue(raw: readonly string[], lower: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length !== lower.length || raw[i]!.toLowerCase() !== lower) continue;
    value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

/**
 * The variable a request header becomes (`User-Agent` → `HTTP_USER_AGENT`), or null when it is never
 * exported. Names repeat across requests, so the answer is remembered (a bounded table of header spellings).
 */
function httpVariable(name: string, passAuth: boolean): string | null {
  let key = knownNames.get(name);
  if (key === undefined) {
    const lower = name.toLowerCase();
    key = neverExported.has(lower) || !exportableName.test(name) ? null : credentials.has(lower) ? credentialKey : `HTTP_${lower.toUpperCase().replaceAll('-', '_')}`;
    if (knownNames.size < maxKnownNames) knownNames.set(name, key);
  }
  if (key === credentialKey) return passAuth ? `HTTP_${name.toUpperCase().replaceAll('-', '_')}` : null;
  return key;
}

/** Stands for a credentials header in `knownNames`: exported only under --pass-auth. */
const credentialKey = '\0credentials';
const knownNames = new Map<string, string | null>();
const maxKnownNames = 512;

function serverName(host: string | undefined, localAddress: string): string {
  const m = host === undefined ? null : hostPattern.exec(host.trim());
  if (m) return m[1]!.toLowerCase();
  const local = plainAddress(localAddress);
  return local.includes(':') ? `[${local}]` : local;
}

/** Without brackets, and IPv4-mapped IPv6 shown as IPv4. */
function plainAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '');
  return bare.startsWith('::ffff:') && bare.includes('.') ? bare.slice(7) : bare;
}
