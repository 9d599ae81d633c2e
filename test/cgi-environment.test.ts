// The script's environment (RFC 3875 §4): built from nothing, every meta-variable by its exact rule,
// request headers exported safely, and the script run from its own directory with no argv words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fixtures, holdGateway, parseEnvDump, rawRequest, reachableCopy, request, withGateway, type RunningGateway } from './_gateway.js';

let cgi: { dir: string; remove: () => void };
let scripts: { dir: string; remove: () => void };
/** The real path of the env-dump copy (the gateway reports real paths). */
let realCgi: string;

beforeAll(() => {
  cgi = reachableCopy(path.join(fixtures, 'cgi-bin'));
  // The same env dump two directories down, so nested directories are exercised with the full dump.
  const nested = path.join(cgi.dir, 'sub', 'dir');
  mkdirSync(nested, { recursive: true, mode: 0o755 });
  copyFileSync(path.join(cgi.dir, 'env.sh'), path.join(nested, 'env.sh'));
  chmodSync(nested, 0o755);
  chmodSync(path.dirname(nested), 0o755);
  chmodSync(path.join(nested, 'env.sh'), 0o755);
  realCgi = realpathSync(cgi.dir);
  scripts = reachableCopy(path.join(fixtures, 'cgi-lookup', 'scripts'));
});
afterAll(() => {
  cgi?.remove();
  scripts?.remove();
});

/** GET (or any method) of env.sh through node:http; returns the parsed dump. */
async function dump(g: RunningGateway, target: string, init: Parameters<typeof request>[1] = {}): Promise<Record<string, string>> {
  const r = await request(`${g.url}${target}`, init);
  expect(r.status, r.text).toBe(200);
  return parseEnvDump(r.text);
}

/** Sends raw request bytes and returns the parsed dump of the reply (HTTP/1.0 replies are never chunked). */
async function rawDump(g: RunningGateway, raw: string): Promise<Record<string, string>> {
  const reply = (await rawRequest(g.port, raw)).toString('latin1');
  expect(reply).toMatch(/^HTTP\/1\.[01] 200 /);
  return parseEnvDump(reply.slice(reply.indexOf('\r\n\r\n') + 4));
}

