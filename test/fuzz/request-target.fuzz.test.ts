import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError, errorCatalogue } from '../../src/front/errors.js';
import { parseRequestTarget } from '../../src/front/request-target.js';
import { runs } from './_fuzz.js';

/** Targets made of the pieces that matter to the decoder: escapes (good and bad), dots, slashes, '?', any byte. */
const piece = fc.oneof(
  fc.constantFrom('/', '.', '..', '%', '%2f', '%2F', '%00', '%2e', '%2E%2e', '?', '#', '%c3%a9', '%e2%82', '%ff', '+', ' ', '\u00e9', '\0', 'http://h'),
  fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
  fc.stringMatching(/^[a-z0-9_~-]{1,6}$/),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const target = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));

function outcome(url: string): { ok: ReturnType<typeof parseRequestTarget> } | { refused: string; status: number } {
  try {
    return { ok: parseRequestTarget(url) };
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e; // anything else escaping the decoder is a bug
    return { refused: e.code, status: e.status };
  }
}

describe('fuzz: the request-target decoder', () => {
  it('answers any target with a decoded path or a 400 refusal, and never throws anything else', () => {
    fc.assert(fc.property(fc.oneof(target, fc.string({ unit: 'binary' })), (url) => {
      const r = outcome(url);
      if ('refused' in r) {
        expect(r.status).toBe(400);
        expect(errorCatalogue[r.refused as keyof typeof errorCatalogue]).toBeDefined();
      }
    }), runs(3000));
  });

  it('never hands on a path that could climb out of its directory or cut a C string', () => {
    fc.assert(fc.property(target, (url) => {
      const r = outcome(url);
      if (!('ok' in r)) return;
      const { path, rawPath, query } = r.ok;
      expect(path.startsWith('/')).toBe(true);
      expect(path).not.toContain('\0');
      expect(path.split('/')).not.toContain('..');
      expect(path.split('/')).not.toContain('.');
      // An encoded '/' is refused, so every '/' of the decoded path was a '/' in the raw one.
      expect(path.split('/').length).toBe(rawPath.split('/').length);
      // The query is handed on byte for byte.
      if (url.startsWith('/')) expect(query).toBe(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    }), runs(3000));
  });

  it('decodes every escape of a valid UTF-8 path exactly as decodeURIComponent does, segment by segment', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0'));
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
      const raw = `/${segments.map(encodeURIComponent).join('/')}`;
      expect(parseRequestTarget(raw).path).toBe(`/${segments.join('/')}`);
    }), runs(1000));
  });
});
