import { describe, expect, it } from 'vitest';
import { buildEnviron, type BodyFacts, type EnvironPolicy, type MountFacts, type RequestFacts } from '../../src/front/environ.js';
import { parseRequestTarget } from '../../src/front/request-target.js';
import { serverSoftware } from '../../src/front/version.js';

function facts(over: Partial<RequestFacts> & { url?: string } = {}): RequestFacts {
  const url = over.url ?? '/cgi-bin/env.sh/extra?a=b';
  return {
    method: 'GET',
    target: parseRequestTarget(url),
    url,
    httpVersion: '1.1',
    rawHeaders: ['Host', 'example.test:8080'],
    remoteAddress: '203.0.113.7',
    remotePort: 54321,
    localAddress: '127.0.0.1',
    localPort: 8000,
    scheme: 'http',
    ...over,
  };
}

const mount: MountFacts = {
  scriptName: '/cgi-bin/env.sh',
  pathInfo: '/extra',
  scriptFilename: '/srv/cgi-bin/env.sh',
  documentRoot: '/srv/public',
};
const noBody: BodyFacts = { length: null, streamedChunked: false };
const noAuth: EnvironPolicy = { passAuth: false };

function env(opts: { req?: Partial<RequestFacts> & { url?: string }; mount?: Partial<MountFacts>; body?: Partial<BodyFacts>; policy?: Partial<EnvironPolicy> } = {}) {
  return buildEnviron(facts(opts.req), { ...mount, ...opts.mount }, { ...noBody, ...opts.body }, { ...noAuth, ...opts.policy });
}

const headers = (...pairs: string[]) => ({ rawHeaders: ['Host', 'example.test', ...pairs] });

describe('buildEnviron: the fixed RFC 3875 meta-variables', () => {
  it('sets GATEWAY_INTERFACE, SERVER_SOFTWARE, SERVER_PROTOCOL and REQUEST_METHOD', () => {
    const e = env({ req: { method: 'POST', httpVersion: '1.0' } });
    expect(e).toMatchObject({ GATEWAY_INTERFACE: 'CGI/1.1', SERVER_SOFTWARE: serverSoftware, SERVER_PROTOCOL: 'HTTP/1.0', REQUEST_METHOD: 'POST' });
  });

  it('hands on SCRIPT_NAME, PATH_INFO, SCRIPT_FILENAME and DOCUMENT_ROOT from the mount', () => {
    expect(env()).toMatchObject({ SCRIPT_NAME: '/cgi-bin/env.sh', PATH_INFO: '/extra', SCRIPT_FILENAME: '/srv/cgi-bin/env.sh', DOCUMENT_ROOT: '/srv/public' });
  });

  it('leaves SCRIPT_FILENAME out when the mount has no file', () => {
    expect(env({ mount: { scriptFilename: undefined } })).not.toHaveProperty('SCRIPT_FILENAME');
  });

  it('sets PATH_TRANSLATED to the document root plus PATH_INFO when PATH_INFO is non-empty', () => {
    expect(env().PATH_TRANSLATED).toBe('/srv/public/extra');
  });

  it('sets PATH_INFO to "" and leaves PATH_TRANSLATED out when there is no extra path', () => {
    const e = env({ req: { url: '/cgi-bin/env.sh' }, mount: { pathInfo: '' } });
    expect(e.PATH_INFO).toBe('');
    expect(e).not.toHaveProperty('PATH_TRANSLATED');
  });

  it('sets REQUEST_SCHEME to http and leaves HTTPS out for plain http', () => {
    const e = env();
    expect(e.REQUEST_SCHEME).toBe('http');
    expect(e).not.toHaveProperty('HTTPS');
  });

  it('sets REMOTE_PORT and REMOTE_HOST alongside REMOTE_ADDR', () => {
    expect(env()).toMatchObject({ REMOTE_ADDR: '203.0.113.7', REMOTE_HOST: '203.0.113.7', REMOTE_PORT: '54321' });
  });

  it('makes every value a string', () => {
    const e = env({
      req: { rawHeaders: ['Host', 'h', 'Content-Type', 'text/plain', 'X-A', '1'] },
      body: { length: 12, streamedChunked: true },
      policy: { passAuth: true },
    });
    for (const [name, value] of Object.entries(e)) expect(typeof value, name).toBe('string');
  });
});

describe('buildEnviron: QUERY_STRING and REQUEST_URI', () => {
  it.each([
    ['/s?a=b', 'a=b'],
    ['/s?x=%41+%2B&y', 'x=%41+%2B&y'],
    ['/s?', ''],
    ['/s', ''],
    ['/s?a=1?b=2', 'a=1?b=2'],
  ])('for %j sets QUERY_STRING to %j, byte for byte as sent', (url, query) => {
    expect(env({ req: { url } }).QUERY_STRING).toBe(query);
  });

  it.each([
    ['/cgi-bin/env.sh/a%20b?q=%41+1', '/cgi-bin/env.sh/a%20b?q=%41+1'],
    ['/cgi-bin/env.sh', '/cgi-bin/env.sh'],
    ['/cgi-bin/env.sh?', '/cgi-bin/env.sh?'],
    ['http://example.test/cgi-bin/env.sh?x', '/cgi-bin/env.sh?x'],
  ])('for %j sets REQUEST_URI to the raw path with its query: %j', (url, uri) => {
    expect(env({ req: { url } }).REQUEST_URI).toBe(uri);
  });
});

