import { describe, expect, it } from 'vitest';
import { FlagError, flags, helpText, parseFlags } from '../../src/front/flags.js';
import type { Options } from '../../src/front/options.js';

function options(argv: string[]): Partial<Options> {
  const c = parseFlags(argv);
  if (c.kind !== 'serve') throw new Error(`expected serve, got ${c.kind}`);
  return c.options;
}

function flagError(argv: string[]): FlagError {
  try {
    parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(argv)}`);
}

describe('parseFlags: values', () => {
  it.each([
    [['--mode', 'cgi'], { mode: 'cgi' }],
    [['--mode=pool'], { mode: 'pool' }],
    [['--host', '0.0.0.0'], { host: '0.0.0.0' }],
    [['--host=::1'], { host: '::1' }],
    [['--port', '0'], { port: 0 }],
    [['--port=8080'], { port: 8080 }],
    [['--cgi-dir', 'x/cgi'], { cgiDir: 'x/cgi' }],
    [['--docroot=/srv/www'], { docroot: '/srv/www' }],
    [['--timeout', '30'], { timeoutMs: 30_000 }],
    [['--timeout', '1.5'], { timeoutMs: 1500 }],
    [['--timeout=0.25'], { timeoutMs: 250 }],
    [['--graceful-timeout', '2'], { gracefulTimeoutMs: 2000 }],
    [['--max-body', '10M'], { maxBodyBytes: 10485760 }],
    [['--max-body', '1024'], { maxBodyBytes: 1024 }],
    [['--max-body', '512K'], { maxBodyBytes: 524288 }],
    [['--max-body=1G'], { maxBodyBytes: 1073741824 }],
    [['--max-body', '10MiB'], { maxBodyBytes: 10485760 }],
    [['--max-body', '2kb'], { maxBodyBytes: 2048 }],
    [['--max-cgi', '4'], { maxCgi: 4 }],
    [['--max-cgi-beside-pool', '1'], { maxCgiBesidePool: 1 }],
    [['--max-queue', '0'], { maxQueue: 0 }],
    [['--cgi-user', 'www-data'], { cgiUser: 'www-data' }],
    [['--pass-auth'], { passAuth: true }],
    [['--debug'], { debug: true }],
    [['--chunked-body', 'stream'], { chunkedBody: 'stream' }],
    [['--chunked-body=buffer'], { chunkedBody: 'buffer' }],
    [['--spawner', 'direct'], { spawner: 'direct' }],
    [['--spawner=helper'], { spawner: 'helper' }],
    [['--worker-concurrency', '8'], { workerConcurrency: 8 }],
    [['--idle-spin', '0'], { idleSpinUs: 0 }],
    [['--log-level', 'silent'], { logLevel: 'silent' }],
    [['--set-env', 'A=b=c'], { setEnv: { A: 'b=c' } }],
    [['--set-env', 'EMPTY='], { setEnv: { EMPTY: '' } }],
    [[], {}],
  ] as const)('reads %j as %j', (argv, expected) => {
    expect(options([...argv])).toEqual(expected);
  });

  it.each([
    [['serve', '--port', '1']],
    [['--port', '1']],
  ])('accepts %j with or without the serve command', (argv) => {
    expect(parseFlags(argv)).toEqual({ kind: 'serve', options: { port: 1 } });
  });

  it('reads a value that starts with "=" or contains spaces as given', () => {
    expect(options(['--host', 'a b', '--cgi-user==x'])).toEqual({ host: 'a b', cgiUser: '=x' });
  });

  it('collects repeated --pass-env flags in order', () => {
    expect(options(['--pass-env', 'HOME', '--pass-env=TERM', '--pass-env', 'X']).passEnv).toEqual(['HOME', 'TERM', 'X']);
  });

  it('collects repeated --set-env flags, the later value winning', () => {
    expect(options(['--set-env', 'A=1', '--set-env=B=2', '--set-env', 'A=3']).setEnv).toEqual({ A: '3', B: '2' });
  });

  it.each([[['--help']], [['-h']], [['serve', '--help']], [['--port', '1', '--help']]])('answers %j with help', (argv) => {
    expect(parseFlags(argv)).toEqual({ kind: 'help' });
  });

  it.each([[['--version']], [['-v']], [['serve', '--version']]])('answers %j with the version', (argv) => {
    expect(parseFlags(argv)).toEqual({ kind: 'version' });
  });
});

describe('parseFlags: errors', () => {
  it.each([
    [['--bogus'], '--bogus'],
    [['--bogus=1'], '--bogus'],
    [['--Port', '1'], '--Port'],
    [['--port'], '--port'],
    [['--cgi-dir'], '--cgi-dir'],
    [['--port', '80', '--timeout'], '--timeout'],
    [['--port', 'abc'], '--port'],
    [['--port', '-1'], '--port'],
    [['--port', '1.5'], '--port'],
    [['--port='], '--port'],
    [['--max-cgi', 'many'], '--max-cgi'],
    [['--max-queue', '1e3'], '--max-queue'],
    [['--timeout', 'soon'], '--timeout'],
    [['--timeout', '-1'], '--timeout'],
    [['--timeout', ''], '--timeout'],
    [['--timeout', 'Infinity'], '--timeout'],
    [['--graceful-timeout', 'x'], '--graceful-timeout'],
    [['--max-body', '10X'], '--max-body'],
    [['--max-body', '-5'], '--max-body'],
    [['--max-body', 'M'], '--max-body'],
    [['--max-body', '1.5M'], '--max-body'],
    [['--mode', 'fast'], '--mode'],
    [['--mode', 'CGI'], '--mode'],
    [['--chunked-body', 'spool'], '--chunked-body'],
    [['--spawner', 'fork'], '--spawner'],
    [['--worker-concurrency', 'many'], '--worker-concurrency'],
    [['--idle-spin', '1ms'], '--idle-spin'],
    [['--max-cgi-beside-pool', '-1'], '--max-cgi-beside-pool'],
    [['--log-level', 'verbose'], '--log-level'],
    [['--set-env', 'NOVALUE'], '--set-env'],
    [['--set-env', '=x'], '--set-env'],
    [['--pass-auth=yes'], '--pass-auth'],
    [['--debug=1'], '--debug'],
  ])('rejects %j with a FlagError naming %s', (argv, flag) => {
    expect(flagError(argv).message).toContain(flag);
  });

  it.each([
    [['--port', '1', '--port', '2'], '--port'],
    [['--port=1', '--port', '2'], '--port'],
    [['--mode', 'cgi', '--mode=pool'], '--mode'],
    [['--debug', '--debug'], '--debug'],
    [['--pass-auth', '--pass-auth'], '--pass-auth'],
    [['--timeout', '1', '--timeout', '1'], '--timeout'],
  ])('rejects the non-repeatable flag in %j given twice, naming %s', (argv, flag) => {
    expect(flagError(argv).message).toContain(flag);
  });

  it.each([[['stray']], [['serve', 'serve']], [['--port', '1', 'extra']], [['-p', '1']]])('rejects the stray argument in %j', (argv) => {
    expect(flagError(argv)).toBeInstanceOf(FlagError);
  });

  it('puts the problem on one line', () => {
    expect(flagError(['--max-body', '10X']).message).not.toContain('\n');
  });
});

describe('helpText', () => {
  const text = helpText('9.9.9');

  it('names the version', () => {
    expect(text).toContain('9.9.9');
  });

  it.each([
    ['--mode', null],
    ['--host', '127.0.0.1'],
    ['--port', '8000'],
    ['--cgi-dir', 'examples/cgi-bin'],
    ['--docroot', 'examples/public'],
    ['--timeout', '30'],
    ['--max-body', '100 MiB'],
    ['--max-cgi', null],
    ['--max-queue', '100'],
    ['--cgi-user', 'nobody'],
    ['--pass-env', null],
    ['--set-env', null],
    ['--pass-auth', 'off'],
    ['--chunked-body', 'buffer'],
    ['--spawner', 'helper'],
    ['--worker-concurrency', '1'],
    ['--idle-spin', '1000'],
    ['--max-cgi-beside-pool', 'half the CPUs'],
    ['--graceful-timeout', null],
    ['--debug', 'off'],
    ['--log-level', 'info'],
  ])('lists %s with its default %s', (flag, shown) => {
    const line = text.split('\n').find((l) => l.trimStart().startsWith(`${flag} `));
    expect(line, `no line for ${flag}`).toBeDefined();
    expect(line).toMatch(/\[default: [^\]]+\]/);
    if (shown !== null) expect(line).toContain(`[default: ${shown}]`);
  });

  it('has one line with a default for every flag in the table', () => {
    for (const f of flags) {
      expect(text, f.name).toMatch(new RegExp(`^  --${f.name}\\b.*\\[default: ${f.shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]$`, 'm'));
    }
  });

  it.each([['--help'], ['--version']])('lists %s', (flag) => {
    expect(text).toMatch(new RegExp(`^  ${flag}\\b`, 'm'));
  });
});
