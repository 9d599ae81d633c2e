import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEnviron } from '../../src/front/environ.js';
import { packRequest, unpackRequest, type RequestDescription } from '../../src/workers/request-wire.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const description: fc.Arbitrary<RequestDescription> = fc.record({
  facts: fc.record({
    method: text, url: text, httpVersion: fc.constantFrom('1.0', '1.1'),
    rawHeaders: fc.array(fc.tuple(text, text), { maxLength: 12 }).map((pairs) => pairs.flat()),
    remoteAddress: text, remotePort: fc.integer({ min: 0, max: 65535 }), localAddress: text, localPort: fc.integer({ min: 0, max: 65535 }),
    scheme: fc.constantFrom('http' as const, 'https' as const),
    target: fc.record({ rawPath: text, query: text, path: text }),
  }),
  mount: fc.record({ scriptName: text, pathInfo: text, documentRoot: text, scriptFilename: text }, { requiredKeys: ['scriptName', 'pathInfo', 'documentRoot'] }),
  body: fc.record({ length: fc.option(fc.nat(), { nil: null }), streamedChunked: fc.boolean() }),
  policy: fc.record({ passAuth: fc.boolean() }),
});

describe('a pool request on the wire', () => {
  it('unpacks to exactly what was packed, whatever the fields hold (NULs, lone surrogates, empty strings)', () => {
    fc.assert(fc.property(description, (d) => {
      expect(unpackRequest(packRequest(d))).toEqual(d);
    }), { seed: 3, numRuns: 1000 });
  });

  it('keeps a field longer than 65,535 characters whole', () => {
    const d: RequestDescription = {
      facts: { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: ['Cookie', 'c'.repeat(70_000), 'Host', 'h'], remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, scheme: 'http', target: { rawPath: '/', query: '', path: '/' } },
      mount: { scriptName: '/app', pathInfo: '', documentRoot: '/srv' },
      body: { length: null, streamedChunked: false },
      policy: { passAuth: false },
    };
    expect(unpackRequest(packRequest(d))).toEqual(d);
  });

  it('gives the worker the environ the front would have built', () => {
    fc.assert(fc.property(description, (d) => {
      const u = unpackRequest(packRequest(d));
      expect(buildEnviron(u.facts, u.mount, u.body, u.policy)).toEqual(buildEnviron(d.facts, d.mount, d.body, d.policy));
    }), { seed: 4, numRuns: 300 });
  });
});
