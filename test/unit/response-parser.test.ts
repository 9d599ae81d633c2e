import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/front/errors.js';
import { CgiResponseParser, type CgiHeaders, type ParseLimits } from '../../src/front/cgi/response-parser.js';
import { feed as feedParser, type Outcome } from './_feed-parser.js';

const roomy: ParseLimits = { lineBytes: 8 * 1024, blockBytes: 64 * 1024 };

/** Feeds `input` in the given pieces, with roomy limits unless told. */
const feed = (pieces: Buffer[], limits: ParseLimits = roomy): Outcome => feedParser(pieces, limits);

const allAtOnce = (input: string | Buffer, limits?: ParseLimits) => feed([Buffer.from(input as string, 'latin1')], limits);
const byteByByte = (input: string | Buffer, limits?: ParseLimits) => {
  const b = Buffer.from(input as string, 'latin1');
  return feed([...b].map((x) => Buffer.from([x])), limits);
};

/** Parses both ways, requires the same result, and returns it. */
function parse(input: string | Buffer, limits?: ParseLimits): Outcome {
  const whole = allAtOnce(input, limits);
  expect(byteByByte(input, limits)).toEqual(whole);
  return whole;
}

function headersOf(input: string): CgiHeaders {
  const r = parse(input);
  if (r === 'incomplete' || 'error' in r) throw new Error(`expected headers, got ${JSON.stringify(r)}`);
  return r.headers;
}

function errorOf(input: string, limits?: ParseLimits): string | undefined {
  const r = parse(input, limits);
  return typeof r === 'object' && 'error' in r ? r.error : undefined;
}

describe('CgiResponseParser: line endings and body bytes', () => {
  it.each([
    ['LF', 'Content-Type: text/plain\nX-A: 1\n\nhello\n'],
    ['CRLF', 'Content-Type: text/plain\r\nX-A: 1\r\n\r\nhello\n'],
    ['mixed LF and CRLF', 'Content-Type: text/plain\r\nX-A: 1\n\r\nhello\n'],
  ])('reads a header block ended by %s the same whether fed byte by byte or at once', (_how, input) => {
    const r = parse(input);
    expect(r).toEqual({
      headers: { status: null, fields: [['Content-Type', 'text/plain'], ['X-A', '1']], location: null, contentType: 'text/plain', declaredLength: null },
      rest: Buffer.from('hello\n'),
    });
  });

  it.each([
    ['no body', '', ''],
    ['text', 'body text', 'body text'],
    ['a body that looks like headers', 'X-B: 2\n\nmore', 'X-B: 2\n\nmore'],
    ['binary bytes', '\x00\xff\r\n\x80', '\x00\xff\r\n\x80'],
  ])('returns the body bytes after the blank line exactly (%s)', (_what, after, rest) => {
    const r = parse(`Content-Type: a/b\r\n\r\n${after}`);
    expect(r).toMatchObject({ rest: Buffer.from(rest, 'latin1') });
  });

  it('returns the same headers and body for every way of splitting the input in two', () => {
    const input = Buffer.from('Status: 201 Made\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\n\r\n<p>body</p>', 'latin1');
    const whole = allAtOnce(input);
    for (let cut = 0; cut <= input.length; cut++) {
      expect(feed([input.subarray(0, cut), input.subarray(cut)]), `cut at ${cut}`).toEqual(whole);
    }
  });

  it('returns null until the blank line arrives', () => {
    const p = new CgiResponseParser(roomy);
    expect(p.push(Buffer.from('Content-Type: a/b\r\n'))).toBeNull();
    expect(p.push(Buffer.from('X: 1\r'))).toBeNull();
    expect(p.push(Buffer.from('\n\r'))).toBeNull();
    expect(p.push(Buffer.from('\nbody'))).toMatchObject({ rest: Buffer.from('body') });
  });

  it('keeps field names as sent and values without surrounding spaces', () => {
    expect(headersOf('content-TYPE:   text/plain  \nX-Empty:\nX-Tab:\tv\t\n\n').fields).toEqual([
      ['content-TYPE', 'text/plain'],
      ['X-Empty', ''],
      ['X-Tab', 'v'],
    ]);
  });

  it('keeps repeated fields such as Set-Cookie, in order', () => {
    expect(headersOf('Set-Cookie: a=1\nContent-Type: t/t\nSet-Cookie: b=2\n\n').fields).toEqual([
      ['Set-Cookie', 'a=1'],
      ['Content-Type', 't/t'],
      ['Set-Cookie', 'b=2'],
    ]);
  });

  it('keeps obs-text bytes (0x80-0xFF) in a value', () => {
    expect(headersOf('Content-Type: t/t\nX-L: caf\xe9\n\n').fields[1]).toEqual(['X-L', 'caf\xe9']);
  });
});

