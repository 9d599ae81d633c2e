// Gatehouse's options: one typed shape, one defaults object, validated once.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

export type Mode = 'cgi' | 'pool';
export type ChunkedBody = 'buffer' | 'stream';
export type SpawnerKind = 'helper' | 'direct';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Options {
  mode: Mode;
  host: string;
  port: number;
  /** Directory served at /cgi-bin/ (absolute after resolveOptions). */
  cgiDir: string;
  /** Directory of static files served at / (absolute after resolveOptions). */
  docroot: string;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Scripts running at once. */
  maxCgi: number;
  /** Scripts running at once while pool requests are in flight: CGI yields the CPUs to the warm apps. */
  maxCgiBesidePool: number;
  /** Requests waiting for a free script slot; beyond it, 503. */
  maxQueue: number;
  /** User scripts run as when the server runs as root. */
  cgiUser: string;
  /** Names of the server's environment variables handed to scripts. */
  passEnv: string[];
  /** Fixed variables handed to scripts (later entries win). */
  setEnv: Record<string, string>;
  /** Who starts CGI processes: gatehouse-spawner (small, launched before apps load) or the front itself. */
  spawner: SpawnerKind;
  /** Hand Authorization / Proxy-Authorization to scripts. */
  passAuth: boolean;
  chunkedBody: ChunkedBody;
  gracefulTimeoutMs: number;
  /** A client must have sent its whole request head within this (slowloris); then 408 and the connection closes. */
  headerTimeoutMs: number;
  /** A client must have sent its whole request, body included, within this; then 408. */
  requestTimeoutMs: number;
  /** A connection that moves no bytes either way for this long is closed (a client that stopped reading). */
  idleTimeoutMs: number;
  /** A kept-alive connection waits this long for its next request. */
  keepAliveTimeoutMs: number;
  debug: boolean;
  logLevel: LogLevel;
  /** Mounted app modules; undefined mounts the bundled example apps. */
  apps: AppMount[] | undefined;
  /** Pool worker threads. */
  workers: number;
  /** Requests one worker runs at once (1: each request has its worker to itself, as in gunicorn's sync workers). */
  workerConcurrency: number;
  /** µs a pool thread polls for the next message when the pool is all but idle, instead of sleeping; 0 = never. */
  idleSpinUs: number;
  /** Recycle a worker after this many requests (plus up to 10% jitter); 0 = never. */
  maxRequests: number;
  /** A worker's JS heap limit in MiB; 0 = Node's default. */
  workerMemoryMb: number;
  /** The gateway's own pages: the status page (here; its JSON at ?format=json), /-/metrics and /-/health. */
  status: boolean;
  statusPath: string;
  /** Networks (CIDR) besides loopback that may see them; others get 404. */
  statusAllow: string[];
}

export interface AppMount {
  /** '/' or a path without a trailing slash. */
  prefix: string;
  /** Absolute path of a .js/.mjs module. */
  module: string;
}

const examplesDir = path.join(packageRoot, 'examples');

export const defaults: Readonly<Options> = Object.freeze({
  mode: 'pool',
  host: '127.0.0.1',
  port: 8000,
  cgiDir: path.join(examplesDir, 'cgi-bin'),
  docroot: path.join(examplesDir, 'public'),
  timeoutMs: 30_000,
  maxBodyBytes: 100 * 1024 * 1024,
  // A short script spends much of its life waiting (exec, pipes, the relay): with 2 per CPU the CPUs sat idle
  // (hello.sh at c=16, 2 CPUs: 762 req/s with 4 at once, 1,023 with 8, 1,029 with 16).
  maxCgi: 4 * availableParallelism(),
  // Beside a busy pool (2 CPUs, sh load at c=8, pool at c=8): 8 scripts at once made pool p99 ×2.2–2.8,
  // 2 at once ×1.3–1.6 (494 scripts/s), 1 at once ×1.06–1.11 (337–376 scripts/s).
  maxCgiBesidePool: Math.max(1, Math.floor(availableParallelism() / 2)),
  maxQueue: 100,
  cgiUser: 'nobody',
  passEnv: [],
  setEnv: {},
  passAuth: false,
  spawner: 'helper',
  chunkedBody: 'buffer',
  gracefulTimeoutMs: 10_000,
  // nginx's client_header_timeout and send_timeout are 60 s; a head takes a real client milliseconds, and every
  // connection held open by a slow sender costs a socket, so the head gets 10 s.
  headerTimeoutMs: 10_000,
  // Up to --max-body at a slow client's pace; longer is a sender that is not sending.
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  debug: false,
  logLevel: 'info',
  apps: undefined,
  workers: availableParallelism(),
  workerConcurrency: 1,
  // A thread asleep in its event loop costs ~100 µs to wake on a VM: at c=1 that was half a small app's latency.
  idleSpinUs: 1000,
  maxRequests: 0,
  workerMemoryMb: 0,
  status: true,
  statusPath: '/-/status',
  statusAllow: [],
}) as Options;

