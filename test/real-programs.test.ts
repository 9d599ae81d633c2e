// Real CGI programs that nobody here wrote, run behind the gateway over real HTTP: git's smart HTTP server
// (git-http-backend), php-cgi, a Python cgi.FieldStorage script and a Perl CGI.pm script. Each needs something
// specific from its host (see ../shared/notes/cgi-mode.md, "What real CGI programs need").
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkedBody } from '../src/front/options.js';
import { fixtures, parseEnvDump, reachableCopy, request, withGateway } from './_gateway.js';

const execFileP = promisify(execFile);

let programs: { dir: string; remove: () => void };
let cgiDir: string;
beforeAll(() => {
  programs = reachableCopy(path.join(fixtures, 'real-programs'));
  cgiDir = path.join(programs.dir, 'cgi-bin');
});
afterAll(() => programs?.remove());

const urlencoded = { 'Content-Type': 'application/x-www-form-urlencoded' };
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Sends `body` in several pieces, so node:http sends it with Transfer-Encoding: chunked and no Content-Length. */
async function* inPieces(body: string | Buffer, pieces = 3): AsyncGenerator<Buffer> {
  const buf = Buffer.from(body);
  const step = Math.ceil(buf.length / pieces);
  for (let i = 0; i < buf.length; i += step) yield buf.subarray(i, i + step);
}

interface Part {
  name: string;
  value: string | Buffer;
  filename?: string;
  type?: string;
}

