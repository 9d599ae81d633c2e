// Script lookup: which URL runs which file, and every way a URL must fail to run anything.
// Refusals are checked twice: the status, and that the script never ran (each fixture announces
// itself on stderr as `ran:<name>` before anything else, and stderr lines land in the log).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures, holdGateway, rawRequest, reachableCopy, request, withGateway, type LogLine, type RunningGateway } from './_gateway.js';

let copy: { dir: string; remove: () => void };
/** The script directory (cgi-lookup/scripts in the temp copy). */
let scriptsDir: string;

beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'cgi-lookup'));
  scriptsDir = path.join(copy.dir, 'scripts');
  // Symlinks are made here, in the temp copy: one escaping the script directory, one staying inside,
  // one to a directory outside, and one in the docroot pointing at a script.
  symlinkSync('../outside/escape.sh', path.join(scriptsDir, 'escape.sh'));
  symlinkSync(path.join(copy.dir, 'outside', 'escape.sh'), path.join(scriptsDir, 'escape-absolute.sh'));
  symlinkSync('../outside', path.join(scriptsDir, 'outdir'));
  symlinkSync('marker.sh', path.join(scriptsDir, 'alias.sh'));
  symlinkSync('scripts/marker.sh', path.join(copy.dir, 'link-to-script.sh'));
  // A copy of marker.sh only its owner (root, here) may execute, and a FIFO: neither is a runnable script.
  const ownerOnly = path.join(scriptsDir, 'owner-only.sh');
  copyFileSync(path.join(scriptsDir, 'marker.sh'), ownerOnly);
  writeFileSync(ownerOnly, readFileSync(ownerOnly, 'utf8').replaceAll('marker.sh', 'owner-only.sh'));
  chmodSync(ownerOnly, 0o744);
  execFileSync('mkfifo', ['-m', '0777', path.join(scriptsDir, 'fifo')]);
});
afterAll(() => copy?.remove());

interface RawReply {
  status: number;
  head: string;
  body: string;
}

/** Sends `GET <target>` byte for byte (node:http and URL parsing would normalise dot segments and %2e). */
async function rawGet(g: RunningGateway, target: string): Promise<RawReply> {
  const reply = (await rawRequest(g.port, `GET ${target} HTTP/1.0\r\nHost: localhost\r\n\r\n`)).toString('latin1');
  const split = reply.indexOf('\r\n\r\n');
  const head = split === -1 ? reply : reply.slice(0, split);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(reply.slice(0, 200))}`);
  return { status: Number(m[1]), head, body: split === -1 ? '' : reply.slice(split + 4) };
}

const ranLine = (name: string) => (l: LogLine) => l.msg === 'script stderr' && l.stderr === `ran:${name}`;

/**
 * Proves nothing ran for the requests to `targets`: a later request to marker.sh runs and its `ran:` line
 * reaches the log; by then there is no `ran:<name>` line, and no line from a child (`childPid`, `script`)
 * carries the id of any of those requests.
 */
async function expectNeverRan(g: RunningGateway, targets: string[], name?: string): Promise<void> {
  const before = g.logs.length;
  const control = await request(`${g.url}/cgi-bin/marker.sh`);
  expect(control.status).toBe(200);
  await g.waitForLog((l) => g.logs.indexOf(l) >= before && ranLine('marker.sh')(l));
  if (name !== undefined) expect(g.logs.filter(ranLine(name))).toEqual([]);
  const ids = new Set(g.logs.filter((l) => l.msg === 'access' && targets.includes(String(l.path))).map((l) => l.req));
  expect(ids.size).toBe(targets.length);
  expect(g.logs.filter((l) => ids.has(l.req) && ('childPid' in l || 'script' in l))).toEqual([]);
}

describe('what runs', () => {
  it('a script runs and announces itself in the log (the control for every refusal below)', async () => {
    await withGateway({ cgiDir: scriptsDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/marker.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('marker ran\n');
      await g.waitForLog(ranLine('marker.sh'));
    });
  });

  it('a script in nested directories runs, with SCRIPT_NAME up to it and the rest as PATH_INFO', async () => {
    await withGateway({ cgiDir: scriptsDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/sub/dir/script.sh/extra`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('SCRIPT_NAME=/cgi-bin/sub/dir/script.sh\nPATH_INFO=/extra\n');
    });
  });

  it('a symlink inside the script directory to a script inside it runs that script', async () => {
    await withGateway({ cgiDir: scriptsDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/alias.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('marker ran\n');
    });
  });
});

