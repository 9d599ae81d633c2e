// The gateway's own pages: the status page (and its JSON), /-/metrics and /-/health. Served by the front's main
// thread before any routing, so they never wait behind a queued app or script; seen only from loopback unless
// --status-allow widens it, and 404 to everyone else, as if they were not there.
import { BlockList, isIPv4 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCidr, type Options } from '../options.js';
import type { GatewayMetrics } from './metrics.js';
import { statusPage } from './status-page.js';
import { takeSnapshot, type StatusSources } from './status-snapshot.js';

export const metricsPath = '/-/metrics';
export const healthPath = '/-/health';

/** Whether a request was one of these pages (and has been answered). */
export type StatusEndpoints = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The loopback addresses a client on this host connects from (127.0.0.1, ::1), not all of 127.0.0.0/8: a
 * process bound to another 127.x address is told apart, and a test can stand in for a remote client with one.
 */
function allowList(extra: readonly string[]): BlockList {
  const list = new BlockList();
  list.addAddress('127.0.0.1', 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const cidr of extra) {
    const c = parseCidr(cidr)!; // resolveOptions checked each
    list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

/** An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d: it is judged as the IPv4 address it is. */
function allowed(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : null;
  if (v4) return list.check(v4, 'ipv4');
  return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/**
 * `unhealthy()` names why the gateway should not be sent traffic (draining, the pool crash-looping), or null.
 * Returns null when --no-status turned them off.
 */
export function statusEndpoints(options: Options, sources: StatusSources, unhealthy: () => string | null): StatusEndpoints | null {
  if (!options.status) return null;
  const list = allowList(options.statusAllow);
  const snapshot = () => takeSnapshot(sources);
  // prom-client and its default collectors are loaded at the first scrape: a server nobody scrapes never holds them.
  let metrics: Promise<GatewayMetrics> | null = null;
  const scrape = async () => {
    const m = await (metrics ??= import('./metrics.js').then(({ gatewayMetrics }) => gatewayMetrics(snapshot, sources.stats)));
    return { text: await m.scrape(), contentType: m.contentType };
  };
  const page = options.statusPath;

  // The second character of each path: most requests are told apart by it alone, with no string made.
  const seconds = new Set([page, metricsPath, healthPath].map((p) => p.charCodeAt(1)));

  return function serveStatus(req, res) {
    const url = req.url ?? '';
    if (!seconds.has(url.charCodeAt(1))) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== page && path !== metricsPath && path !== healthPath) return false;
    if (!allowed(list, req.socket.remoteAddress)) return false; // routed on as if absent: a 404 like any other
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('GET or HEAD only\n');
      return true;
    }
    if (path === healthPath) {
      const why = unhealthy();
      res.writeHead(why ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(why ? `${why}\n` : 'ok\n');
    } else if (path === metricsPath) {
      scrape().then(
        ({ text, contentType }) => res.writeHead(200, { 'Content-Type': contentType }).end(text),
        (e: Error) => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${e.message}\n`),
      );
    } else if (new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).get('format') === 'json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(snapshot()));
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(statusPage);
    }
    return true;
  };
}