/** A multipart/form-data body (RFC 7578) and its Content-Type header. */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----gatehouse${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type === undefined ? '' : `Content-Type: ${p.type}\r\n`}\r\n`;
    chunks.push(Buffer.from(head), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A temp dir that `nobody` (who runs the scripts when the tests run as root) can enter. */
function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-real-'));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('git smart HTTP through git-http-backend', () => {
  /** Runs the git client: no prompts, no user or system config, a bounded run time. */
  function git(args: string[], opts: { cwd: string; home: string; env?: Record<string, string> }) {
    return execFileP('git', args, {
      cwd: opts.cwd,
      timeout: 20_000,
      maxBuffer: 16 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: opts.home,
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Gatehouse Test',
        GIT_AUTHOR_EMAIL: 'test@gatehouse.invalid',
        GIT_COMMITTER_NAME: 'Gatehouse Test',
        GIT_COMMITTER_EMAIL: 'test@gatehouse.invalid',
        ...opts.env,
      },
    });
  }

  async function cloneAndPushMoreThanOneMebibyte(chunkedBody: ChunkedBody): Promise<void> {
    const work = tempDir();
    try {
      const home = path.join(work.dir, 'home');
      const projectRoot = path.join(work.dir, 'repos');
      mkdirSync(home);
      mkdirSync(projectRoot);
      const bare = path.join(projectRoot, 'repo.git');
      await git(['init', '--quiet', '--bare', '--initial-branch=main', bare], { cwd: work.dir, home });
      // No REMOTE_USER here, so git-http-backend refuses receive-pack unless the repo allows it.
      await git(['config', 'http.receivepack', 'true'], { cwd: bare, home });
      // The backend runs as `nobody` when the tests run as root: it must own the repo (git's safe.directory
      // check) and be able to write the pushed objects.
      if (process.getuid?.() === 0) await execFileP('chown', ['-R', 'nobody:', projectRoot]);

      await withGateway(
        { cgiDir, chunkedBody, setEnv: { GIT_PROJECT_ROOT: projectRoot, GIT_HTTP_EXPORT_ALL: '1' } },
        async (g) => {
          const remote = `${g.url}/cgi-bin/git.sh/repo.git`;
          await git(['clone', '--quiet', remote, 'first'], { cwd: work.dir, home });

          const first = path.join(work.dir, 'first');
          const payload = randomBytes(1536 * 1024); // incompressible: the pack stays over git's 1 MiB post buffer
          writeFileSync(path.join(first, 'payload.bin'), payload);
          await git(['add', 'payload.bin'], { cwd: first, home });
          await git(['commit', '--quiet', '-m', 'add 1.5 MiB of random bytes'], { cwd: first, home });
          const pushed = await git(['push', 'origin', 'HEAD:main'], {
            cwd: first,
            home,
            env: { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' },
          });
          // The pack went up as a chunked request: the case a host that rejects chunked bodies breaks.
          expect(pushed.stderr).toMatch(/Send header: Transfer-Encoding: chunked/i);
          expect(pushed.stderr).toMatch(/\* \[new branch\]\s+HEAD -> main/);

          await git(['clone', '--quiet', remote, 'second'], { cwd: work.dir, home });
          const second = path.join(work.dir, 'second');
          expect(sha256(readFileSync(path.join(second, 'payload.bin')))).toBe(sha256(payload));
          const head = async (cwd: string) => (await git(['rev-parse', 'HEAD'], { cwd, home })).stdout.trim();
          expect(await head(second)).toBe(await head(first));
          await git(['fsck', '--full', '--strict'], { cwd: second, home });
        },
      );
    } finally {
      work.remove();
    }
  }

  it('clones, takes a push of over 1 MiB (a chunked request) and serves it back, with chunked bodies buffered', async () => {
    await cloneAndPushMoreThanOneMebibyte('buffer');
  });

  it('clones, takes a push of over 1 MiB (a chunked request) and serves it back, with chunked bodies streamed', async () => {
    await cloneAndPushMoreThanOneMebibyte('stream');
  });
});

describe('php-cgi', () => {
  it('runs a PHP script that reads $_GET', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.php?name=Ada+Lovelace&tags[]=a&tags[]=b&sym=%26%3D`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toBe(['get name=Ada Lovelace', 'get sym=&=', 'get tags=a,b', 'method=GET', 'redirect_status=200', ''].join('\n'));
    });
  });

  it('runs a PHP script that reads $_POST from a urlencoded body, alongside $_GET', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.php?from=query`, {
        method: 'POST',
        headers: urlencoded,
        body: 'greeting=hello+world&n=42&amp=%26',
      });
      expect(r.status).toBe(200);
      expect(r.text).toBe(['get from=query', 'post amp=&', 'post greeting=hello world', 'post n=42', 'method=POST', 'redirect_status=200', ''].join('\n'));
    });
  });

  it('gives php-cgi a chunked urlencoded POST with its length when chunked bodies are buffered', async () => {
    await withGateway({ cgiDir, chunkedBody: 'buffer' }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.php`, { method: 'POST', headers: urlencoded, body: inPieces('a=1&b=two&c=three') });
      expect(r.status).toBe(200);
      expect(r.text).toContain('post a=1\npost b=two\npost c=three\n');
    });
  });

  it('keeps REDIRECT_STATUS the gateway\'s own 200 when the client sends a Redirect-Status header', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/env.sh`, { headers: { 'Redirect-Status': '302' } });
      expect(r.status).toBe(200);
      const env = parseEnvDump(r.text);
      expect(env.REDIRECT_STATUS).toBe('200');
      expect(env).not.toHaveProperty('HTTP_REDIRECT_STATUS'); // a gateway-only variable, never from a header

      const php = await request(`${g.url}/cgi-bin/form.php`, { headers: { 'Redirect-Status': '302' } });
      expect(php.status).toBe(200);
      expect(php.text).toContain('redirect_status=200\n');
    });
  });
});

describe('Python cgi.FieldStorage', () => {
  it('reads a urlencoded POST', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.py`, { method: 'POST', headers: urlencoded, body: 'name=Guido&lang=py%2B%2B&lang=c' });
      expect(r.status).toBe(200);
      expect(r.text).toBe(['field lang=py++', 'field lang=c', 'field name=Guido', 'content_length=31', ''].join('\n'));
    });
  });

  it('reads a multipart/form-data POST whose uploaded file round-trips byte for byte', async () => {
    const upload = Buffer.concat([randomBytes(200 * 1024), Buffer.from('\r\n--not-the-boundary\r\n'), randomBytes(1024)]);
    const { body, contentType } = multipart([
      { name: 'title', value: 'a binary upload' },
      { name: 'upload', value: upload, filename: 'blob.bin', type: 'application/octet-stream' },
    ]);
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.py`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
      expect(r.status).toBe(200);
      expect(r.text).toBe(
        [
          'field title=a binary upload',
          `file upload name=blob.bin bytes=${upload.length} sha256=${sha256(upload)}`,
          `content_length=${body.length}`,
          '',
        ].join('\n'),
      );
    });
  });

  it('reads a chunked multipart POST, de-chunked and given a CONTENT_LENGTH in buffer mode', async () => {
    const upload = randomBytes(64 * 1024);
    const { body, contentType } = multipart([
      { name: 'note', value: 'sent chunked' },
      { name: 'upload', value: upload, filename: 'chunked.bin', type: 'application/octet-stream' },
    ]);
    await withGateway({ cgiDir, chunkedBody: 'buffer' }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.py`, { method: 'POST', headers: { 'Content-Type': contentType }, body: inPieces(body, 5) });
      expect(r.status).toBe(200);
      expect(r.text).toBe(
        [
          'field note=sent chunked',
          `file upload name=chunked.bin bytes=${upload.length} sha256=${sha256(upload)}`,
          `content_length=${body.length}`,
          '',
        ].join('\n'),
      );
    });
  });

  it('reads a chunked urlencoded POST in buffer mode', async () => {
    await withGateway({ cgiDir, chunkedBody: 'buffer' }, async (g) => {
      const form = 'x=1&y=hello+there&z=%E2%9C%93';
      const r = await request(`${g.url}/cgi-bin/form.py`, { method: 'POST', headers: urlencoded, body: inPieces(form) });
      expect(r.status).toBe(200);
      expect(r.text).toBe(['field x=1', 'field y=hello there', 'field z=✓', `content_length=${form.length}`, ''].join('\n'));
    });
  });
});

describe('Perl CGI.pm', () => {
  it('reads a GET query with repeated parameters', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.pl?name=Larry&colour=red&colour=blue`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toBe(['param colour=red,blue', 'param name=Larry', 'method=GET', ''].join('\n'));
    });
  });

  it('reads a urlencoded POST form', async () => {
    await withGateway({ cgiDir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.pl`, { method: 'POST', headers: urlencoded, body: 'name=Larry+Wall&lang=perl&lang=raku' });
      expect(r.status).toBe(200);
      expect(r.text).toBe(['param lang=perl,raku', 'param name=Larry Wall', 'method=POST', ''].join('\n'));
    });
  });

  it('reads a chunked POST form in buffer mode, where CGI.pm depends on CONTENT_LENGTH', async () => {
    await withGateway({ cgiDir, chunkedBody: 'buffer' }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/form.pl`, { method: 'POST', headers: urlencoded, body: inPieces('name=Larry&via=chunked&n=3') });
      expect(r.status).toBe(200);
      expect(r.text).toBe(['param n=3', 'param name=Larry', 'param via=chunked', 'method=POST', ''].join('\n'));
    });
  });
});