describe('buildEnviron: CONTENT_LENGTH and CONTENT_TYPE', () => {
  it.each([
    [null, undefined],
    [0, undefined],
    [1, '1'],
    [1048576, '1048576'],
  ])('for a body of length %j sets CONTENT_LENGTH to %j', (length, expected) => {
    const e = env({ body: { length } });
    if (expected === undefined) expect(e).not.toHaveProperty('CONTENT_LENGTH');
    else expect(e.CONTENT_LENGTH).toBe(expected);
  });

  it('ignores a client Content-Length header when the gateway knows no body length', () => {
    const e = env({ req: headers('Content-Length', '99') });
    expect(e).not.toHaveProperty('CONTENT_LENGTH');
    expect(e).not.toHaveProperty('HTTP_CONTENT_LENGTH');
  });

  it('sets CONTENT_TYPE from the Content-Type header, not as HTTP_CONTENT_TYPE', () => {
    const e = env({ req: headers('content-type', 'application/x-www-form-urlencoded; charset=utf-8') });
    expect(e.CONTENT_TYPE).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(e).not.toHaveProperty('HTTP_CONTENT_TYPE');
  });

  it('sets CONTENT_TYPE even when the header is present but empty', () => {
    expect(env({ req: headers('Content-Type', '') }).CONTENT_TYPE).toBe('');
  });

  it('leaves CONTENT_TYPE out when there is no Content-Type header', () => {
    expect(env({ body: { length: 5 } })).not.toHaveProperty('CONTENT_TYPE');
  });
});

describe('buildEnviron: SERVER_NAME and SERVER_PORT', () => {
  it.each([
    ['example.test', '127.0.0.1', 'example.test'],
    ['example.test:8080', '127.0.0.1', 'example.test'],
    ['Example.TEST:80', '127.0.0.1', 'example.test'],
    ['10.0.0.1:9', '127.0.0.1', '10.0.0.1'],
    ['[::1]:80', '::1', '[::1]'],
    ['[::1]', '::1', '[::1]'],
    ['evil host/', '127.0.0.1', '127.0.0.1'],
    ['a/b', '127.0.0.1', '127.0.0.1'],
    ['x:80:90', '127.0.0.1', '127.0.0.1'],
    ['', '127.0.0.1', '127.0.0.1'],
    ['evil host/', '::1', '[::1]'],
    ['', 'fe80::1', '[fe80::1]'],
    ['', '::ffff:192.0.2.1', '192.0.2.1'],
  ])('for Host %j on local address %j sets SERVER_NAME to %j', (host, localAddress, name) => {
    expect(env({ req: { rawHeaders: ['Host', host], localAddress } }).SERVER_NAME).toBe(name);
  });

  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
  ])('without a Host header on local address %j sets SERVER_NAME to %j', (localAddress, name) => {
    expect(env({ req: { rawHeaders: [], localAddress } }).SERVER_NAME).toBe(name);
  });

  it('sets SERVER_PORT from the port the request arrived on, not the Host header', () => {
    const e = env({ req: { rawHeaders: ['Host', 'example.test:9999'], localPort: 8123 } });
    expect(e.SERVER_PORT).toBe('8123');
  });
});

describe('buildEnviron: REMOTE_ADDR', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['2001:db8::5', '2001:db8::5'],
    ['::ffff:7f00:1', '::ffff:7f00:1'],
  ])('for a client at %j sets REMOTE_ADDR to %j, without brackets', (remoteAddress, addr) => {
    expect(env({ req: { remoteAddress } }).REMOTE_ADDR).toBe(addr);
  });
});

