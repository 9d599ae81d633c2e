import { describe, expect, it } from 'vitest';
import { compose, type Middleware } from '../../src/app/compose.js';
import type { App } from '../../src/app/types.js';
import { call, header, makeEnviron } from './_app-harness.js';

const hello: App = function hello(_environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello'];
};

/** A layer that records when the request passes it and tags the response with a header. */
function tagging(name: string, trail: string[]): Middleware {
  return function tag(next) {
    return function tagged(environ, startResponse) {
      trail.push(`in ${name}`);
      const body = next(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['X-Layer', name]], excInfo));
      trail.push(`out ${name}`);
      return body;
    };
  };
}

describe('compose', () => {
  it('applies the first listed middleware outermost', async () => {
    const trail: string[] = [];
    const app = compose(tagging('outer', trail), tagging('inner', trail))(hello);
    const res = await call(app);
    expect(res.text).toBe('hello');
    expect(trail).toEqual(['in outer', 'in inner', 'out inner', 'out outer']);
    // the inner layer adds its header first; the outer one sees and extends the inner's list
    expect(res.headers.filter(([n]) => n === 'X-Layer').map(([, v]) => v)).toEqual(['inner', 'outer']);
  });

  it('with no middleware returns the app itself', () => {
    expect(compose()(hello)).toBe(hello);
  });

  it('builds the layers once, not per request', async () => {
    let built = 0;
    const counting: Middleware = (next) => {
      built++;
      return next;
    };
    const app = compose(counting)(hello);
    await call(app);
    await call(app);
    expect(built).toBe(1);
  });

  it('lets a layer answer without calling the app inside it', async () => {
    const gate: Middleware = () =>
      function refuse(_environ, startResponse) {
        startResponse('403 Forbidden', [['Content-Type', 'text/plain']]);
        return ['no'];
      };
    const res = await call(compose(gate)(hello));
    expect([res.status, res.text]).toEqual([403, 'no']);
  });

  it('works with async apps and async iterable bodies', async () => {
    const upper: Middleware = (next) =>
      async function uppercase(environ, startResponse) {
        const body = await next(environ, startResponse);
        return (async function* shout() {
          for await (const chunk of body) yield String(chunk).toUpperCase();
        })();
      };
    const res = await call(compose(upper)(hello));
    expect(res.text).toBe('HELLO');
    expect(header(res, 'Content-Type')).toBe('text/plain');
  });

  it('names an anonymous layer after its middleware, so a stack trace says what ran', async () => {
    const failing: Middleware = function authenticate() {
      return () => {
        throw new Error('boom');
      };
    };
    const app = compose(failing)(hello);
    expect(app.name).toBe('authenticate');
    const err = await Promise.resolve()
      .then(() => app(makeEnviron(), () => async () => {}))
      .catch((e: Error) => e);
    expect((err as Error).stack).toMatch(/at authenticate /);
  });

  it('keeps the name a layer gave its own function', () => {
    expect(compose(tagging('x', []))(hello).name).toBe('tagged');
  });

  it('refuses what is not middleware, naming it', () => {
    expect(() => compose(hello as unknown as Middleware, 42 as unknown as Middleware)).toThrow('compose: middleware 1 is a number, not a function');
    const broken: Middleware = function broken() {
      return 'oops' as unknown as App;
    };
    expect(() => compose(broken)(hello)).toThrow('compose: middleware broken returned a string, not an app');
  });
});