/** Mounted when no --app is given. */
export const exampleApps: readonly AppMount[] = ['environ', 'add', 'books', 'calc'].map((name) => ({
  prefix: `/${name}`,
  module: path.join(packageRoot, 'dist', 'examples', 'apps', `${name}.js`),
}));

/** Internal constants: not flags, but named so they are not literals in the logic. */
export const limits = Object.freeze({
  /** A CGI header line longer than this is a protocol error (502). */
  headerLineBytes: 8 * 1024,
  /** A CGI header block larger than this is a protocol error (502). */
  headerBlockBytes: 64 * 1024,
  /** Chunked request bodies are held in memory up to this size, then spooled to a temp file. */
  spoolThresholdBytes: 1024 * 1024,
  /** Local redirects followed before giving up with 500. */
  maxLocalRedirects: 10,
  /** SIGTERM → SIGKILL grace for a process group. */
  killGraceMs: 3_000,
  /** How long the front holds a script's first body bytes hoping to see EOF (then Content-Length). */
  framingHoldMs: 20,
  /**
   * After a script's stdout ends, how long the response waits for its exit status: a script killed by a signal
   * (kill -9, the OOM killer) ends its output too, and what it sent must not pass for a whole document. A
   * script that closes stdout and keeps running is not waited for longer than this.
   */
  exitAfterEofMs: 100,
  /** Body bytes the front holds for that purpose before it starts streaming. */
  framingHoldBytes: 64 * 1024,
  /** Requests without a body that may wait their turn on a busy pool worker (beyond --worker-concurrency). */
  lanePipelineDepth: 32,
  /** A free pool worker takes back a request waiting behind one that has run this long. */
  withdrawAfterMs: 2,
  /** How long the pool must stay idle before CGI gets its full --max-cgi back. */
  cgiCapLiftMs: 50,
  /**
   * On shutdown, how long kept-alive connections stay open for a request already on its way (served with
   * Connection: close); then the idle ones are closed.
   */
  drainLingerMs: 1_000,
  /** Retry-After on 503. */
  retryAfterSeconds: 1,
  /** How long the apps' imports may take (the pool's workers, CGI mode's check) before the start is refused. */
  appImportTimeoutMs: 30_000,
});

const maxIdleSpinUs = 10_000;

export class OptionError extends Error {
  override name = 'OptionError';
}

