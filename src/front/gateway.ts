// The front: a node:http server, its mount table, the access log, and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { AccessLog, RequestScope } from './access-log.js';
import { guardConnections, serverLimits } from './connection-limits.js';
import { CgiHost } from './cgi/host.js';
import { createSpawner } from './cgi/spawn-helper.js';
import { findScript } from './cgi/lookup.js';
import type { RelayOutcome } from './cgi/relay.js';
import { resolveRunAs, type RunAs } from './cgi/run-as.js';
import type { RequestFacts } from './environ.js';
import { Run } from './request-run.js';
import { GatewayError } from './errors.js';
import { Limiter } from './limiter.js';
import { createLogger, type Logger } from './logger.js';
import { matchMount } from './mounts.js';
import { limits, OptionError, resolveOptions, type Options } from './options.js';
import { builtFile } from './package-root.js';
import { realDir, warnIfUnreachable } from './served-dirs.js';
import type { AppPool } from './pool/app-pool.js';
import { checkApps } from './check-apps.js';
import { parseRequestTarget } from './request-target.js';
import { RefusalLog } from './refusal-log.js';
import { RequestStats } from './status/request-stats.js';
import { statusEndpoints } from './status/status-endpoints.js';
import { version } from './version.js';
import { sendError, toGatewayError } from './send-error.js';
import { staticFiles, type StaticHandler } from './static-files.js';

export interface GatewayDeps {
  /** Where logs go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /**
   * CGI mode's import check, if the caller started it already (the command starts it before it loads the
   * gateway's modules, so the check's thread boots meanwhile); else the gateway starts it.
   */
  appsChecked?: Promise<void>;
}

export interface Gateway {
  readonly options: Options;
  readonly log: Logger;
  /** Checks the apps, starts the pool (pool mode), listens; resolves with the real URL. */
  listen(): Promise<string>;
  /** Builds a new pool and switches to it only if every app imports; the old pool drains. */
  reload(): Promise<boolean>;
  /** Stop accepting, let in-flight requests finish up to --graceful-timeout, then kill what is left. */
  shutdown(): Promise<void>;
}

const cgiPrefix = '/cgi-bin';
/** The per-request app child: run by node, once per request in CGI mode. */
const cgiChildScript = builtFile('workers', 'cgi-child.js');
/** SIGTERM → SIGKILL grace for a per-request app child (it finalises its body on SIGTERM). */
const appChildGraceMs = 2_000;

