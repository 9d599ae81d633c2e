import { describe, expect, it } from 'vitest';
import { buildEnviron } from '../../src/front/environ.js';
import { parseRequestTarget } from '../../src/front/request-target.js';
import { AppError } from '../../src/app/run-app.js';
import { ValidationError, validationRules, validator, type ValidationRule } from '../../src/app/validate.js';
import type { App, Body, Chunk, Environ, StartResponse } from '../../src/app/types.js';
import { call, makeEnviron, type Captured } from './_app-harness.js';

const text: [string, string][] = [['Content-Type', 'text/plain']];

const hello: App = function hello(_environ, startResponse) {
  startResponse('200 OK', text);
  return ['hello'];
};

/** An app that answers with the given status and headers, and body. */
const answering =
  (status: string, headers: [string, string][], body: Chunk[] = ['x']): App =>
  (_environ, startResponse) => {
    startResponse(status, headers);
    return body;
  };

async function* chunks(...list: unknown[]): AsyncGenerator<Chunk> {
  for (const c of list) yield c as Chunk;
}

/** The ValidationError behind a failed run: runApp wraps what an app throws in an AppError. */
async function violation(run: Promise<unknown>): Promise<ValidationError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  const cause = err instanceof AppError ? err.cause : err;
  if (!(cause instanceof ValidationError)) throw new Error(`expected a ValidationError, got ${String(err)}`);
  return cause;
}

const viaRunApp = (app: App, environ: Record<string, unknown> = {}) => call(validator(app), makeEnviron(environ));
const noop: StartResponse = () => async () => {};

type Case = [rule: ValidationRule, run: () => Promise<unknown>];

/** One case per rule: each breaks exactly that rule. */
const cases: Case[] = [
  ['call-shape', () => validator(hello)(makeEnviron(), 'not a function' as unknown as StartResponse) as Promise<Body>],
  ['environ-object', () => validator(hello)(null as unknown as Environ, noop) as Promise<Body>],
  ['environ-required', () => viaRunApp(hello, { SERVER_NAME: undefined })],
  ['environ-cgi-strings', () => viaRunApp(hello, { HTTP_X_COUNT: 5 })],
  ['environ-paths', () => viaRunApp(hello, { PATH_INFO: 'relative/path' })],
  ['environ-script-name-root', () => viaRunApp(hello, { SCRIPT_NAME: '/', PATH_INFO: '' })],
  ['environ-content-length', () => viaRunApp(hello, { CONTENT_LENGTH: '12abc' })],
  ['environ-http-content', () => viaRunApp(hello, { HTTP_CONTENT_TYPE: 'text/plain' })],
  ['environ-version', () => viaRunApp(hello, { 'gateway.version': [1, 1] })],
  ['environ-url-scheme', () => viaRunApp(hello, { 'gateway.url_scheme': 'ftp' })],
  ['environ-input', () => viaRunApp(hello, { 'gateway.input': { read: async () => new Uint8Array(0) } })],
  ['environ-errors', () => viaRunApp(hello, { 'gateway.errors': { write() {} } })],
  ['environ-flags', () => viaRunApp(hello, { 'gateway.run_once': 'false' })],
  ['status', () => viaRunApp(answering('200', text))],
  ['headers-list', () => viaRunApp(answering('200 OK', [['Content-Type']] as unknown as [string, string][]))],
  ['header-control', () => viaRunApp(answering('200 OK', [...text, ['X-Note', 'a\r\nSet-Cookie: stolen=1']]))],
  ['header-name', () => viaRunApp(answering('200 OK', [...text, ['X Note', 'a']]))],
  ['header-status', () => viaRunApp(answering('200 OK', [...text, ['Status', '404 Not Found']]))],
  ['header-hop-by-hop', () => viaRunApp(answering('200 OK', [...text, ['Connection', 'close']]))],
  ['header-content-length', () => viaRunApp(answering('200 OK', [...text, ['Content-Length', '-1']]))],
  ['content-type', () => viaRunApp(answering('200 OK', []))],
  [
    'start-response-twice',
    () =>
      viaRunApp((_e, startResponse) => {
        startResponse('200 OK', text);
        startResponse('500 Oops', text);
        return [];
      }),
  ],
  [
    'start-response-first',
    () =>
      viaRunApp((_e, startResponse) =>
        (function* lateStart() {
          yield 'too early';
          startResponse('200 OK', text);
        })(),
      ),
  ],
  ['body-iterable', () => viaRunApp(((_e: Environ, startResponse: StartResponse) => (startResponse('200 OK', text), 'hello')) as unknown as App)],
  [
    'body-chunk',
    () =>
      viaRunApp((_e, startResponse) => {
        startResponse('200 OK', text);
        return chunks('fine', 42);
      }),
  ],
  [
    'body-after-close',
    async () => {
      // The gateway's side: pulling a chunk after return() is the server's bug, and the validator says so.
      const body = (await validator(() => ['unused'].values())(makeEnviron(), noop)) as Iterable<Chunk>;
      const iterator = body[Symbol.iterator]();
      iterator.return?.();
      iterator.next();
    },
  ],
  ['content-length-match', () => viaRunApp(answering('200 OK', [...text, ['Content-Length', '10']], ['short']))],
];

