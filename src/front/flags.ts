// The command-line flags: one table gives each flag its option, its parser and its help text.
import { defaults, type Options } from './options.js';

type Setter = (opts: Partial<Options>, value: string) => void;

interface Flag {
  name: string;
  /** Placeholder shown in --help; absent for boolean switches. */
  arg?: string;
  help: string;
  /** Default as shown in --help. */
  shown: string;
  set: Setter;
  repeatable?: boolean;
}

export class FlagError extends Error {
  override name = 'FlagError';
}

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new FlagError(`--${flag}: expected seconds ≥ 0, got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

function integer(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new FlagError(`--${flag}: expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function bytes(flag: string, value: string): number {
  const m = /^(\d+)\s*([kmg]i?b?|b)?$/i.exec(value.trim());
  if (!m) throw new FlagError(`--${flag}: expected a size such as 1048576, 512K or 100M, got ${JSON.stringify(value)}`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * scale;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new FlagError(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

const mib = (n: number) => `${n / 1024 / 1024} MiB`;

export const flags: readonly Flag[] = [
  { name: 'mode', arg: 'cgi|pool', shown: defaults.mode, help: 'how mounted apps run; /cgi-bin/ scripts are processes in both modes',
    set: (o, v) => { o.mode = oneOf('mode', v, ['cgi', 'pool'] as const); } },
  { name: 'host', arg: 'ADDR', shown: defaults.host, help: 'address to listen on', set: (o, v) => { o.host = v; } },
  { name: 'port', arg: 'N', shown: String(defaults.port), help: 'port to listen on; 0 picks a free one (the URL is logged)',
    set: (o, v) => { o.port = integer('port', v); } },
  { name: 'cgi-dir', arg: 'DIR', shown: 'examples/cgi-bin', help: 'directory of CGI scripts, served at /cgi-bin/', set: (o, v) => { o.cgiDir = v; } },
  { name: 'docroot', arg: 'DIR', shown: 'examples/public', help: 'directory of static files, served at /', set: (o, v) => { o.docroot = v; } },
  { name: 'timeout', arg: 'S', shown: String(defaults.timeoutMs / 1000), help: 'seconds a script or app may take to send its headers, or stay silent after',
    set: (o, v) => { o.timeoutMs = seconds('timeout', v); } },
  { name: 'max-body', arg: 'BYTES', shown: mib(defaults.maxBodyBytes), help: 'largest request body accepted (K, M, G suffixes allowed); larger → 413',
    set: (o, v) => { o.maxBodyBytes = bytes('max-body', v); } },
  { name: 'max-cgi', arg: 'N', shown: '4 × CPUs', help: 'scripts running at once', set: (o, v) => { o.maxCgi = integer('max-cgi', v); } },
  { name: 'max-cgi-beside-pool', arg: 'N', shown: 'half the CPUs',
    help: 'scripts running at once while pool requests are in flight (the pool keeps its latency under a CGI flood)',
    set: (o, v) => { o.maxCgiBesidePool = integer('max-cgi-beside-pool', v); } },
  { name: 'max-queue', arg: 'N', shown: String(defaults.maxQueue), help: 'requests waiting for a script slot or a pool worker; beyond it, 503 with Retry-After',
    set: (o, v) => { o.maxQueue = integer('max-queue', v); } },
  { name: 'cgi-user', arg: 'NAME', shown: defaults.cgiUser, help: 'user scripts run as when the server runs as root', set: (o, v) => { o.cgiUser = v; } },
  { name: 'pass-env', arg: 'NAME', shown: 'none', repeatable: true, help: "hand this variable of the server's environment to scripts (repeatable)",
    set: (o, v) => { o.passEnv = [...(o.passEnv ?? []), v]; } },
  { name: 'set-env', arg: 'NAME=VALUE', shown: 'none', repeatable: true, help: 'set this variable in every script environment (repeatable)',
    set: (o, v) => {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new FlagError(`--set-env: expected NAME=VALUE, got ${JSON.stringify(v)}`);
      o.setEnv = { ...o.setEnv, [v.slice(0, eq)]: v.slice(eq + 1) };
    } },
  { name: 'pass-auth', shown: 'off', help: 'hand Authorization and Proxy-Authorization headers to scripts', set: (o) => { o.passAuth = true; } },
  { name: 'chunked-body', arg: 'buffer|stream', shown: defaults.chunkedBody,
    help: 'chunked request bodies: buffer (set CONTENT_LENGTH) or stream (to EOF, no CONTENT_LENGTH)',
    set: (o, v) => { o.chunkedBody = oneOf('chunked-body', v, ['buffer', 'stream'] as const); } },
  { name: 'spawner', arg: 'helper|direct', shown: defaults.spawner,
    help: 'who starts CGI processes: a small helper launched before apps load (cost independent of the front) or the front itself',
    set: (o, v) => { o.spawner = oneOf('spawner', v, ['helper', 'direct'] as const); } },
  { name: 'graceful-timeout', arg: 'S', shown: String(defaults.gracefulTimeoutMs / 1000), help: 'seconds in-flight requests get to finish on SIGTERM',
    set: (o, v) => { o.gracefulTimeoutMs = seconds('graceful-timeout', v); } },
  { name: 'header-timeout', arg: 'S', shown: String(defaults.headerTimeoutMs / 1000), help: 'seconds a client has to send its request head (then 408)',
    set: (o, v) => { o.headerTimeoutMs = seconds('header-timeout', v); } },
  { name: 'request-timeout', arg: 'S', shown: String(defaults.requestTimeoutMs / 1000), help: 'seconds a client has to send its whole request, body included (then 408)',
    set: (o, v) => { o.requestTimeoutMs = seconds('request-timeout', v); } },
  { name: 'idle-timeout', arg: 'S', shown: String(defaults.idleTimeoutMs / 1000), help: 'seconds a connection may move no bytes either way before it is closed (a client that stopped reading)',
    set: (o, v) => { o.idleTimeoutMs = seconds('idle-timeout', v); } },
  { name: 'keep-alive-timeout', arg: 'S', shown: String(defaults.keepAliveTimeoutMs / 1000), help: 'seconds a kept-alive connection waits for its next request',
    set: (o, v) => { o.keepAliveTimeoutMs = seconds('keep-alive-timeout', v); } },
  { name: 'app', arg: 'PREFIX=MODULE', shown: 'the bundled example apps', repeatable: true,
    help: 'mount an app module (.js/.mjs) at PREFIX (repeatable; longest prefix wins)',
    set: (o, v) => {
      const eq = v.indexOf('=');
      if (eq <= 0 || eq === v.length - 1) throw new FlagError(`--app: expected PREFIX=MODULE, got ${JSON.stringify(v)}`);
      o.apps = [...(o.apps ?? []), { prefix: v.slice(0, eq), module: v.slice(eq + 1) }];
    } },
  { name: 'workers', arg: 'N', shown: 'CPU count', help: 'pool worker threads', set: (o, v) => { o.workers = integer('workers', v); } },
  { name: 'worker-concurrency', arg: 'N', shown: String(defaults.workerConcurrency),
    help: 'requests one pool worker runs at once; above 1, a hang or crash also fails the others on that worker',
    set: (o, v) => { o.workerConcurrency = integer('worker-concurrency', v); } },
  { name: 'idle-spin', arg: 'US', shown: String(defaults.idleSpinUs),
    help: 'µs a pool thread polls for the next message while the pool is all but idle, instead of sleeping (0: never)',
    set: (o, v) => { o.idleSpinUs = integer('idle-spin', v); } },
  { name: 'max-requests', arg: 'N', shown: 'off', help: 'recycle a pool worker after N requests (+ up to 10% jitter), never mid-request',
    set: (o, v) => { o.maxRequests = integer('max-requests', v); } },
  { name: 'worker-memory', arg: 'MB', shown: 'Node default', help: "a pool worker's JS heap limit; over it, the worker is replaced (502)",
    set: (o, v) => { o.workerMemoryMb = integer('worker-memory', v); } },
  { name: 'status-path', arg: 'PATH', shown: defaults.statusPath, help: 'where the live status page is (its JSON at PATH?format=json); /-/metrics and /-/health beside it',
    set: (o, v) => { o.statusPath = v; } },
  { name: 'no-status', shown: 'status on', help: 'turn off the status page, /-/metrics and /-/health', set: (o) => { o.status = false; } },
  { name: 'status-allow', arg: 'CIDR', shown: 'loopback only', repeatable: true,
    help: 'also let this network see the status page, metrics and health (repeatable); others get 404',
    set: (o, v) => { o.statusAllow = [...(o.statusAllow ?? []), v]; } },
  { name: 'debug', shown: 'off', help: "show stack traces and scripts' stderr in error pages", set: (o) => { o.debug = true; } },
  { name: 'log-level', arg: 'LEVEL', shown: defaults.logLevel, help: 'fatal, error, warn, info, debug, trace or silent',
    set: (o, v) => { o.logLevel = oneOf('log-level', v, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const); } },
];

export type Command = { kind: 'serve'; options: Partial<Options> } | { kind: 'help' } | { kind: 'version' };

/** Parse argv (without node and script). Accepts `--flag value` and `--flag=value`; an optional leading `serve`. */
export function parseFlags(argv: readonly string[]): Command {
  const args = [...argv];
  if (args[0] === 'serve') args.shift();
  const options: Partial<Options> = {};
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-v') return { kind: 'version' };
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument ${JSON.stringify(arg)} (see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const flag = flags.find((f) => f.name === name);
    if (!flag) throw new FlagError(`unknown flag --${name} (see --help)`);
    if (seen.has(name) && !flag.repeatable) throw new FlagError(`--${name} given twice`);
    seen.add(name);
    if (!flag.arg) {
      if (eq !== -1) throw new FlagError(`--${name} takes no value`);
      flag.set(options, '');
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw new FlagError(`--${name} needs a value (${flag.arg})`);
    flag.set(options, value);
  }
  return { kind: 'serve', options };
}

export function helpText(version: string): string {
  const rows = flags.map((f) => [`--${f.name}${f.arg ? ` ${f.arg}` : ''}`, `${f.help} [default: ${f.shown}]`] as const);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    `gatehouse ${version}: a web gateway for CGI scripts and warm app pools`,
    '',
    'usage: gatehouse [serve] [flags]',
    '',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
    `  ${'--help'.padEnd(width)}show this help`,
    `  ${'--version'.padEnd(width)}print the version`,
    '',
  ].join('\n');
}