describe('CgiResponseParser: Status, Location and Content-Type', () => {
  it.each([
    ['Status: 404', { code: 404, reason: '' }],
    ['Status: 201 Made It', { code: 201, reason: 'Made It' }],
    ['status: 200 OK', { code: 200, reason: 'OK' }],
    ['STATUS:599 Odd', { code: 599, reason: 'Odd' }],
    ['Status: 302 Found', { code: 302, reason: 'Found' }],
  ])('reads %j as status %j', (line, status) => {
    const h = headersOf(`${line}\nContent-Type: t/t\n\n`);
    expect(h.status).toEqual(status);
    expect(h.fields.map(([n]) => n.toLowerCase())).not.toContain('status');
  });

  it('reports no status when the script sent none', () => {
    expect(headersOf('Content-Type: t/t\n\n').status).toBeNull();
  });

  it('reads Location and Content-Type and keeps them among the fields', () => {
    const h = headersOf('Location: http://x/\nContent-Type: text/html\n\n');
    expect(h.location).toBe('http://x/');
    expect(h.contentType).toBe('text/html');
    expect(h.fields).toEqual([['Location', 'http://x/'], ['Content-Type', 'text/html']]);
  });

  it.each([['Content-Length: 5'], ['Transfer-Encoding: chunked'], ['Connection: close'], ['content-length: 0'], ['CONNECTION: keep-alive']])(
    'drops the framing field %j sent by the script',
    (line) => {
      const h = headersOf(`Content-Type: t/t\n${line}\nX-Kept: 1\n\n`);
      expect(h.fields).toEqual([['Content-Type', 't/t'], ['X-Kept', '1']]);
    },
  );
});

describe('CgiResponseParser: protocol errors', () => {
  it.each([
    ['a folded line (space)', 'Content-Type: t/t\nX-A: 1\n continued\n\n'],
    ['a folded line (tab)', 'Content-Type: t/t\nX-A: 1\n\tcontinued\n\n'],
    ['a line without a colon', 'Content-Type: t/t\nnot a header\n\n'],
    ['an empty field name', 'Content-Type: t/t\n: value\n\n'],
    ['a name with a space', 'Content-Type: t/t\nX Foo: 1\n\n'],
    ['a space before the colon', 'Content-Type: t/t\nX-Foo : 1\n\n'],
    ['a name with a non-token character', 'Content-Type: t/t\nX(Foo): 1\n\n'],
    ['a NUL in a value', 'Content-Type: t/t\nX-A: a\x00b\n\n'],
    ['a bare CR inside a value', 'Content-Type: t/t\nX-A: a\rb\n\n'],
    ['a bare CR at the end of a value', 'Content-Type: t/t\nX-A: a\r\r\n\r\n'],
    ['a control character in a value', 'Content-Type: t/t\nX-A: a\x01b\n\n'],
    ['DEL in a value', 'Content-Type: t/t\nX-A: a\x7fb\n\n'],
    ['Status twice', 'Status: 200 OK\nStatus: 404\nContent-Type: t/t\n\n'],
    ['Location twice', 'Location: /a\nLocation: /b\n\n'],
  ])('rejects %s with CGI_BAD_HEADERS', (_why, input) => {
    expect(errorOf(input)).toBe('CGI_BAD_HEADERS');
  });

  it.each([['abc'], ['99'], ['199'], ['100 Continue'], ['600'], ['2000'], ['20 OK'], [''], ['200OK'], ['-200'], ['２００']])(
    'rejects Status %j with CGI_BAD_HEADERS',
    (value) => {
      expect(errorOf(`Status: ${value}\nContent-Type: t/t\n\n`)).toBe('CGI_BAD_HEADERS');
    },
  );
});