describe('validator: one violation per rule throws a ValidationError naming it', () => {
  it.each(cases)('%s', async (rule, run) => {
    const err = await violation(run());
    expect(err.rule).toBe(rule);
    expect(err.message.startsWith(`${rule}: ${validationRules[rule]}`)).toBe(true);
  });

  it('every rule in the catalogue has its case here', () => {
    expect(cases.map(([rule]) => rule).sort()).toEqual(Object.keys(validationRules).sort());
  });
});

describe('validator: more ways to break the rules', () => {
  it.each(['200', 'OK 200', '200OK', '099 Low', '200 OK\r\nX-Injected: 1', 200])('status %j is refused', async (status) => {
    expect((await violation(viaRunApp(answering(status as string, text)))).rule).toBe('status');
  });

  it('an app that never calls startResponse breaks start-response-first when its body ends', async () => {
    expect((await violation(viaRunApp(() => []))).rule).toBe('start-response-first');
  });

  it('a body longer than its Content-Length is stopped at the chunk that overflows', async () => {
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', [...text, ['Content-Length', '3']]);
      return chunks('abc', 'd');
    };
    const err = await violation(viaRunApp(app));
    expect(err.rule).toBe('content-length-match');
    expect(err.message).toContain('more than 3 bytes');
  });

  it('write() chunks are checked and counted too', async () => {
    const badWrite: App = async (_e, startResponse) => {
      await startResponse('200 OK', text)(7 as unknown as Chunk);
      return [];
    };
    expect((await violation(viaRunApp(badWrite))).rule).toBe('body-chunk');
    const overLength: App = async (_e, startResponse) => {
      await startResponse('200 OK', [...text, ['Content-Length', '4']])('abc');
      return ['de'];
    };
    expect((await violation(viaRunApp(overLength))).rule).toBe('content-length-match');
  });

  it('a Uint8Array returned as the body (iterating it yields numbers) breaks body-iterable', async () => {
    const app = ((_e: Environ, startResponse: StartResponse) => (startResponse('200 OK', text), new Uint8Array([104, 105]))) as unknown as App;
    expect((await violation(viaRunApp(app))).rule).toBe('body-iterable');
  });
});

