// The bundled examples and the static docroot, as a newcomer meets them: every link on the index works.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, reachableCopy, request, root, startCommand, withGateway, type RunningGateway } from './_gateway.js';

const examples = reachableCopy(path.join(root, 'examples'));
const cgiFixtures = reachableCopy(path.join(fixtures, 'cgi-bin'));
afterAll(() => {
  examples.remove();
  cgiFixtures.remove();
});
const examplesGateway = { cgiDir: path.join(examples.dir, 'cgi-bin'), docroot: path.join(examples.dir, 'public') };

describe.each(['sh', 'py', 'js'])('the %s examples in /cgi-bin/', (lang) => {
  it('the adding machine adds, with Content-Length', async () => {
    await withGateway(examplesGateway, async (g) => {
      const r = await request(`${g.url}/cgi-bin/add.${lang}?operand=2&operand=3`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toBe('your total is 5\n');
      expect(r.headers['content-length']).toBe('16');
    });
  });

  it('the adding machine explains a non-integer operand with 400', async () => {
    await withGateway(examplesGateway, async (g) => {
      const r = await request(`${g.url}/cgi-bin/add.${lang}?operand=2&operand=two`);
      expect(r.status).toBe(400);
      expect(r.text).toContain('"two" is not an integer');
    });
  });

  it('exercise one fills its blanks from the environment', async () => {
    await withGateway(examplesGateway, async (g) => {
      const r = await request(`${g.url}/cgi-bin/exercise-one.${lang}/more?q=1`);
      expect(r.status).toBe(200);
      const blank = (id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(r.text)?.[1];
      expect(blank('server-name')).toBe('127.0.0.1');
      expect(blank('server-port')).toBe(String(g.port));
      expect(blank('remote-addr')).toBe('127.0.0.1');
      expect(blank('path')).toBe(`/cgi-bin/exercise-one.${lang}/more`);
      expect(blank('protocol')).toBe('HTTP/1.1');
      expect(blank('software')).toMatch(/^Gatehouse\//);
    });
  });

  it('the environment dump lists the meta-variables, escaped', async () => {
    await withGateway(examplesGateway, async (g) => {
      const r = await request(`${g.url}/cgi-bin/env.${lang}?x=%3Cscript%3E`, { method: 'POST', body: 'hello' });
      expect(r.status).toBe(200);
      expect(r.text).toContain('GATEWAY_INTERFACE');
      expect(r.text).toContain('CGI/1.1');
      expect(r.text).not.toContain('<script>');
    });
  });
});

describe('static files from the docroot', () => {
  it('are served with MIME type, ETag, conditional GET, Range and HEAD', async () => {
    await withGateway(examplesGateway, async (g) => {
      const css = await request(`${g.url}/style.css`);
      expect(css.status).toBe(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
      const etag = css.headers.etag!;
      expect(etag).toBeTruthy();
      expect((await request(`${g.url}/style.css`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
      const part = await request(`${g.url}/style.css`, { headers: { Range: 'bytes=0-9' } });
      expect(part.status).toBe(206);
      expect(part.body.equals(css.body.subarray(0, 10))).toBe(true);
      const head = await request(`${g.url}/style.css`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-length']).toBe(String(css.body.length));
    });
  });

  it('refuse other methods with 405 and missing files with 404', async () => {
    await withGateway(examplesGateway, async (g) => {
      expect((await request(`${g.url}/style.css`, { method: 'POST', body: 'x' })).status).toBe(405);
      expect((await request(`${g.url}/no-such-file.html`)).status).toBe(404);
    });
  });
});

describe('scripts run as --cgi-user', () => {
  it.runIf(process.getuid?.() === 0)('when the server is root, a script runs as nobody, never root', async () => {
    await withGateway({ cgiDir: cgiFixtures.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/whoami.sh`);
      const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
      expect(r.text).toBe(`uid=${nobody[2]} gid=${nobody[3]}\n`);
    });
  });

  it.runIf(process.getuid?.() !== 0)('when the server is not root, a script runs as the server user', async () => {
    await withGateway({ cgiDir: cgiFixtures.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/whoami.sh`);
      expect(r.text).toBe(`uid=${process.getuid!()} gid=${process.getgid!()}\n`);
    });
  });
});

/** The real command with no --app: the bundled example apps are mounted. */
async function withCommand(args: string[], fn: (url: string) => Promise<void>): Promise<void> {
  const cmd = startCommand(['--port', '0', ...args]);
  try {
    const listening = await cmd.waitForLog((l) => l.msg === 'listening');
    await fn(String(listening.url).replace(/\/$/, ''));
  } finally {
    cmd.child.kill('SIGTERM');
    await cmd.exited;
  }
}

describe.each(['pool', 'cgi'])('the index page in %s mode', (mode) => {
  let links: string[] = [];
  beforeAll(() => {
    const index = readFileSync(path.join(root, 'examples', 'public', 'index.html'), 'utf8');
    links = [...index.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
  });

  it('links every example, and every link answers as the index says', async () => {
    await withCommand(['--mode', mode, '--cgi-dir', path.join(examples.dir, 'cgi-bin'), '--docroot', path.join(examples.dir, 'public')], async (url) => {
      expect(links.length).toBeGreaterThan(20);
      for (const prefix of ['/cgi-bin/env.', '/cgi-bin/exercise-one.', '/cgi-bin/add.', '/environ/', '/add/', '/books/', '/calc/']) {
        expect(links.some((l) => l.startsWith(prefix))).toBe(true);
      }
      for (const link of links) {
        const r = await request(url + link);
        // The index marks its error cases: operand=two, an unknown book, division by zero.
        const expected = /operand=two/.test(link) || /divide\/6\/0/.test(link) ? 400 : /book\/99/.test(link) ? 404 : 200;
        expect({ link, status: r.status }).toEqual({ link, status: expected });
      }
    });
  });
});

describe('the access log', () => {
  it("has one line per request naming who served it: the script's pid (beside the front's own), or the worker thread", async () => {
    const calc = path.join(fixtures, 'apps', 'validated-calc.js');
    await withGateway({ cgiDir: cgiFixtures.dir, apps: [{ prefix: '/calc', module: calc }], workers: 1 }, async (g: RunningGateway) => {
      await request(`${g.url}/cgi-bin/hello.sh`);
      await request(`${g.url}/calc/add/1/2`);
      await request(`${g.url}/nothing-here`);
      const access = await g.waitForLog((l) => l.msg === 'access' && l.path === '/nothing-here');
      const script = g.logs.find((l) => l.msg === 'access' && l.path === '/cgi-bin/hello.sh')!;
      const app = g.logs.find((l) => l.msg === 'access' && l.path === '/calc/add/1/2')!;
      expect(script).toMatchObject({ method: 'GET', status: 200, via: 'cgi-script', complete: true });
      expect(script.childPid).toEqual(expect.any(Number));
      expect(script.childPid).not.toBe(script.pid); // `pid` stays the front's, as on every line
      expect(script.pid).toBe(process.pid);
      expect(script.bytes).toBeGreaterThan(0);
      expect(app).toMatchObject({ status: 200, via: 'pool:/calc' });
      expect(app.worker).toEqual(expect.any(Number));
      expect(access).toMatchObject({ status: 404, via: 'static' });
      expect(g.logs.filter((l) => l.msg === 'access')).toHaveLength(3);
    });
  });
});