describe('the environment is built from nothing', () => {
  const saved = process.env.GATEHOUSE_TEST_SECRET;
  beforeAll(() => {
    process.env.GATEHOUSE_TEST_SECRET = 's3cret';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.GATEHOUSE_TEST_SECRET;
    else process.env.GATEHOUSE_TEST_SECRET = saved;
  });

  it('a secret in the server environment never reaches a script', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/env.sh`);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain('s3cret');
      expect(parseEnvDump(r.text)).not.toHaveProperty('GATEHOUSE_TEST_SECRET');
    });
  });

  it('a script sees only allowlisted, request and gateway variables, nothing else of the server environment', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const env = await dump(g, '/cgi-bin/env.sh');
      const gatewayVariables = new Set([
        'GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT', 'REQUEST_METHOD',
        'SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING', 'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_PORT',
        'CONTENT_LENGTH', 'CONTENT_TYPE', 'REQUEST_URI', 'REQUEST_SCHEME', 'DOCUMENT_ROOT', 'SCRIPT_FILENAME',
        'REDIRECT_STATUS', 'PATH', 'TZ', 'LANG', 'LANGUAGE',
        'PWD', // set by the script's own shell
      ]);
      const unexpected = Object.keys(env).filter((k) => !gatewayVariables.has(k) && !k.startsWith('HTTP_') && !k.startsWith('LC_'));
      expect(unexpected).toEqual([]);
      expect(env).not.toHaveProperty('HOME');
    });
  });

  it('a variable named in passEnv is handed to the script with the server value', async () => {
    await withGateway({ cgiDir: cgi.dir, passEnv: ['GATEHOUSE_TEST_SECRET'] }, async (g) => {
      expect((await dump(g, '/cgi-bin/env.sh')).GATEHOUSE_TEST_SECRET).toBe('s3cret');
    });
  });

  it('setEnv sets a fixed variable for every script', async () => {
    await withGateway({ cgiDir: cgi.dir, setEnv: { GATEHOUSE_FIXED: 'fixed value' } }, async (g) => {
      expect((await dump(g, '/cgi-bin/env.sh')).GATEHOUSE_FIXED).toBe('fixed value');
    });
  });

  it('setEnv wins over passEnv for the same name', async () => {
    await withGateway({ cgiDir: cgi.dir, passEnv: ['GATEHOUSE_TEST_SECRET'], setEnv: { GATEHOUSE_TEST_SECRET: 'from setEnv' } }, async (g) => {
      expect((await dump(g, '/cgi-bin/env.sh')).GATEHOUSE_TEST_SECRET).toBe('from setEnv');
    });
  });

  it('a script gets a PATH', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const env = await dump(g, '/cgi-bin/env.sh');
      expect(env.PATH).toBeTruthy();
      expect(env.PATH!.split(':')).toContain('/bin');
    });
  });
});

describe('RFC 3875 meta-variables', () => {
  let g: RunningGateway;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // One gateway for the read-only checks below, kept running until afterAll.
    ({ g, stop } = await holdGateway({ cgiDir: cgi.dir }));
  });
  afterAll(() => stop());

  it('CONTENT_LENGTH and CONTENT_TYPE are absent from a request without a body or Content-Type', async () => {
    const env = await dump(g, '/cgi-bin/env.sh');
    expect(env).not.toHaveProperty('CONTENT_LENGTH');
    expect(env).not.toHaveProperty('CONTENT_TYPE');
  });

  it('CONTENT_LENGTH is the body length and CONTENT_TYPE the header when a body is sent', async () => {
    const r = await request(`${g.url}/cgi-bin/env.sh`, { method: 'POST', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'hello' });
    const env = parseEnvDump(r.text);
    expect(env.CONTENT_LENGTH).toBe('5');
    expect(env.CONTENT_TYPE).toBe('text/plain; charset=utf-8');
    expect(env).not.toHaveProperty('HTTP_CONTENT_LENGTH');
    expect(env).not.toHaveProperty('HTTP_CONTENT_TYPE');
    expect(r.text.endsWith('body=hello')).toBe(true);
  });

  it('CONTENT_TYPE is set from the header even when there is no body', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { 'Content-Type': 'application/json' } });
    expect(env.CONTENT_TYPE).toBe('application/json');
    expect(env).not.toHaveProperty('CONTENT_LENGTH');
  });

  it('the URL path is split at the script into SCRIPT_NAME and PATH_INFO', async () => {
    const env = await dump(g, '/cgi-bin/env.sh/a/b');
    expect(env.SCRIPT_NAME).toBe('/cgi-bin/env.sh');
    expect(env.PATH_INFO).toBe('/a/b');
  });

  it('a script in nested directories under cgi-bin runs, split after its own name', async () => {
    const env = await dump(g, '/cgi-bin/sub/dir/env.sh/extra/more');
    expect(env.SCRIPT_NAME).toBe('/cgi-bin/sub/dir/env.sh');
    expect(env.PATH_INFO).toBe('/extra/more');
    expect(env.SCRIPT_FILENAME).toBe(path.join(realCgi, 'sub', 'dir', 'env.sh'));
  });

  it('PATH_INFO is percent-decoded', async () => {
    expect((await dump(g, '/cgi-bin/env.sh/a%20b/%C3%A9')).PATH_INFO).toBe('/a b/é');
    // Decoded once, as a path: '+' stays '+', and %25 yields a literal '%'.
    expect((await dump(g, '/cgi-bin/env.sh/a+b/100%2541')).PATH_INFO).toBe('/a+b/100%41');
  });

  it('PATH_INFO is empty and PATH_TRANSLATED absent when nothing follows the script name', async () => {
    const env = await dump(g, '/cgi-bin/env.sh');
    expect(env.PATH_INFO).toBe('');
    expect(env).not.toHaveProperty('PATH_TRANSLATED');
  });

  it('PATH_TRANSLATED maps a non-empty PATH_INFO onto the document root', async () => {
    const env = await dump(g, '/cgi-bin/env.sh/some%20where');
    expect(env.PATH_TRANSLATED).toBe(`${env.DOCUMENT_ROOT}/some where`);
  });

  it('QUERY_STRING is the query byte for byte as sent', async () => {
    const env = await rawDump(g, 'GET /cgi-bin/env.sh?a=%41&b=+c&&d HTTP/1.0\r\nHost: localhost\r\n\r\n');
    expect(env.QUERY_STRING).toBe('a=%41&b=+c&&d');
  });

  it('QUERY_STRING is set and empty when the target has no query', async () => {
    const env = await dump(g, '/cgi-bin/env.sh');
    expect(env).toHaveProperty('QUERY_STRING');
    expect(env.QUERY_STRING).toBe('');
  });

  it('SERVER_NAME is the Host header without its port, and SERVER_PORT the port the request arrived on', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { Host: 'example.test:9999' } });
    expect(env.SERVER_NAME).toBe('example.test');
    expect(env.SERVER_PORT).toBe(String(g.port));
  });

  it('SERVER_NAME is the listening address when the request has no Host header', async () => {
    const env = await rawDump(g, 'GET /cgi-bin/env.sh HTTP/1.0\r\n\r\n');
    expect(env.SERVER_NAME).toBe('127.0.0.1');
    expect(env.SERVER_PORT).toBe(String(g.port));
  });

  it('a Host header that is not a host name never becomes SERVER_NAME', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { Host: 'evil.test/../x' } });
    expect(env.SERVER_NAME).toBe('127.0.0.1');
  });

  it('SERVER_PROTOCOL is the HTTP version of the request', async () => {
    expect((await dump(g, '/cgi-bin/env.sh')).SERVER_PROTOCOL).toBe('HTTP/1.1');
    expect((await rawDump(g, 'GET /cgi-bin/env.sh HTTP/1.0\r\nHost: localhost\r\n\r\n')).SERVER_PROTOCOL).toBe('HTTP/1.0');
  });

  it('REMOTE_ADDR is the bare client address and REMOTE_PORT its numeric port', async () => {
    const env = await dump(g, '/cgi-bin/env.sh');
    expect(env.REMOTE_ADDR).toBe('127.0.0.1');
    expect(env.REMOTE_PORT).toMatch(/^[1-9]\d*$/);
    expect(Number(env.REMOTE_PORT)).toBeLessThanOrEqual(65535);
    expect(env.REMOTE_PORT).not.toBe(String(g.port));
  });

  it('REQUEST_METHOD, GATEWAY_INTERFACE and SERVER_SOFTWARE say what and who is calling', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { method: 'DELETE' });
    expect(env.REQUEST_METHOD).toBe('DELETE');
    expect(env.GATEWAY_INTERFACE).toBe('CGI/1.1');
    expect(env.SERVER_SOFTWARE).toMatch(/^Gatehouse\/\d+\.\d+\.\d+/);
  });

  it('REQUEST_URI is the request target as sent, SCRIPT_FILENAME the real script file', async () => {
    const env = await dump(g, '/cgi-bin/env.sh/x%20y?q=%41+1');
    expect(env.REQUEST_URI).toBe('/cgi-bin/env.sh/x%20y?q=%41+1');
    expect(env.SCRIPT_FILENAME).toBe(path.join(realCgi, 'env.sh'));
  });

  it('DOCUMENT_ROOT is the real docroot and REQUEST_SCHEME is http', async () => {
    const env = await dump(g, '/cgi-bin/env.sh');
    expect(env.DOCUMENT_ROOT).toBe(realpathSync(g.gateway.options.docroot));
    expect(env.REQUEST_SCHEME).toBe('http');
  });

  it('REDIRECT_STATUS is 200 and a client Redirect-Status header cannot change it', async () => {
    expect((await dump(g, '/cgi-bin/env.sh')).REDIRECT_STATUS).toBe('200');
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { 'Redirect-Status': '999' } });
    expect(env.REDIRECT_STATUS).toBe('200');
  });

  it('a request header becomes HTTP_* with dashes as underscores', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { 'X-Foo': 'bar', 'Accept-Language': 'fr' } });
    expect(env.HTTP_X_FOO).toBe('bar');
    expect(env.HTTP_ACCEPT_LANGUAGE).toBe('fr');
  });

  it('repeated header fields are joined with ", "', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { 'X-Multi': ['one', 'two'] } });
    expect(env.HTTP_X_MULTI).toBe('one, two');
  });

  it('repeated Cookie fields are joined with "; "', async () => {
    // node:http would join a Cookie array itself, so the two fields go out raw.
    const env = await rawDump(g, 'GET /cgi-bin/env.sh HTTP/1.0\r\nHost: localhost\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n');
    expect(env.HTTP_COOKIE).toBe('a=1; b=2');
  });

  it('a Redirect-Status header never reaches the script, whose REDIRECT_STATUS stays the gateway\'s 200', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { 'Redirect-Status': '302' } });
    expect(env).not.toHaveProperty('HTTP_REDIRECT_STATUS');
    expect(env.REDIRECT_STATUS).toBe('200');
  });

  it('a Proxy header is never exported (httpoxy)', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { Proxy: 'http://evil.test:8080' } });
    expect(env).not.toHaveProperty('HTTP_PROXY');
    expect(Object.values(env)).not.toContain('http://evil.test:8080');
  });

  it('a header name with an underscore is not exported, so X_Foo cannot pose as X-Foo', async () => {
    const alone = await rawDump(g, 'GET /cgi-bin/env.sh HTTP/1.0\r\nHost: localhost\r\nX_Foo: smuggled\r\n\r\n');
    expect(alone).not.toHaveProperty('HTTP_X_FOO');
    const both = await rawDump(g, 'GET /cgi-bin/env.sh HTTP/1.0\r\nHost: localhost\r\nX_Foo: smuggled\r\nX-Foo: genuine\r\n\r\n');
    expect(both.HTTP_X_FOO).toBe('genuine');
  });

  it('Authorization and Proxy-Authorization are withheld by default', async () => {
    const env = await dump(g, '/cgi-bin/env.sh', { headers: { Authorization: 'Basic dXNlcjpwdw==', 'Proxy-Authorization': 'Basic cHJveHk6cHc=' } });
    expect(env).not.toHaveProperty('HTTP_AUTHORIZATION');
    expect(env).not.toHaveProperty('HTTP_PROXY_AUTHORIZATION');
    expect(Object.values(env).join('\n')).not.toContain('dXNlcjpwdw==');
  });
});

describe('credentials with passAuth', () => {
  it('Authorization and Proxy-Authorization reach the script when passAuth is on', async () => {
    await withGateway({ cgiDir: cgi.dir, passAuth: true }, async (g) => {
      const env = await dump(g, '/cgi-bin/env.sh', { headers: { Authorization: 'Basic dXNlcjpwdw==', 'Proxy-Authorization': 'Basic cHJveHk6cHc=' } });
      expect(env.HTTP_AUTHORIZATION).toBe('Basic dXNlcjpwdw==');
      expect(env.HTTP_PROXY_AUTHORIZATION).toBe('Basic cHJveHk6cHc=');
    });
  });
});

describe('how the script is started', () => {
  it('a script runs with its own directory as the working directory', async () => {
    await withGateway({ cgiDir: scripts.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/sub/dir/pwd.sh`);
      expect(r.status).toBe(200);
      expect(r.text).toBe(`cwd=${path.join(realpathSync(scripts.dir), 'sub', 'dir')}\n`);
    });
  });

  it('a query string without "=" never becomes argv words', async () => {
    await withGateway({ cgiDir: scripts.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/argv.sh?-s+-d+foo`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('argc=0\nargv=\n');
    });
  });
});