describe('validator: a correct app passes untouched', () => {
  const apps: [string, App][] = [
    ['an array body (the gateway still learns its length)', hello],
    [
      'a sync generator',
      (_e, startResponse) => {
        startResponse('200 OK', text);
        return (function* parts() {
          yield '';
          yield 'a';
          yield new TextEncoder().encode('b');
        })();
      },
    ],
    [
      'an async app with an async body and a Content-Length',
      async (_e, startResponse) => {
        startResponse('201 Created', [...text, ['Content-Length', '6'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
        return chunks('ab', 'cd', 'ü');
      },
    ],
    [
      'an imperative app using write()',
      async (_e, startResponse) => {
        const write = startResponse('200 OK', text);
        await write('one ');
        await write('two ');
        return ['three'];
      },
    ],
    ['a 204 without Content-Type', answering('204 No Content', [], [])],
    ['a 304 without Content-Type', answering('304 Not Modified', [['ETag', '"x"']], [])],
    [
      'a second startResponse with excInfo before headers went out',
      (_e, startResponse) => {
        startResponse('200 OK', text);
        startResponse('500 Internal Server Error', text, new Error('changed my mind'));
        return ['sorry'];
      },
    ],
    [
      'a header value with a tab in it',
      answering('200 OK', [...text, ['X-Note', 'a\tb']]),
    ],
  ];

  it.each(apps)('%s', async (_label, app) => {
    const plain: Captured = await call(app);
    const checked: Captured = await call(validator(app));
    expect(checked).toEqual(plain);
  });

  it('an environ built by the front (buildEnviron) plus the gateway keys passes', async () => {
    const url = '/app/path/here?x=1';
    const cgi = buildEnviron(
      {
        method: 'POST',
        target: parseRequestTarget(url),
        url,
        httpVersion: '1.1',
        rawHeaders: ['Host', 'example.test:8000', 'Content-Type', 'text/plain', 'Content-Length', '2', 'Proxy', 'evil'],
        remoteAddress: '::ffff:127.0.0.1',
        remotePort: 50000,
        localAddress: '127.0.0.1',
        localPort: 8000,
        scheme: 'http',
      },
      { scriptName: '/app', pathInfo: '/path/here', documentRoot: '/srv' },
      { length: 2, streamedChunked: false },
      { passAuth: false },
    );
    const base = makeEnviron();
    const gatewayKeys = Object.fromEntries(Object.entries(base).filter(([k]) => k.startsWith('gateway.')));
    const res = await call(validator(hello), { ...cgi, ...gatewayKeys } as unknown as Environ);
    expect([res.status, res.text]).toEqual([200, 'hello']);
  });
});

describe("validator: the gateway's finalisation reaches the app's body", () => {
  /** A body whose iterator and close() count how often the gateway reached them. */
  function countingBody(list: Chunk[]) {
    const calls = { returned: 0, closed: 0 };
    let i = 0;
    const body = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<Chunk> => (i < list.length ? { done: false, value: list[i++]! } : { done: true, value: undefined }),
        return: (): IteratorResult<Chunk> => {
          calls.returned++;
          return { done: true, value: undefined };
        },
      }),
      close: () => void calls.closed++,
    };
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', text);
      return body;
    };
    return { app, calls };
  }

  it('on success, close() reaches the body once (an exhausted iterator needs no return())', async () => {
    const { app, calls } = countingBody(['a', 'b']);
    await call(validator(app));
    expect(calls).toEqual({ returned: 0, closed: 1 });
  });

  it('on client disconnect, return() and close() each reach the body once', async () => {
    const { app, calls } = countingBody(['a', 'b', 'c']);
    const res = await call(validator(app), makeEnviron(), { abortAfter: 1 });
    expect(res.result).toBe('aborted');
    expect(calls).toEqual({ returned: 1, closed: 1 });
  });

  it("on client disconnect, an async generator body runs its finally once", async () => {
    let finalised = 0;
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', text);
      return (async function* endless() {
        try {
          for (;;) yield 'tick ';
        } finally {
          finalised++;
        }
      })();
    };
    const res = await call(validator(app), makeEnviron(), { abortAfter: 2 });
    expect([res.result, res.text, finalised]).toEqual(['aborted', 'tick tick ', 1]);
  });

  it('called twice by a gateway, return() and close() are still forwarded once each', async () => {
    const { app, calls } = countingBody(['a', 'b']);
    const body = (await validator(app)(makeEnviron(), noop)) as Iterable<Chunk> & { close(): unknown };
    const iterator = body[Symbol.iterator]();
    iterator.next();
    iterator.return?.();
    iterator.return?.();
    body.close();
    body.close();
    expect(calls).toEqual({ returned: 1, closed: 1 });
  });

  it("when the validator stops a body mid-way, the app's generator still runs its finally, once", async () => {
    let finalised = 0;
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', text);
      return (async function* leaky() {
        try {
          yield 'ok';
          yield 42 as unknown as Chunk;
          yield 'never';
        } finally {
          finalised++;
        }
      })();
    };
    expect((await violation(call(validator(app)))).rule).toBe('body-chunk');
    expect(finalised).toBe(1);
  });

  it('the same holds for a sync generator body', async () => {
    let finalised = 0;
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', text);
      return (function* leaky() {
        try {
          yield 'ok';
          yield null as unknown as Chunk;
        } finally {
          finalised++;
        }
      })();
    };
    expect((await violation(call(validator(app)))).rule).toBe('body-chunk');
    expect(finalised).toBe(1);
  });

  it("an array body's close() is forwarded once, and the gateway still gets an array", async () => {
    let closed = 0;
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', text);
      return Object.assign(['a', 'b'], { close: () => void closed++ });
    };
    const res = await call(validator(app));
    expect(res.contentLength).toBe(2);
    expect(closed).toBe(1);
    const body = (await validator(app)(makeEnviron(), noop)) as Chunk[] & { close(): unknown };
    expect(Array.isArray(body)).toBe(true);
    body.close();
    body.close();
    expect(closed).toBe(2);
  });

  it('an array body the validator refuses is still closed, once', async () => {
    let closed = 0;
    const app: App = (_e, startResponse) => {
      startResponse('200 OK', [...text, ['Content-Length', '99']]);
      return Object.assign(['too short'], { close: () => void closed++ });
    };
    expect((await violation(call(validator(app)))).rule).toBe('content-length-match');
    expect(closed).toBe(1);
  });
});
