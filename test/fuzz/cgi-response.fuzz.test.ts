import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/front/errors.js';
import { CgiResponseParser, type ParseLimits } from '../../src/front/cgi/response-parser.js';
import { feed, type Outcome } from '../unit/_feed-parser.js';
import { runs, splitAt } from './_fuzz.js';

const limits: ParseLimits = { lineBytes: 8 * 1024, blockBytes: 64 * 1024 };

/** Only CGI_BAD_HEADERS (502) may come out of the parser as a failure. */
function outcome(pieces: Buffer[]): Outcome {
  const r = feed(pieces, limits);
  if (typeof r === 'object' && 'error' in r) expect(r).toEqual({ error: 'CGI_BAD_HEADERS', status: 502 });
  return r;
}

/** Script output made of the lines that matter: real fields, bad names, controls, folds, status lines, blank lines. */
const line = fc.oneof(
  fc.constantFrom('Content-Type: text/plain', 'Status: 404 Not Found', 'Status: 99 Low', 'Status: 200', 'Location: /x', 'Location: http://h/',
    'Content-Length: 5', 'Content-Length: x', 'Transfer-Encoding: chunked', 'X-A: 1', ' folded', '\tfolded', 'no colon', ': empty name', 'Bad Name: v', 'X-C: a\rb', 'X-N: \0'),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.string({ unit: 'binary', maxLength: 20 })).map(([n, v]) => `${n}: ${v}`),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const output = fc.tuple(fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.uint8Array({ maxLength: 64 }))
  .map(([lines, nl, ended, body]) => Buffer.concat([Buffer.from(lines.map((l) => l + nl).join('') + (ended ? nl : ''), 'latin1'), body]));

describe('fuzz: the CGI response header parser', () => {
  it('parses any byte stream the same however it is split, with only CGI_BAD_HEADERS (502) as a failure', () => {
    fc.assert(fc.property(fc.oneof(output, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const whole = outcome([bytes]);
      expect(outcome(splitAt(bytes, cuts))).toEqual(whole);
      expect(outcome([...bytes].map((b) => Buffer.from([b])))).toEqual(whole);
    }), runs(1500));
  });

  it('gives the body byte for byte: what follows the blank line is never parsed or lost', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (body, cuts) => {
      const bytes = Buffer.concat([Buffer.from('Content-Type: application/octet-stream\r\n\r\n'), body]);
      const r = outcome(splitAt(bytes, cuts));
      expect(r).toMatchObject({ rest: Buffer.from(body) });
    }), runs(500));
  });

  it('refuses a 10 MiB header line having held no more than its line limit and one chunk', () => {
    const p = new CgiResponseParser(limits);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let fed = 0;
    expect(() => {
      for (; fed < 10 * 1024 * 1024; fed += chunk.length) p.push(chunk);
    }).toThrow(GatewayError);
    expect(fed).toBeLessThanOrEqual(limits.lineBytes + chunk.length);
  });

  it('refuses a header block of a million short lines once it passes the block limit', () => {
    const p = new CgiResponseParser(limits);
    const chunk = Buffer.from('X-A: 1\n'.repeat(1000));
    let fed = 0;
    expect(() => {
      for (let i = 0; i < 1000; i++, fed += chunk.length) p.push(chunk);
    }).toThrow(/header block larger than/);
    expect(fed).toBeLessThanOrEqual(limits.blockBytes + chunk.length);
  });
});
