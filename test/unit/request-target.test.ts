import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/front/errors.js';
import { parseRequestTarget } from '../../src/front/request-target.js';

function refusal(url: string): GatewayError {
  try {
    parseRequestTarget(url);
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(url)}`);
}

describe('parseRequestTarget: accepted targets', () => {
  it.each([
    ['/', '/', '', '/'],
    ['/a/b', '/a/b', '', '/a/b'],
    ['/a/b?q=1', '/a/b', 'q=1', '/a/b'],
    ['/a//b/', '/a//b/', '', '/a//b/'],
    ['/.hidden/..x/x..', '/.hidden/..x/x..', '', '/.hidden/..x/x..'],
  ])('parses origin-form %j into rawPath %j, query %j and path %j', (url, rawPath, query, path) => {
    expect(parseRequestTarget(url)).toEqual({ rawPath, query, path });
  });

  it.each([
    ['http://h:1/a?b', '/a', 'b'],
    ['http://example.test/cgi-bin/env.sh/x', '/cgi-bin/env.sh/x', ''],
    ['HTTPS://Example.Test/a', '/a', ''],
    ['http://h', '/', ''],
    ['http://h:1?b', '/', 'b'],
  ])('parses absolute-form %j into path %j and query %j', (url, path, query) => {
    const t = parseRequestTarget(url);
    expect({ path: t.path, query: t.query }).toEqual({ path, query });
  });

  it.each([
    ['/s?%41', '%41'],
    ['/s?a+b=c+d', 'a+b=c+d'],
    ['/s?', ''],
    ['/s?x=%2F&y=%00&z=%zz', 'x=%2F&y=%00&z=%zz'],
    ['/s?a=1?b=2&c', 'a=1?b=2&c'],
    ['/s?../../etc/passwd', '../../etc/passwd'],
  ])('keeps the query of %j byte for byte: %j', (url, query) => {
    expect(parseRequestTarget(url).query).toBe(query);
  });

  it.each([
    ['/a%20b', '/a b'],
    ['/caf%C3%A9', '/café'],
    ['/caf%c3%a9', '/café'],
    ['/%41%42C', '/ABC'],
    ['/a+b', '/a+b'],
    ['/100%25', '/100%'],
    ['/%25zz', '/%zz'],
  ])('decodes path %j once to %j', (url, path) => {
    const t = parseRequestTarget(url);
    expect(t.path).toBe(path);
    expect(t.rawPath).toBe(url);
  });
});

describe('parseRequestTarget: refused targets', () => {
  it.each([
    ['bad percent-encoding', '/a%zz'],
    ['a truncated escape', '/a%4'],
    ['a lone % at the end', '/a%'],
    ['an encoded slash', '/a%2Fb'],
    ['an encoded slash in lower case', '/a%2fb'],
    ['an encoded NUL', '/a%00b'],
    ['invalid UTF-8', '/a%FF'],
    ['a truncated UTF-8 sequence', '/a%C3'],
    ['an overlong UTF-8 encoding of "/"', '/a%C0%AFb'],
    ['a dot-dot segment', '/a/../b'],
    ['a dot segment', '/a/./b'],
    ['a trailing dot-dot segment', '/a/..'],
    ['a trailing dot segment', '/a/.'],
    ['an encoded dot-dot segment', '/%2e%2e/x'],
    ['a mixed-encoded dot-dot segment', '/a/.%2E/b'],
    ['an encoded dot segment', '/a/%2e/b'],
    ['a dot-dot segment in absolute-form', 'http://h/a/../b'],
    ['the asterisk form', '*'],
    ['a relative path', 'a/b'],
    ['an empty target', ''],
    ['a raw space', '/a b'],
    ['a raw tab', '/a\tb'],
    ['a raw control character', '/a\x01b'],
    ['a raw non-ASCII character', '/café'],
  ])('refuses %s (%j) with a 400 BAD_REQUEST_TARGET GatewayError', (_why, url) => {
    const e = refusal(url);
    expect(e.code).toBe('BAD_REQUEST_TARGET');
    expect(e.status).toBe(400);
  });
});