describe('buildEnviron: HTTP_* variables from request headers', () => {
  it.each([
    [['Accept', 'text/html'], 'HTTP_ACCEPT', 'text/html'],
    [['x-forwarded-for', '1.2.3.4'], 'HTTP_X_FORWARDED_FOR', '1.2.3.4'],
    [['User-Agent', 'curl/8'], 'HTTP_USER_AGENT', 'curl/8'],
    [['X-1', 'digit'], 'HTTP_X_1', 'digit'],
  ])('exports header %j as %s', (pair, name, value) => {
    expect(env({ req: headers(...pair) })[name]).toBe(value);
  });

  it('exports the Host header as HTTP_HOST, port included', () => {
    expect(env({ req: { rawHeaders: ['Host', 'example.test:8080'] } }).HTTP_HOST).toBe('example.test:8080');
  });

  it('merges repeated headers with ", " in arrival order, whatever their case', () => {
    expect(env({ req: headers('Accept', 'a', 'X-Other', 'o', 'accept', 'b', 'ACCEPT', 'c') }).HTTP_ACCEPT).toBe('a, b, c');
  });

  it('merges repeated Cookie headers with "; "', () => {
    expect(env({ req: headers('Cookie', 'a=1', 'cookie', 'b=2; c=3') }).HTTP_COOKIE).toBe('a=1; b=2; c=3');
  });

  it.each([['Redirect-Status'], ['redirect-status']])('never exports a %s header: REDIRECT_STATUS is the gateway\'s alone (CVE-2024-8927)', (name) => {
    const e = env({ req: headers(name, '200') });
    expect(e).not.toHaveProperty('HTTP_REDIRECT_STATUS');
    expect(e.REDIRECT_STATUS).toBe('200');
  });

  it('no request header produces a variable the gateway sets itself', () => {
    const names = ['Gateway-Interface', 'Redirect-Status', 'Transfer-Encoding', 'Content-Length', 'Content-Type', 'Proxy'];
    const e = env({ req: headers(...names.flatMap((n) => [n, 'from-client'])), body: { length: null, streamedChunked: true } });
    const fromClient = Object.entries(e).filter(([k, v]) => v === 'from-client' && k !== 'CONTENT_TYPE').map(([k]) => k);
    expect(fromClient).toEqual(['HTTP_GATEWAY_INTERFACE']); // harmless: the gateway's own is GATEWAY_INTERFACE
    expect(e.HTTP_TRANSFER_ENCODING).toBe('chunked');
  });

  it.each([['Proxy'], ['proxy'], ['PROXY']])('never exports a %s header (httpoxy)', (name) => {
    const e = env({ req: headers(name, 'http://evil:3128') });
    expect(e).not.toHaveProperty('HTTP_PROXY');
  });

  it.each([
    ['X_Foo'],
    ['X.Foo'],
    ['X Foo'],
    ['X~Foo'],
    ['X!Foo'],
    ['Ünicode'],
  ])('does not export a header named %j, whose name has characters outside letters, digits and "-"', (name) => {
    const e = env({ req: headers(name, 'spoof') });
    expect(Object.values(e)).not.toContain('spoof');
  });

  it('does not let an X_Foo header pose as X-Foo', () => {
    const e = env({ req: headers('X_Foo', 'spoof', 'X-Foo', 'real') });
    expect(e.HTTP_X_FOO).toBe('real');
    const onlySpoof = env({ req: headers('X_Foo', 'spoof') });
    expect(onlySpoof).not.toHaveProperty('HTTP_X_FOO');
  });

  it.each([['Content-Type'], ['Content-Length'], ['Transfer-Encoding']])('does not export %s as an HTTP_* variable', (name) => {
    const e = env({ req: headers(name, 'chunked') });
    const http = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
    expect(e).not.toHaveProperty(http);
  });

  it('sets HTTP_TRANSFER_ENCODING=chunked when the body is streamed de-chunked', () => {
    const e = env({ req: headers('Transfer-Encoding', 'chunked'), body: { length: null, streamedChunked: true } });
    expect(e.HTTP_TRANSFER_ENCODING).toBe('chunked');
    expect(e).not.toHaveProperty('CONTENT_LENGTH');
  });

  it('leaves HTTP_TRANSFER_ENCODING out when a chunked body was buffered', () => {
    const e = env({ req: headers('Transfer-Encoding', 'chunked'), body: { length: 10, streamedChunked: false } });
    expect(e).not.toHaveProperty('HTTP_TRANSFER_ENCODING');
    expect(e.CONTENT_LENGTH).toBe('10');
  });

  it.each([
    ['Authorization', 'HTTP_AUTHORIZATION'],
    ['Proxy-Authorization', 'HTTP_PROXY_AUTHORIZATION'],
  ])('withholds %s unless passAuth is on', (header, name) => {
    expect(env({ req: headers(header, 'Basic dTpw') })).not.toHaveProperty(name);
    expect(env({ req: headers(header, 'Basic dTpw'), policy: { passAuth: true } })[name]).toBe('Basic dTpw');
  });

  it('withholds a lower-case authorization header unless passAuth is on', () => {
    expect(env({ req: headers('authorization', 'Bearer x') })).not.toHaveProperty('HTTP_AUTHORIZATION');
  });
});

describe('buildEnviron: variables only the gateway sets', () => {
  it('always sets REDIRECT_STATUS to "200"', () => {
    expect(env().REDIRECT_STATUS).toBe('200');
  });

  it.each([
    ['Redirect_Status'],
    ['Request-Uri'],
    ['Script-Filename'],
    ['Document-Root'],
  ])('keeps the gateway-set variables when the client sends a %s header', (name) => {
    const e = env({ req: headers(name, 'spoof') });
    expect([e.REDIRECT_STATUS, e.REQUEST_URI, e.SCRIPT_FILENAME, e.DOCUMENT_ROOT]).not.toContain('spoof');
  });

  it('sets every variable name as either a meta-variable or HTTP_ + a safe name', () => {
    const e = env({ req: headers('X_Y', '1', 'A-b', '2', 'Proxy', '3'), body: { length: 3 } });
    for (const name of Object.keys(e)) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });
});