describe('CgiResponseParser: size limits', () => {
  const small: ParseLimits = { lineBytes: 32, blockBytes: 100 };

  it('rejects a header line over the line limit, both when fed at once and byte by byte', () => {
    const input = `X-Long: ${'a'.repeat(40)}\n\n`;
    expect(errorOf(input, small)).toBe('CGI_BAD_HEADERS');
  });

  it('rejects an endless line without a newline before reading it all', () => {
    const p = new CgiResponseParser(small);
    expect(() => p.push(Buffer.alloc(33, 0x61))).toThrowError(GatewayError);
  });

  it('accepts lines under the line limit', () => {
    expect(parse(`X-Short: ${'a'.repeat(10)}\nContent-Type: t/t\n\n`, small)).toHaveProperty('headers');
  });

  it('rejects a header block over the block limit made of short lines', () => {
    const input = `${'X-A: 0123456789\n'.repeat(8)}\n`; // 128 bytes of lines, each under 32
    expect(errorOf(input, small)).toBe('CGI_BAD_HEADERS');
  });

  it('accepts a header block under the block limit', () => {
    const input = `${'X-A: 0123456789\n'.repeat(5)}\n`; // 80 bytes
    expect(parse(input, small)).toHaveProperty('headers');
  });

  it('rejects a block that never ends with a blank line once it passes the block limit', () => {
    const p = new CgiResponseParser(small);
    expect(() => {
      for (let i = 0; i < 20; i++) p.push(Buffer.from('X-A: 0123456789\n'));
    }).toThrowError(GatewayError);
  });

  it('rejects with a GatewayError of status 502 at the real 8 KiB line limit', () => {
    const p = new CgiResponseParser(roomy);
    try {
      p.push(Buffer.from(`X-Long: ${'a'.repeat(9000)}\n\n`));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).status).toBe(502);
    }
  });

  // Five 20-byte lines: the header lines total exactly the 100-byte block limit, then the blank line.
  const line20 = { LF: 'X-A: 0123456789abcd\n', CRLF: 'X-A: 0123456789abc\r\n' } as const;
  it.each([
    [4, 'LF'],
    [4, 'CRLF'],
    [5, 'LF'],
    [5, 'CRLF'],
    [6, 'LF'],
    [6, 'CRLF'],
  ] as const)('decides a block of %i twenty-byte lines ended by %s the same way fed byte by byte or at once', (count, ending) => {
    const input = line20[ending].repeat(count) + (ending === 'LF' ? '\n' : '\r\n');
    expect(byteByByte(input, small)).toEqual(allAtOnce(input, small));
  });
});

describe('CgiResponseParser: end of output before the headers end', () => {
  it.each([
    ['no output at all', ''],
    ['a header line without its newline', 'Content-Type: t/t'],
    ['complete lines but no blank line', 'Content-Type: t/t\r\nX-A: 1\r\n'],
  ])('end() throws CGI_BAD_HEADERS after %s', (_why, input) => {
    const p = new CgiResponseParser(roomy);
    expect(p.push(Buffer.from(input))).toBeNull();
    try {
      p.end();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).code).toBe('CGI_BAD_HEADERS');
    }
  });
});
