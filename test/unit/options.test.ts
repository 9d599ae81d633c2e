import path from 'node:path';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { OptionError, defaults, resolveOptions, type Options } from '../../src/front/options.js';

function optionError(input: Partial<Options>): OptionError {
  try {
    resolveOptions(input);
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      timeoutMs: 30_000,
      maxBodyBytes: 100 * 1024 * 1024,
      maxCgi: 4 * availableParallelism(),
      maxCgiBesidePool: Math.max(1, Math.floor(availableParallelism() / 2)),
      maxQueue: 100,
      cgiUser: 'nobody',
      passEnv: [],
      setEnv: {},
      passAuth: false,
      chunkedBody: 'buffer',
      spawner: 'helper',
      workerConcurrency: 1,
      idleSpinUs: 1000,
      debug: false,
      logLevel: 'info',
    });
    expect(o.cgiDir.endsWith(path.join('examples', 'cgi-bin'))).toBe(true);
    expect(o.docroot.endsWith(path.join('examples', 'public'))).toBe(true);
  });

  it('lets given values win over the defaults', () => {
    const o = resolveOptions({ port: 0, mode: 'cgi', timeoutMs: 1500, maxQueue: 0, setEnv: { A: '1' }, passEnv: ['HOME'] });
    expect(o).toMatchObject({ port: 0, mode: 'cgi', timeoutMs: 1500, maxQueue: 0, setEnv: { A: '1' }, passEnv: ['HOME'] });
  });

  it('makes the script and document directories absolute', () => {
    const o = resolveOptions({ cgiDir: 'rel/cgi', docroot: 'rel/www' });
    expect(o.cgiDir).toBe(path.resolve('rel/cgi'));
    expect(o.docroot).toBe(path.resolve('rel/www'));
  });

  it('leaves the defaults object as it was', () => {
    const before = JSON.stringify(defaults);
    resolveOptions({ setEnv: { A: '1' }, passEnv: ['X'], port: 1 });
    expect(JSON.stringify(defaults)).toBe(before);
  });

  it.each([
    [{ mode: 'fast' as Options['mode'] }, 'mode'],
    [{ chunkedBody: 'spool' as Options['chunkedBody'] }, 'chunked-body'],
    [{ spawner: 'fork' as Options['spawner'] }, 'spawner'],
    [{ workerConcurrency: 0 }, 'worker-concurrency'],
    [{ workerConcurrency: 1.5 }, 'worker-concurrency'],
    [{ idleSpinUs: -1 }, 'idle-spin'],
    [{ maxCgiBesidePool: 0 }, 'max-cgi-beside-pool'],
    [{ maxCgiBesidePool: 1.5 }, 'max-cgi-beside-pool'],
    [{ idleSpinUs: 10_001 }, 'idle-spin'],
    [{ port: -1 }, 'port'],
    [{ port: 65536 }, 'port'],
    [{ port: 80.5 }, 'port'],
    [{ port: Number.NaN }, 'port'],
    [{ host: '' }, 'host'],
    [{ timeoutMs: 0 }, 'timeout'],
    [{ timeoutMs: -1 }, 'timeout'],
    [{ timeoutMs: Number.POSITIVE_INFINITY }, 'timeout'],
    [{ gracefulTimeoutMs: -1 }, 'graceful-timeout'],
    [{ gracefulTimeoutMs: Number.NaN }, 'graceful-timeout'],
    [{ maxBodyBytes: -1 }, 'max-body'],
    [{ maxCgi: 0 }, 'max-cgi'],
    [{ maxCgi: 1.5 }, 'max-cgi'],
    [{ maxQueue: -1 }, 'max-queue'],
    [{ maxQueue: 2.5 }, 'max-queue'],
    [{ cgiUser: '' }, 'cgi-user'],
    [{ logLevel: 'verbose' as Options['logLevel'] }, 'log-level'],
    [{ passEnv: ['BAD-NAME'] }, 'pass-env'],
    [{ passEnv: [''] }, 'pass-env'],
    [{ setEnv: { '1ABC': 'x' } }, 'set-env'],
    [{ setEnv: { 'A B': 'x' } }, 'set-env'],
  ])('rejects %j with an OptionError naming %s', (input, name) => {
    expect(optionError(input).message).toContain(name);
  });

  it.each([
    [{ gracefulTimeoutMs: 0 }],
    [{ maxBodyBytes: 0 }],
    [{ maxQueue: 0 }],
    [{ port: 0 }],
    [{ port: 65535 }],
    [{ passEnv: ['_X1'], setEnv: { lower_case: 'v' } }],
  ])('accepts the edge value %j', (input) => {
    expect(() => resolveOptions(input)).not.toThrow();
  });
});