/** Merge user options over the defaults and check every value; throws OptionError naming the option. */
export function resolveOptions(input: Partial<Options> = {}): Options {
  const o: Options = { ...defaults, ...input, setEnv: { ...defaults.setEnv, ...input.setEnv } };
  const fail = (name: string, why: string): never => {
    throw new OptionError(`${name}: ${why}`);
  };
  if (o.mode !== 'cgi' && o.mode !== 'pool') fail('mode', `must be cgi or pool, got ${String(o.mode)}`);
  if (o.chunkedBody !== 'buffer' && o.chunkedBody !== 'stream') {
    fail('chunked-body', `must be buffer or stream, got ${String(o.chunkedBody)}`);
  }
  if (o.spawner !== 'helper' && o.spawner !== 'direct') fail('spawner', `must be helper or direct, got ${String(o.spawner)}`);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('port', 'must be an integer from 0 to 65535');
  if (!o.host) fail('host', 'must not be empty');
  positive('timeout', o.timeoutMs);
  positive('graceful-timeout', o.gracefulTimeoutMs, true);
  positive('header-timeout', o.headerTimeoutMs);
  positive('request-timeout', o.requestTimeoutMs);
  if (o.requestTimeoutMs < o.headerTimeoutMs) fail('request-timeout', 'must be at least --header-timeout');
  positive('idle-timeout', o.idleTimeoutMs);
  positive('keep-alive-timeout', o.keepAliveTimeoutMs);
  positive('max-body', o.maxBodyBytes, true);
  positive('max-cgi', o.maxCgi);
  positive('max-queue', o.maxQueue, true);
  if (!Number.isInteger(o.maxCgi)) fail('max-cgi', 'must be an integer');
  positive('max-cgi-beside-pool', o.maxCgiBesidePool);
  if (!Number.isInteger(o.maxCgiBesidePool)) fail('max-cgi-beside-pool', 'must be an integer');
  if (!Number.isInteger(o.maxQueue)) fail('max-queue', 'must be an integer');
  if (!o.cgiUser) fail('cgi-user', 'must not be empty');
  const levels: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(o.logLevel)) fail('log-level', `must be one of ${levels.join(', ')}`);
  for (const name of [...o.passEnv, ...Object.keys(o.setEnv)]) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail('pass-env/set-env', `not a variable name: ${JSON.stringify(name)}`);
  }
  positive('workers', o.workers);
  positive('worker-concurrency', o.workerConcurrency);
  if (!Number.isInteger(o.workerConcurrency)) fail('worker-concurrency', 'must be an integer');
  positive('idle-spin', o.idleSpinUs, true);
  // It holds the front's event loop while it lasts: a wait for a quick answer, never a way to sleep.
  if (o.idleSpinUs > maxIdleSpinUs) fail('idle-spin', `must be at most ${maxIdleSpinUs} µs`);
  positive('max-requests', o.maxRequests, true);
  positive('worker-memory', o.workerMemoryMb, true);
  o.apps = (o.apps ?? exampleApps).map((a) => resolveMount(a, fail));
  const prefixes = o.apps.map((a) => a.prefix);
  const twice = prefixes.find((p, i) => prefixes.indexOf(p) !== i);
  if (twice !== undefined) fail('app', `prefix ${twice} mounted twice`);
  if (prefixes.some((p) => p === '/cgi-bin' || p.startsWith('/cgi-bin/'))) fail('app', '/cgi-bin belongs to the CGI scripts');
  if (!/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(o.statusPath) || /\/\.{1,2}(\/|$)|\/\//.test(o.statusPath)) fail('status-path', `must be a plain path such as /-/status, got ${JSON.stringify(o.statusPath)}`);
  if (prefixes.some((p) => o.statusPath === p || o.statusPath.startsWith(`${p}/`))) fail('status-path', `${o.statusPath} lies under a mounted app`);
  for (const cidr of o.statusAllow) {
    if (parseCidr(cidr) === null) fail('status-allow', `expected a network such as 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(cidr)}`);
  }
  o.cgiDir = path.resolve(o.cgiDir);
  o.docroot = path.resolve(o.docroot);
  return o;

  function positive(name: string, value: number, zeroOk = false): void {
    if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
      fail(name, zeroOk ? 'must be a number ≥ 0' : 'must be a number > 0');
    }
  }
}

function resolveMount(a: AppMount, fail: (name: string, why: string) => never): AppMount {
  let prefix = a.prefix;
  if (!prefix.startsWith('/')) fail('app', `prefix must start with "/": ${JSON.stringify(prefix)}`);
  if (prefix.length > 1) prefix = prefix.replace(/\/+$/, '');
  if (/[?#%\0]|\/\.{1,2}(\/|$)|\/\//.test(prefix)) fail('app', `prefix must be a plain path: ${JSON.stringify(a.prefix)}`);
  if (!/\.(m?js)$/.test(a.module)) fail('app', `module must be a .js or .mjs file: ${a.module}`);
  const module = path.resolve(a.module);
  if (!existsSync(module)) fail('app', `no such module ${module}${a.module.includes('dist') ? ' (run npm run build)' : ''}`);
  return { prefix, module };
}

/** `ADDR/BITS` (or a bare address: one host) as net.BlockList's addSubnet takes it; null if it is not one. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = cidr.indexOf('/');
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const bits = slash < 0 ? String(max) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { address, prefix: Number(bits), family: version === 4 ? 'ipv4' : 'ipv6' };
}
