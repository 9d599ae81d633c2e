// The front: a node:http server, its mount table, the access log, and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { realpathSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { CgiHost } from './cgi/host.js';
import { findScript } from './cgi/lookup.js';
import { resolveRunAs, type RunAs } from './cgi/run-as.js';
import type { RequestFacts } from './environ.js';
import { GatewayError } from './errors.js';
import { Limiter } from './limiter.js';
import { createLogger, type Logger } from './logger.js';
import { limits, OptionError, resolveOptions, type Options } from './options.js';
import { parseRequestTarget } from './request-target.js';
import { sendError } from './send-error.js';
import { staticFiles, type StaticHandler } from './static-files.js';
import { matchMount } from './mounts.js';

export interface GatewayDeps {
  /** Where logs go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
}

export interface Gateway {
  readonly options: Options;
  readonly log: Logger;
  /** Resolves with the real URL once listening. */
  listen(): Promise<string>;
  /** Stop accepting, let in-flight requests finish up to --graceful-timeout, then kill what is left. */
  shutdown(): Promise<void>;
}

const cgiPrefix = '/cgi-bin';
const mountPrefixes = [cgiPrefix, '/'];

/** Request ids: short, unique within a process, cheap. */
let nextRequestId = 0;

export function createGateway(input: Partial<Options>, deps: GatewayDeps = {}): Gateway {
  const options = resolveOptions(input);
  const log = createLogger(options.logLevel, deps.logDestination);
  const realCgiDir = realDir(options.cgiDir, 'cgi-dir');
  const realDocroot = realDir(options.docroot, 'docroot');
  let runAs: RunAs | null;
  try {
    runAs = resolveRunAs(options.cgiUser);
  } catch (e) {
    throw new OptionError((e as Error).message);
  }
  const limiter = new Limiter(options.maxCgi, options.maxQueue);
  const cgi = new CgiHost(options, limiter, runAs);
  const serveStatic: StaticHandler = staticFiles(realDocroot, realCgiDir);
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const server: Server = createServer({ requireHostHeader: false }, (req, res) => {
    const started = process.hrtime.bigint();
    const reqLog = log.child({ req: ++nextRequestId });
    const bytesBefore = req.socket.bytesWritten;
    inFlight.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (draining) setImmediate(() => server.closeIdleConnections());
      reqLog.info({
        method: req.method,
        path: req.url,
        status: res.statusCode,
        bytes: req.socket.bytesWritten - bytesBefore,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        mode: options.mode,
        complete: res.writableFinished,
      }, 'access');
    });
    handle(req, res, reqLog, null, 0).catch((e) => sendError(res, e, reqLog, options.debug));
  });

  /** One request, or one internal (local-redirect) hop of it: `redirect` replaces the target, as a GET. */
  async function handle(req: IncomingMessage, res: ServerResponse, reqLog: Logger, redirect: string | null, hops: number): Promise<void> {
    const url = redirect ?? req.url ?? '/';
    const target = parseRequestTarget(url);
    const facts = requestFacts(req, url, target, redirect !== null);
    const mount = matchMount(mountPrefixes, target.path);
    if (mount.prefix === cgiPrefix) {
      const script = await findScript(realCgiDir, cgiPrefix, mount.rest, runAs);
      const outcome = await cgi.run(
        { req, res, facts, withBody: redirect === null, log: reqLog },
        {
          file: script.filename,
          nph: script.basename.startsWith('nph-'),
          mount: { scriptName: script.scriptName, pathInfo: script.pathInfo, scriptFilename: script.filename, documentRoot: realDocroot },
        },
      );
      if (outcome.kind === 'local-redirect') {
        if (hops >= limits.maxLocalRedirects) throw new GatewayError('REDIRECT_LOOP', `more than ${limits.maxLocalRedirects} local redirects, last to ${outcome.location}`);
        reqLog.debug({ location: outcome.location }, 'local redirect');
        return handle(req, res, reqLog, outcome.location, hops + 1);
      }
      return;
    }
    if (redirect !== null) {
      // serve-static reads req.url and req.method; an internal redirect is a GET of the new target.
      req.url = redirect;
      req.method = 'GET';
    }
    await serveStatic(req, res, target.path);
  }

  function requestFacts(req: IncomingMessage, url: string, target: ReturnType<typeof parseRequestTarget>, internal: boolean): RequestFacts {
    const socket = req.socket;
    return {
      method: internal ? 'GET' : (req.method ?? 'GET'),
      target,
      url,
      httpVersion: req.httpVersion,
      // An internal redirect drops the body, so its description goes too.
      rawHeaders: internal ? withoutBodyHeaders(req.rawHeaders) : req.rawHeaders,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? options.host,
      localPort: socket.localPort ?? options.port,
      scheme: 'http',
    };
  }

  return {
    options,
    log,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          const { address, port } = server.address() as AddressInfo;
          const host = address.includes(':') ? `[${address}]` : address;
          const url = `http://${host}:${port}/`;
          log.info({ url, mode: options.mode, cgiDir: realCgiDir, docroot: realDocroot, runAs: runAs?.user ?? null }, 'listening');
          resolve(url);
        });
      });
    },
    async shutdown() {
      draining = true;
      log.info({ inFlight: inFlight.size, graceMs: options.gracefulTimeoutMs }, 'shutting down: no new connections');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, options.gracefulTimeoutMs, 'timeout').unref());
      const settled = await Promise.race([closed.then(() => 'drained' as const), grace]);
      if (settled === 'timeout') {
        log.warn({ inFlight: inFlight.size, scripts: cgi.running }, 'graceful timeout passed: killing what is left');
        await cgi.killAll('server shutting down');
        server.closeAllConnections();
        await closed;
      }
      log.info('stopped');
      log.flush?.();
    },
  };
}

function realDir(dir: string, flag: string): string {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    throw new OptionError(`${flag}: no such directory ${dir}`);
  }
  if (!statSync(real).isDirectory()) throw new OptionError(`${flag}: not a directory: ${dir}`);
  return real;
}

const bodyHeaders = new Set(['content-length', 'content-type', 'transfer-encoding']);
function withoutBodyHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!bodyHeaders.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}
