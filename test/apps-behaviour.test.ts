// One behavioural suite for the bundled example apps, run against both modes: pool (warm worker threads) and
// cgi (a fresh process per request). Every app is wrapped in the validator, so a broken rule on either side of
// the contract would turn a page into a 500. Both modes must give the same responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Options } from '../src/front/options.js';
import { fixtures, holdGateway, reachableCopy, request, type Reply } from './_gateway.js';

type Mode = 'pool' | 'cgi';
const modes: Mode[] = ['pool', 'cgi'];
const apps = path.join(fixtures, 'apps');
const validated = (name: string) => path.join(apps, `validated-${name}.js`);

type Held = Awaited<ReturnType<typeof holdGateway>>;

const cgiBin = reachableCopy(path.join(fixtures, 'cgi-bin'));
const gateways = {} as Record<Mode, { main: Held; root: Held }>;

beforeAll(async () => {
  await Promise.all(
    modes.map(async (mode) => {
      const common = { mode, workers: 2, cgiDir: cgiBin.dir } satisfies Partial<Options>;
      const [main, root] = await Promise.all([
        holdGateway({
          ...common,
          apps: [
            { prefix: '/environ', module: validated('environ') },
            { prefix: '/add', module: validated('add') },
            { prefix: '/books', module: validated('books') },
            { prefix: '/calc', module: validated('calc') },
            // For the mount rules: /env beside /environ, and /a beside /a/b.
            { prefix: '/env', module: validated('environ') },
            { prefix: '/a', module: validated('environ') },
            { prefix: '/a/b', module: validated('environ') },
          ],
        }),
        holdGateway({ ...common, apps: [{ prefix: '/', module: validated('calc') }] }),
      ]);
      gateways[mode] = { main, root };
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(gateways).flatMap((h) => [h.main.stop(), h.root.stop()]));
  cgiBin.remove();
});

/** A page from the example apps: valid-looking HTML, text/html, an exact Content-Length, a link home. */
function expectPage(r: Reply, status: number): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(r.headers['content-length']).toBe(String(r.body.length));
  expect(r.headers['transfer-encoding']).toBeUndefined();
  expect(r.text).toMatch(/^<!doctype html>\n<html lang="en">\n<head>/i);
  expect(r.text).toMatch(/<head>.*<title>[^<]+<\/title>.*<\/head>\n<body>\n/s);
  expect(r.text).toMatch(/<\/body>\n<\/html>\n$/);
  expect(r.text).toContain('<a href="/">');
}

/** The value the environ page shows for `key` in its key/value table. */
function environRow(html: string, key: string): string | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`<tr><th>${escaped}</th><td>([^<]*)</td></tr>`).exec(html)?.[1];
}
const blank = (html: string, id: string) => new RegExp(`<span id="${id}">([^<]*)</span>`).exec(html)?.[1];
const result = (html: string) => /<output id="result">([^<]*)<\/output>/.exec(html)?.[1];

