// The regex path dispatcher (the classic `resolve_path`): routes → handler + args, unknown path → 404.
import type { App, Body, Environ, StartResponse } from './types.js';

/** An app that also receives the route's capture groups. */
export type Handler = (environ: Environ, startResponse: StartResponse, ...args: string[]) => Body | Promise<Body>;

/** A pattern and its handler; a string pattern is a regex source (`'/book/(\\d+)'`). */
export type Route = [pattern: RegExp | string, handler: Handler];

export interface Resolved {
  handler: Handler;
  args: string[];
}

// Patterns must match the whole path, so each is wrapped once in absolute anchors. `(?<![\s\S])` and
// `(?![\s\S])` mean start and end of input whatever the flags: `^`/`$` would match at line breaks under
// the `m` flag, and a decoded PATH_INFO may contain one (%0A). The group keeps the capture numbering.
const anchoredRegexes = new WeakMap<RegExp, RegExp>();
const anchoredStrings = new Map<string, RegExp>();

function anchored(pattern: RegExp | string): RegExp {
  if (typeof pattern === 'string') {
    let re = anchoredStrings.get(pattern);
    if (!re) anchoredStrings.set(pattern, (re = anchor(pattern, '')));
    return re;
  }
  let re = anchoredRegexes.get(pattern);
  // Without g and y: those make exec() start at lastIndex, so a route would match every other request.
  if (!re) anchoredRegexes.set(pattern, (re = anchor(pattern.source, pattern.flags.replace(/[gy]/g, ''))));
  return re;
}

function anchor(source: string, flags: string): RegExp {
  return new RegExp(`(?<![\\s\\S])(?:${source})(?![\\s\\S])`, flags);
}

/**
 * The first route whose pattern matches all of `path`, with its capture groups as args
 * ('' for a group that took no part). Args are not decoded again: PATH_INFO is already decoded once by
 * the gateway (RFC 3875 §4.1.5), and a second decode would turn `%2541` into `A` and throw on a bare `%`.
 */
export function resolvePath(routes: readonly Route[], path: string): Resolved | null {
  for (const [pattern, handler] of routes) {
    const m = anchored(pattern).exec(path);
    if (m) return { handler, args: m.slice(1).map((a) => a ?? '') };
  }
  return null;
}

const encoder = new TextEncoder();

/** The default for unknown paths: a plain 404 with its length, so the front can frame it exactly. */
export const notFoundApp: App = function notFound(_environ, startResponse) {
  const body = encoder.encode('Not Found');
  startResponse('404 Not Found', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ]);
  return [body];
};

/** An App that routes on PATH_INFO ('/' when empty, as for an app mounted at its own prefix). */
export function dispatcher(routes: readonly Route[], notFound: App = notFoundApp): App {
  const table = [...routes]; // a later change to the caller's array does not reroute a running app
  for (const [pattern] of table) anchored(pattern); // a bad pattern fails at start-up, not on a request
  return function dispatch(environ, startResponse) {
    const found = resolvePath(table, environ.PATH_INFO || '/');
    if (!found) return notFound(environ, startResponse);
    return found.handler(environ, startResponse, ...found.args);
  };
}
