import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/front/errors.js';
import { classifyResponse } from '../../src/front/cgi/response-kind.js';
import type { CgiHeaders } from '../../src/front/cgi/response-parser.js';

/** Builds parsed headers the way the parser reports them. */
function headers(opts: { status?: [number, string]; location?: string; contentType?: string; extra?: [string, string][] } = {}): CgiHeaders {
  const fields: [string, string][] = [];
  if (opts.location !== undefined) fields.push(['Location', opts.location]);
  if (opts.contentType !== undefined) fields.push(['Content-Type', opts.contentType]);
  fields.push(...(opts.extra ?? []));
  return {
    status: opts.status ? { code: opts.status[0], reason: opts.status[1] } : null,
    fields,
    location: opts.location ?? null,
    contentType: opts.contentType ?? null,
  };
}

function refusal(h: CgiHeaders): GatewayError {
  try {
    classifyResponse(h);
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('classifyResponse: local redirects', () => {
  it.each([['/x'], ['/cgi-bin/other.sh?a=b'], ['/']])('serves Location %j without Status as a local redirect', (location) => {
    expect(classifyResponse(headers({ location }))).toEqual({ kind: 'local-redirect', location });
  });

  it('passes a local Location with a Status through as a document with that status', () => {
    const h = headers({ status: [301, 'Moved'], location: '/x' });
    expect(classifyResponse(h)).toEqual({ kind: 'document', status: 301, reason: 'Moved', fields: [['Location', '/x']] });
  });
});

describe('classifyResponse: client redirects', () => {
  it.each([
    ['//host/x'],
    ['http://x'],
    ['https://example.test/a?b'],
    ['mailto:someone@example.test'],
  ])('answers Location %j without Status with a 302 document carrying the Location', (location) => {
    expect(classifyResponse(headers({ location }))).toEqual({ kind: 'document', status: 302, reason: 'Found', fields: [['Location', location]] });
  });

  it('keeps a document sent along with an absolute Location', () => {
    const h = headers({ location: 'http://x/', contentType: 'text/html' });
    expect(classifyResponse(h)).toMatchObject({ kind: 'document', status: 302, fields: [['Location', 'http://x/'], ['Content-Type', 'text/html']] });
  });

  it.each([['foo'], ['foo/bar'], ['./x'], ['../x'], ['?q'], ['']])('rejects the relative Location %j without Status with CGI_BAD_HEADERS', (location) => {
    const e = refusal(headers({ location }));
    expect(e.code).toBe('CGI_BAD_HEADERS');
    expect(e.status).toBe(502);
  });

  it.each([
    [[301, 'Moved Permanently'], 'http://x/', 301],
    [[303, 'See Other'], '/other', 303],
    [[307, ''], '//host/x', 307],
  ] as const)('passes Status %j with Location %j through unchanged', (status, location, code) => {
    const r = classifyResponse(headers({ status: [...status], location }));
    expect(r).toMatchObject({ kind: 'document', status: code, fields: [['Location', location]] });
  });
});

describe('classifyResponse: documents', () => {
  it('makes a response with Content-Type and no Status a 200 OK document', () => {
    const h = headers({ contentType: 'text/plain', extra: [['X-A', '1']] });
    expect(classifyResponse(h)).toEqual({ kind: 'document', status: 200, reason: 'OK', fields: [['Content-Type', 'text/plain'], ['X-A', '1']] });
  });

  it.each<[[number, string] | null]>([[null], [[200, 'OK']], [[404, '']], [[500, 'Oops']]])(
    'rejects a document with Status %j and no Content-Type with CGI_BAD_HEADERS',
    (status) => {
      const h = headers({ status: status ?? undefined, extra: [['X-A', '1']] });
      expect(refusal(h).code).toBe('CGI_BAD_HEADERS');
    },
  );

  it.each([[204], [304]])('accepts a %i response without Content-Type', (code) => {
    expect(classifyResponse(headers({ status: [code, ''] }))).toMatchObject({ kind: 'document', status: code });
  });

  it.each([
    [[404, ''], 'Not Found'],
    [[201, ''], 'Created'],
    [[204, ''], 'No Content'],
    [[299, ''], ''],
    [[201, 'Made It'], 'Made It'],
    [[200, 'Fine Thanks'], 'Fine Thanks'],
  ] as const)('for Status %j uses the reason %j (the standard one when the script sent none)', (status, reason) => {
    const r = classifyResponse(headers({ status: [...status], contentType: 'text/plain' }));
    expect(r).toMatchObject({ kind: 'document', status: status[0], reason });
  });
});