describe('what is refused, without running anything', () => {
  let g: RunningGateway;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ g, stop } = await holdGateway({ cgiDir: scriptsDir }));
  });
  afterAll(() => stop());

  it('a name with no file behind it is 404', async () => {
    const r = await rawGet(g, '/cgi-bin/nothing-here.sh');
    expect(r.status).toBe(404);
  });

  it('a directory is 403', async () => {
    expect((await rawGet(g, '/cgi-bin/sub')).status).toBe(403);
    expect((await rawGet(g, '/cgi-bin/sub/dir/')).status).toBe(403);
  });

  it('a file without execute permission is 403 and does not run', async () => {
    const r = await rawGet(g, '/cgi-bin/not-executable.sh');
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('not-executable ran');
    await expectNeverRan(g, ['/cgi-bin/not-executable.sh'], 'not-executable.sh');
  });

  it.skipIf(process.getuid?.() !== 0)('a script only its owner may execute is 403 when scripts run as another user', async () => {
    // As root the front runs scripts as `nobody`; root's own access(2) answer must not count.
    const r = await rawGet(g, '/cgi-bin/owner-only.sh');
    expect(r.status).toBe(403);
    await expectNeverRan(g, ['/cgi-bin/owner-only.sh'], 'owner-only.sh');
  });

  it('a file that is not a regular file (a FIFO) is 403', async () => {
    expect((await rawGet(g, '/cgi-bin/fifo')).status).toBe(403);
  });

  it('percent-encoding is decoded exactly once: %252e%252e is a name, not a dot segment', async () => {
    const targets = ['/cgi-bin/%252e%252e/outside/escape.sh', '/cgi-bin/%252e%252e%252foutside%252fescape.sh'];
    for (const target of targets) expect((await rawGet(g, target)).status, target).toBe(404);
    await expectNeverRan(g, targets, 'escape.sh');
  });

  it('a symlink inside the script directory to a script outside it is 403 and the target never runs', async () => {
    const targets = ['/cgi-bin/escape.sh', '/cgi-bin/escape-absolute.sh'];
    for (const target of targets) {
      const r = await rawGet(g, target);
      expect(r.status, target).toBe(403);
      expect(r.body).not.toContain('escape ran');
    }
    await expectNeverRan(g, targets, 'escape.sh');
  });

  it('a script reached through a symlinked directory that leads outside is 403 and never runs', async () => {
    const r = await rawGet(g, '/cgi-bin/outdir/escape.sh');
    expect(r.status).toBe(403);
    await expectNeverRan(g, ['/cgi-bin/outdir/escape.sh'], 'escape.sh');
  });

  it('an encoded slash in the path is 400 and never runs a script', async () => {
    const targets = ['/cgi-bin/sub%2Fdir/script.sh', '/cgi-bin/marker.sh%2fx'];
    for (const target of targets) expect((await rawGet(g, target)).status, target).toBe(400);
    await expectNeverRan(g, targets);
  });

  it('dot segments, plain or encoded, are 400 and never run a script', async () => {
    const targets = [
      '/cgi-bin/../outside/escape.sh',
      '/cgi-bin/%2e%2e/outside/escape.sh',
      '/cgi-bin/%2E%2E/outside/escape.sh',
      '/cgi-bin/.%2e/outside/escape.sh',
      '/cgi-bin/./marker.sh',
      '/cgi-bin/%2e/marker.sh',
      '/cgi-bin/sub/../marker.sh',
    ];
    for (const target of targets) expect((await rawGet(g, target)).status, target).toBe(400);
    await expectNeverRan(g, targets, 'escape.sh');
  });

  it('malformed percent-encoding is 400 and never runs a script', async () => {
    const targets = ['/cgi-bin/marker%zz.sh', '/cgi-bin/marker.sh/%', '/cgi-bin/marker.sh/%4'];
    for (const target of targets) expect((await rawGet(g, target)).status, target).toBe(400);
    await expectNeverRan(g, targets);
  });

  it('an encoded NUL is 400 and never runs a script', async () => {
    const targets = ['/cgi-bin/marker.sh%00.txt', '/cgi-bin/marker.sh/%00'];
    for (const target of targets) expect((await rawGet(g, target)).status, target).toBe(400);
    await expectNeverRan(g, targets);
  });

  it('a hidden file is 404 and never runs', async () => {
    const r = await rawGet(g, '/cgi-bin/.secret.sh');
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('secret ran');
    await expectNeverRan(g, ['/cgi-bin/.secret.sh'], '.secret.sh');
  });

  it('an executable file that is not a program is 500 "could not be started", never run through a shell', async () => {
    const r = await rawGet(g, '/cgi-bin/no-shebang.sh');
    expect(r.status).toBe(500);
    expect(r.body).toContain('could not be started');
    expect(r.body).not.toContain('no-shebang ran');
    await expectNeverRan(g, ['/cgi-bin/no-shebang.sh'], 'no-shebang.sh');
  });
});

describe('script source is never served as a static file', () => {
  it('with the script directory inside the docroot, a script path under / is 404 while other static files are served', async () => {
    await withGateway({ cgiDir: scriptsDir, docroot: copy.dir }, async (g) => {
      const stat = await request(`${g.url}/public.txt`);
      expect(stat.status).toBe(200);
      expect(stat.text).toBe('a static file next to the script directory\n');

      for (const target of ['/scripts/marker.sh', '/scripts/sub/dir/script.sh', '/scripts/not-executable.sh', '/scripts/marker%2Esh', '/link-to-script.sh']) {
        const r = await rawGet(g, target);
        expect(r.status, target).toBe(404);
        expect(r.body, target).not.toContain('printf');
        expect(r.body, target).not.toContain('#!/bin/sh');
      }
      expect((await rawGet(g, '/scripts/')).status).toBe(404);
      // And the script still runs where it belongs.
      expect((await request(`${g.url}/cgi-bin/marker.sh`)).text).toBe('marker ran\n');
    });
  });

  it('the script source is not revealed to HEAD or Range requests either', async () => {
    await withGateway({ cgiDir: scriptsDir, docroot: copy.dir }, async (g) => {
      const head = await request(`${g.url}/scripts/marker.sh`, { method: 'HEAD' });
      expect(head.status).toBe(404);
      const range = await request(`${g.url}/scripts/marker.sh`, { headers: { Range: 'bytes=0-9' } });
      expect(range.status).toBe(404);
      expect(range.text).not.toContain('#!/bin/sh');
    });
  });
});