type Route = { kind: 'cgi' } | { kind: 'static' } | { kind: 'app'; index: number };

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
  const apps = options.apps ?? [];
  // The mount table: '' stands for '/'. Apps may take '/' from the docroot.
  const routes = new Map<string, Route>([['', { kind: 'static' }]]);
  apps.forEach((a, index) => routes.set(a.prefix === '/' ? '' : a.prefix, { kind: 'app', index }));
  routes.set(cgiPrefix, { kind: 'cgi' });
  const prefixes = [...routes.keys()];

  const limiter = new Limiter(options.maxCgi, options.maxQueue);
  // A script slot held is a program running: the pool's idle workers do not poll meanwhile.
  limiter.onActive = (n) => {
    if (pool) pool.programsRunning = n;
  };
  // Before any app loads: the helper is exec'd fresh, so its size never depends on what the front holds.
  const spawner = createSpawner(options.spawner, log);
  const cgi = new CgiHost(options, limiter, runAs, spawner);
  const serveStatic: StaticHandler = staticFiles(realDocroot, realCgiDir);
  // A count, not a Set of responses: see Lane's note on collections that churn per request.
  let inFlight = 0;
  let pool: AppPool | null = null;
  let draining = false;
  let stopping: Promise<void> | null = null;
  /** Set once a draining server's linger for kept-alive connections is over: idle ones are then closed. */
  let lingerOver = false;
  // While any pool (two during a reload) has requests in flight, CGI runs fewer scripts at once. The cap lifts
  // only once the pool has stayed idle a moment: a busy pool is idle for a few µs between requests, and
  // lifting then let a burst of scripts in each time.
  let busyPools = 0;
  let lift: NodeJS.Timeout | undefined;
  const startPool = async (): Promise<AppPool> => {
    // Loaded here, not at start: a CGI-mode front never needs piscina and the pool's modules.
    const { AppPool } = await import('./pool/app-pool.js');
    const p = await AppPool.start(apps, options, log);
    p.programsRunning = limiter.active;
    p.onBusy = (busy) => {
      busyPools += busy ? 1 : -1;
      clearTimeout(lift);
      if (busyPools > 0) limiter.setCap(options.maxCgiBesidePool, 'pool requests in flight, --max-cgi-beside-pool');
      else lift = setTimeout(() => limiter.setCap(Infinity), limits.cgiCapLiftMs).unref();
    };
    return p;
  };

  // The apps' warm-up (pool mode: the workers, which import them; CGI mode: the import check) starts now, so it
  // boots on its own threads while the rest of the gateway is set up; listen() waits for it.
  const warming: Promise<void> =
    options.mode === 'pool' && apps.length ? startPool().then((p) => void (pool = p)) : (deps.appsChecked ?? checkApps(apps.map((a) => a.module)));
  warming.catch(() => {}); // listen() reports it

  const access = new AccessLog(log);
  const stats = new RequestStats();
  let listeningUrl = '';
  const serveStatus = statusEndpoints(options, {
    mode: options.mode,
    version,
    url: () => listeningUrl,
    stats,
    inFlight: () => inFlight - 1, // the status request asking is one of them
    draining: () => draining,
    pool: () => pool?.describe() ?? null,
    cgi: () => cgi.describe(),
    cgiLimits: () => ({ ...limiter.limits, running: limiter.active, queued: limiter.queued }),
    spawner: () => spawner.describe(),
  }, () => (draining ? 'draining' : (pool?.pausedMs ?? 0) > 0 ? 'workers keep dying: dispatch paused' : null));

  const server: Server = createServer(serverLimits(options), (req, res) => {
    inFlight++;
    const scope = new RequestScope(++nextRequestId, req, res, log, access, (status, ms, endedAt) => {
      inFlight--;
      if (scope.served.via !== 'status') stats.record(scope.served.via, status, ms, endedAt);
      if (lingerOver) setImmediate(() => server.closeIdleConnections());
    });
    if (draining) res.setHeader('Connection', 'close');
    if (serveStatus?.(req, res)) {
      scope.served.via = 'status';
      return;
    }
    try {
      handle(req, res, scope, null, 0)?.catch((e) => fail(res, e, scope));
    } catch (e) {
      fail(res, e, scope);
    }
  });

  const refusals = new RefusalLog(log);
  /** A request's failure, answered: a refusal is counted by the refusal log, with no logger made for its request. */
  function fail(res: ServerResponse, e: unknown, scope: RequestScope): void {
    const err = toGatewayError(e);
    sendError(res, err, err.code === 'OVERLOADED' ? log : scope.log, options.debug, refusals);
  }

  guardConnections(server, options, log, () => nextRequestId);

  /** `via` in the access line for each app, made once. */
  const appVia = apps.map((a) => `${options.mode}:${a.prefix}`);

  /**
   * One request, or one internal (local-redirect) hop of it: `redirect` replaces the target, as a GET. Routes
   * synchronously: a pool request is dispatched with no promise of its own (undefined); the routes that wait
   * on something return a promise. Throws a GatewayError for a target refused outright.
   */
  function handle(req: IncomingMessage, res: ServerResponse, scope: RequestScope, redirect: string | null, hops: number): Promise<void> | undefined {
    const url = redirect ?? req.url ?? '/';
    const target = parseRequestTarget(url);
    const facts = requestFacts(req, url, target, redirect !== null);
    const mount = matchMount(prefixes, target.path);
    const route = routes.get(mount.prefix)!;
    const run = new Run(req, res, facts, redirect === null, scope);
    if (route.kind === 'app' && options.mode === 'pool') {
      scope.served.via = appVia[route.index]!;
      if (!pool) throw new GatewayError('SHUTTING_DOWN', 'the pool is not running');
      return pool.serve(run, route.index, { scriptName: mount.prefix, pathInfo: mount.rest, documentRoot: realDocroot });
    }
    if (route.kind === 'static') {
      if (redirect !== null) {
        // serve-static reads req.url and req.method; an internal redirect is a GET of the new target.
        req.url = redirect;
        req.method = 'GET';
      }
      return serveStatic(req, res, target.path);
    }
    return runProgram(run, route, mount.prefix, mount.rest, scope, hops);
  }

  /** A CGI script, or an app run as one (CGI mode); its local redirect is handled as a new hop. */
  async function runProgram(run: Run, route: Exclude<Route, { kind: 'static' }>, prefix: string, rest: string, scope: RequestScope, hops: number): Promise<void> {
    const outcome = await runOnce(run, route, prefix, rest, scope);
    if (outcome.kind === 'local-redirect') {
      if (hops >= limits.maxLocalRedirects) throw new GatewayError('REDIRECT_LOOP', `more than ${limits.maxLocalRedirects} local redirects, last to ${outcome.location}`);
      scope.log.debug({ location: outcome.location }, 'local redirect');
      return handle(run.req, run.res, scope, outcome.location, hops + 1);
    }
  }

  /** One run of the script or app child, to the end of its response (or its local redirect). */
  async function runOnce(run: Run, route: Exclude<Route, { kind: 'static' }>, prefix: string, rest: string, scope: RequestScope): Promise<RelayOutcome> {
    if (route.kind === 'cgi') {
      scope.served.via = 'cgi-script';
      const script = await findScript(realCgiDir, cgiPrefix, rest, runAs);
      return cgi.run(run, {
        file: script.filename,
        nph: script.basename.startsWith('nph-'),
        mount: { scriptName: script.scriptName, pathInfo: script.pathInfo, scriptFilename: script.filename, documentRoot: realDocroot },
      });
    } else {
      const app = apps[route.index]!;
      scope.served.via = appVia[route.index]!;
      return cgi.run(run, {
        file: process.execPath,
        args: [cgiChildScript, app.module],
        cwd: path.dirname(app.module),
        nph: false,
        mount: { scriptName: prefix, pathInfo: rest, documentRoot: realDocroot },
        killGraceMs: appChildGraceMs,
        strictExit: true,
        logTags: { app: app.prefix, script: app.module },
        ...(options.debug ? { extraEnv: { GATEHOUSE_DEBUG: '1' } } : {}),
      });
    }
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
    async listen() {
      // Every app imports, in both modes, before the first connection is accepted.
      try {
        await warming;
      } catch (e) {
        await spawner.close();
        throw e;
      }
      if (runAs) warnIfUnreachable(realCgiDir, runAs, log);
      return new Promise((resolve, reject) => {
        // A port that cannot be had (EADDRINUSE) leaves nothing behind: no pool threads, no spawn helper.
        const cannotListen = (e: Error) => void Promise.allSettled([pool?.destroy(), spawner.close()]).then(() => reject(e));
        server.once('error', cannotListen);
        server.listen(options.port, options.host, () => {
          server.off('error', cannotListen);
          const { address, port } = server.address() as AddressInfo;
          const host = address.includes(':') ? `[${address}]` : address;
          const url = `http://${host}:${port}/`;
          listeningUrl = url;
          log.info({ url, mode: options.mode, apps: apps.map((a) => a.prefix), cgiDir: realCgiDir, docroot: realDocroot, runAs: runAs?.user ?? null }, 'listening');
          log.flush?.(); // whoever waits for this line (a supervisor, the bench) gets it now
          resolve(url);
        });
      });
    },
    async reload() {
      if (options.mode !== 'pool' || !apps.length) {
        // CGI mode loads apps per request anyway: a reload only re-checks them.
        try {
          await checkApps(apps.map((a) => a.module));
          log.info('reload: apps import cleanly');
          return true;
        } catch (e) {
          log.error({ err: (e as Error).message }, 'reload: apps fail to import');
          return false;
        }
      }
      let next: AppPool;
      try {
        next = await startPool();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'reload refused: the old pool keeps serving');
        return false;
      }
      const old = pool;
      pool = next;
      log.info('reload: traffic switched to the new pool; the old one drains');
      await old?.close();
      return true;
    },
    shutdown() {
      // A second signal (or call) waits for the same shutdown rather than starting another.
      return (stopping ??= stop());
    },
  };

  async function stop(): Promise<void> {
    draining = true;
    log.info({ inFlight, graceMs: options.gracefulTimeoutMs }, 'shutting down: no new connections');
    // Stop listening, but leave kept-alive connections open a moment: a request already on its way on one is
    // served (with Connection: close) instead of meeting a reset, which a client cannot tell from a failure.
    // node:http's own close() would close idle connections at once; net's stops listening only.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    const endLinger = () => {
      if (lingerOver) return;
      lingerOver = true;
      clearTimeout(linger);
      server.close(); // now node:http's: idle connections close, its timeout checks stop
    };
    const linger = setTimeout(endLinger, Math.min(limits.drainLingerMs, options.gracefulTimeoutMs));
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, options.gracefulTimeoutMs, 'timeout').unref());
    const settled = await Promise.race([closed.then(() => 'drained' as const), grace]);
    endLinger();
    if (settled === 'timeout') {
      log.warn({ inFlight, scripts: cgi.running }, 'graceful timeout passed: killing what is left');
      await Promise.all([cgi.killAll('server shutting down'), pool?.destroy()]);
      server.closeAllConnections();
      await closed;
    } else await pool?.close();
    pool = null;
    await spawner.close();
    refusals.stop();
    log.info('stopped');
    log.flush?.();
  }
}

const bodyHeaders = new Set(['content-length', 'content-type', 'transfer-encoding']);
function withoutBodyHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!bodyHeaders.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}