describe.each(modes)('the example apps in %s mode', (mode) => {
  const main = () => gateways[mode].main.g;
  const root = () => gateways[mode].root.g;

  describe('/add: the adding machine', () => {
    it('adds the operands of the query string and answers in text/plain with a Content-Length', async () => {
      const r = await request(`${main().url}/add?operand=2&operand=3`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe('your total is 5\n');
      expect(r.headers['content-length']).toBe(String(r.body.length));
    });

    it('answers 400 with a message naming the operand that is not an integer', async () => {
      const r = await request(`${main().url}/add/?operand=2&operand=two`);
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe('operand "two" is not an integer\n');
      expect(r.headers['content-length']).toBe(String(r.body.length));
    });

    it('adds the operands of a posted urlencoded form', async () => {
      const r = await request(`${main().url}/add`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'operand=20&operand=22',
      });
      expect(r.status).toBe(200);
      expect(r.text).toBe('your total is 42\n');
    });
  });

  describe('/books: the bookshelf', () => {
    it('lists every book, each title linking to /books/book/<id>, and each link leads to a detail page that links back', async () => {
      const list = await request(`${main().url}/books/`);
      expectPage(list, 200);
      const links = [...list.text.matchAll(/<li><a href="([^"]+)">([^<]+)<\/a><\/li>/g)].map((m) => ({ href: m[1]!, title: m[2]! }));
      expect(links.length).toBe(5);
      for (const { href, title } of links) {
        expect(href).toMatch(/^\/books\/book\/[^/]+$/);
        const detail = await request(`${main().url}${href}`);
        expectPage(detail, 200);
        expect(detail.text).toContain(`<h1>${title}</h1>`);
        expect(detail.text).toContain('<a href="/books/">Back to the list</a>');
      }
    });

    it('serves the list at /books as well as /books/', async () => {
      const r = await request(`${main().url}/books`);
      expectPage(r, 200);
      expect(r.text).toContain('href="/books/book/1"');
    });

    it('answers 404 with a page for an unknown book id', async () => {
      const r = await request(`${main().url}/books/book/999`);
      expectPage(r, 404);
      expect(r.text).toContain('There is no book 999.');
      expect(r.text).toContain('<a href="/books/">Back to the list</a>');
    });
  });

  describe('/calc: the calculator', () => {
    it.each([
      ['add/23/42', '65'],
      ['subtract/23/42', '-19'],
      ['multiply/3/5', '15'],
      ['divide/6/3', '2'],
    ])('computes /calc/%s = %s', async (op, expected) => {
      const r = await request(`${main().url}/calc/${op}`);
      expectPage(r, 200);
      expect(result(r.text)).toBe(expected);
    });

    it.each([
      ['divide/6/0', 'Division by zero'],
      ['add/two/3', 'Bad operands'],
      ['multiply/3/x', 'Bad operands'],
      ['add/23', 'Bad operands'],
      ['add', 'Bad operands'],
    ])('answers 400 with a message for /calc/%s', async (op, title) => {
      const r = await request(`${main().url}/calc/${op}`);
      expectPage(r, 400);
      expect(r.text).toContain(`<h1>${title}</h1>`);
    });

    it('answers 404 for an unknown operation', async () => {
      const r = await request(`${main().url}/calc/power/2/3`);
      expectPage(r, 404);
      expect(r.text).toContain('There is no operation "power".');
    });

    it('explains its use on its home page, with working example links', async () => {
      const r = await request(`${main().url}/calc/`);
      expectPage(r, 200);
      expect(r.text).toContain('<code>/calc/OPERATION/A/B</code>');
      const examples = [...r.text.matchAll(/<li><a href="([^"]+)">/g)].map((m) => m[1]!);
      expect(examples).toEqual(['/calc/add/23/42', '/calc/subtract/23/42', '/calc/multiply/3/5', '/calc/divide/6/3']);
      const followed = await request(`${main().url}${examples[2]}`);
      expect(result(followed.text)).toBe('15');
    });

    it('works mounted at "/": /multiply/3/5 answers 15 and the home page links without a prefix', async () => {
      const r = await request(`${root().url}/multiply/3/5`);
      expectPage(r, 200);
      expect(result(r.text)).toBe('15');
      const home = await request(`${root().url}/`);
      expectPage(home, 200);
      expect(home.text).toContain('<a href="/add/23/42">');
      expect(home.text).toContain('<code>/OPERATION/A/B</code>');
    });
  });

  describe('/environ: the environ page', () => {
    it('fills in its blanks from the request', async () => {
      const r = await request(`${main().url}/environ/some/where?x=1`);
      expectPage(r, 200);
      expect(blank(r.text, 'server-name')).toBe('127.0.0.1');
      expect(blank(r.text, 'server-port')).toBe(String(main().port));
      expect(blank(r.text, 'remote-addr')).toBe('127.0.0.1');
      expect(blank(r.text, 'path')).toBe('/environ/some/where');
      expect(blank(r.text, 'protocol')).toBe('HTTP/1.1');
      expect(blank(r.text, 'software')).toMatch(/^Gatehouse\/\d+\.\d+\.\d+/);
      expect(environRow(r.text, 'SCRIPT_NAME')).toBe('/environ');
      expect(environRow(r.text, 'PATH_INFO')).toBe('/some/where');
      expect(environRow(r.text, 'QUERY_STRING')).toBe('x=1');
      expect(environRow(r.text, 'REQUEST_METHOD')).toBe('GET');
      expect(environRow(r.text, 'gateway.version')).toBe('[1,0]');
      expect(environRow(r.text, 'gateway.url_scheme')).toBe('http');
    });

    it(`shows the mode flags of ${mode} mode`, async () => {
      const r = await request(`${main().url}/environ`);
      const expected = mode === 'pool' ? ['true', 'false', 'false'] : ['false', 'true', 'true'];
      expect(['gateway.multithread', 'gateway.multiprocess', 'gateway.run_once'].map((k) => environRow(r.text, k))).toEqual(expected);
    });
  });

  describe('the mount table', () => {
    it('serves a prefix itself and paths below it, never a longer segment that merely starts with it', async () => {
      const exact = await request(`${main().url}/env`);
      expect(exact.status).toBe(200);
      expect([environRow(exact.text, 'SCRIPT_NAME'), environRow(exact.text, 'PATH_INFO')]).toEqual(['/env', '']);
      const below = await request(`${main().url}/env/x`);
      expect([environRow(below.text, 'SCRIPT_NAME'), environRow(below.text, 'PATH_INFO')]).toEqual(['/env', '/x']);
      const environ = await request(`${main().url}/environ/x`);
      expect([environRow(environ.text, 'SCRIPT_NAME'), environRow(environ.text, 'PATH_INFO')]).toEqual(['/environ', '/x']);
      const envelope = await request(`${main().url}/envelope`);
      expect(envelope.status).toBe(404);
      const access = await main().waitForLog((l) => l.msg === 'access' && l.path === '/envelope');
      expect(access.via).toBe('static');
    });

    it('gives a request to the longest matching prefix', async () => {
      const cases: [string, string, string][] = [
        ['/a', '/a', ''],
        ['/a/x', '/a', '/x'],
        ['/a/bc', '/a', '/bc'],
        ['/a/b', '/a/b', ''],
        ['/a/b/c', '/a/b', '/c'],
      ];
      for (const [url, scriptName, pathInfo] of cases) {
        const r = await request(`${main().url}${url}`);
        expect(r.status).toBe(200);
        expect([url, environRow(r.text, 'SCRIPT_NAME'), environRow(r.text, 'PATH_INFO')]).toEqual([url, scriptName, pathInfo]);
      }
    });

    it('keeps /cgi-bin/ scripts and static files working beside the apps', async () => {
      const script = await request(`${main().url}/cgi-bin/hello.sh`);
      expect(script.status).toBe(200);
      expect(script.text).toBe('hello\n');
      const css = await request(`${main().url}/style.css`);
      expect(css.status).toBe(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
      const index = await request(`${main().url}/`);
      expect(index.status).toBe(200);
      expect(index.text).toContain('<title>Gatehouse</title>');
      // With an app at '/', scripts still have their own prefix.
      const rootScript = await request(`${root().url}/cgi-bin/hello.sh`);
      expect(rootScript.text).toBe('hello\n');
    });
  });
});

describe('both modes give the same responses', () => {
  const deterministic: { url: string; init?: Parameters<typeof request>[1]; gateway?: 'root' }[] = [
    { url: '/add?operand=2&operand=3' },
    { url: '/add?operand=2&operand=two' },
    { url: '/add?operand=-7&operand=99999999999999999999' },
    { url: '/add', init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'operand=2&operand=3' } },
    { url: '/books/' },
    { url: '/books/book/3' },
    { url: '/books/book/999' },
    { url: '/calc/' },
    { url: '/calc/add/23/42' },
    { url: '/calc/multiply/3/5' },
    { url: '/calc/divide/6/3' },
    { url: '/calc/divide/6/0' },
    { url: '/calc/add/x/1' },
    { url: '/calc/add/1' },
    { url: '/calc/power/2/3' },
    { url: '/multiply/3/5', gateway: 'root' },
    { url: '/', gateway: 'root' },
  ];

  it.each(deterministic)('$url: same status, Content-Type, Content-Length and body', async ({ url, init, gateway }) => {
    const [pool, cgi] = await Promise.all(modes.map((m) => request(`${gateways[m][gateway ?? 'main'].g.url}${url}`, init)));
    const view = (r: Reply) => ({ status: r.status, type: r.headers['content-type'], length: r.headers['content-length'], body: r.text });
    expect(view(cgi!)).toEqual(view(pool!));
    expect(pool!.headers['content-length']).toBe(String(pool!.body.length));
  });

  it('/environ: same status, headers and blanks (the table differs only in the flags and the process environment)', async () => {
    const [pool, cgi] = await Promise.all(modes.map((m) => request(`${gateways[m].main.g.url}/environ/p?q=1`)));
    expect(cgi!.status).toBe(pool!.status);
    expect(cgi!.headers['content-type']).toBe(pool!.headers['content-type']);
    for (const id of ['server-name', 'remote-addr', 'path', 'protocol', 'software']) expect([id, blank(cgi!.text, id)]).toEqual([id, blank(pool!.text, id)]);
    for (const key of ['SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'REQUEST_METHOD', 'SERVER_PROTOCOL', 'GATEWAY_INTERFACE', 'gateway.version', 'gateway.url_scheme']) {
      expect([key, environRow(cgi!.text, key)]).toEqual([key, environRow(pool!.text, key)]);
    }
  });
});
