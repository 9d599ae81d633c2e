import { describe, expect, it } from 'vitest';
import { dispatcher, resolvePath, type Handler, type Route } from '../../src/app/dispatch.js';
import type { App } from '../../src/app/types.js';
import { call, header, makeEnviron } from './_app-harness.js';

/** A handler that answers with its name and args, so a test sees which route ran. */
const answer =
  (name: string): Handler =>
  (_environ, startResponse, ...args) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${name}(${args.join(',')})`];
  };

const home = answer('home');
const book = answer('book');
const calc = answer('calc');
const routes: Route[] = [
  ['/', home],
  ['/book/(\\d+)', book],
  [/\/(add|subtract|multiply|divide)\/([^/]+)\/([^/]+)/, calc],
];

describe('resolvePath', () => {
  it.each([
    ['/', home, []],
    ['/book/42', book, ['42']],
    ['/multiply/3/5', calc, ['multiply', '3', '5']],
  ])('%s resolves to its handler with the capture groups as args', (path, handler, args) => {
    expect(resolvePath(routes, path)).toEqual({ handler, args });
  });

  it.each(['/book/42/', '/book/x', '/bookshelf', 'x/', '/add/1/2/3', '/book/42\n'])('%j matches no route: patterns match the whole path', (path) => {
    expect(resolvePath(routes, path)).toBeNull();
  });

  it('the first matching route wins', () => {
    const first = answer('first');
    expect(resolvePath([['/a/(.*)', first], ['/a/b', answer('second')]], '/a/b')).toEqual({ handler: first, args: ['b'] });
  });

  it('a regex is anchored at both ends even with the m, g or y flag', () => {
    const h = answer('h');
    const table: Route[] = [[/^\/x$/m, h], [/\/y/gy, h]];
    expect(resolvePath(table, '/x\n/z')).toBeNull();
    expect(resolvePath(table, '/y/y')).toBeNull();
    // g/y would make the regex stateful (lastIndex): the same path must match on every call
    expect(resolvePath(table, '/y')).not.toBeNull();
    expect(resolvePath(table, '/y')).not.toBeNull();
  });

  it('alternation in a pattern is matched against the whole path, not the first alternative', () => {
    const h = answer('h');
    expect(resolvePath([['/a|/ab', h]], '/ab')).toEqual({ handler: h, args: [] });
  });

  it('a group that took no part becomes an empty arg, and named groups count as args', () => {
    const h = answer('h');
    expect(resolvePath([[/\/page(?:\/(\d+))?/, h]], '/page')).toEqual({ handler: h, args: [''] });
    expect(resolvePath([[/\/(?<year>\d{4})\/(?<slug>[a-z-]+)/, h]], '/2024/hello')?.args).toEqual(['2024', 'hello']);
  });

  it('args are taken from the already-decoded PATH_INFO as they are, never decoded a second time', () => {
    const h = answer('h');
    // PATH_INFO '/files/50%' is what the client sent as /files/50%25; '%41' was sent as %2541
    expect(resolvePath([['/files/(.+)', h]], '/files/50%')?.args).toEqual(['50%']);
    expect(resolvePath([['/files/(.+)', h]], '/files/%41')?.args).toEqual(['%41']);
    expect(resolvePath([['/files/(.+)', h]], '/files/naïve café')?.args).toEqual(['naïve café']);
  });
});

describe('dispatcher', () => {
  const app = dispatcher(routes);

  it('routes PATH_INFO and passes the args to the handler', async () => {
    const res = await call(app, makeEnviron({ SCRIPT_NAME: '/calc', PATH_INFO: '/multiply/3/5' }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('calc(multiply,3,5)');
  });

  it("an empty PATH_INFO (the mount point itself, '/calc') is routed as '/'", async () => {
    const res = await call(app, makeEnviron({ SCRIPT_NAME: '/calc', PATH_INFO: '' }));
    expect(res.text).toBe('home()');
  });

  it('an unknown path answers 404 text/plain "Not Found" with its Content-Length', async () => {
    const res = await call(app, makeEnviron({ PATH_INFO: '/nowhere' }));
    expect(res.status).toBe(404);
    expect(res.reason).toBe('Not Found');
    expect(header(res, 'Content-Type')).toMatch(/^text\/plain/);
    expect(header(res, 'Content-Length')).toBe(undefined); // runApp hands the length on as contentLength
    expect(res.contentLength).toBe(9);
    expect(res.text).toBe('Not Found');
  });

  it('takes its own not-found app', async () => {
    const gone: App = (_environ, startResponse) => {
      startResponse('410 Gone', [['Content-Type', 'text/html']]);
      return ['<p>gone</p>'];
    };
    const res = await call(dispatcher(routes, gone), makeEnviron({ PATH_INFO: '/nowhere' }));
    expect([res.status, res.text]).toEqual([410, '<p>gone</p>']);
  });

  it('works with async handlers and streaming bodies', async () => {
    const stream: Handler = async (_environ, startResponse, n) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* count() {
        for (let i = 1; i <= Number(n); i++) yield `${i};`;
      })();
    };
    const res = await call(dispatcher([['/count/(\\d+)', stream]]), makeEnviron({ PATH_INFO: '/count/3' }));
    expect(res.text).toBe('1;2;3;');
  });

  it('keeps its own copy of the routes', async () => {
    const table: Route[] = [['/a', home]];
    const routed = dispatcher(table);
    table.unshift(['/a', book]);
    expect((await call(routed, makeEnviron({ PATH_INFO: '/a' }))).text).toBe('home()');
  });

  it('refuses a bad pattern when built, not on a request', () => {
    expect(() => dispatcher([['/(unclosed', home]])).toThrow(SyntaxError);
  });

  it('is a named function, so stack traces say the dispatcher ran', () => {
    expect(app.name).toBe('dispatch');
  });
});
