import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyInput } from '../../src/app/input.js';
import { Form, FormError, readForm } from '../../src/app/forms.js';
import { makeEnviron } from '../unit/_app-harness.js';
import { runs, splitAt } from './_fuzz.js';

const utf8 = new TextEncoder();

/** readForm over a POST body fed in the given pieces; a FormError is an outcome, anything else escapes. */
async function read(contentType: string, pieces: Uint8Array[] | AsyncIterable<Uint8Array>): Promise<Form | FormError> {
  async function* chunks() {
    yield* pieces;
  }
  const environ = makeEnviron({ REQUEST_METHOD: 'POST', CONTENT_TYPE: contentType, 'gateway.input': new BodyInput(chunks()) });
  try {
    return await readForm(environ);
  } catch (e) {
    if (e instanceof FormError) return e;
    throw e;
  }
}

// busboy keeps only a filename's last path part and drops '.' and '..' (a guard against path tricks): not generated.
const name = fc.stringMatching(/^[A-Za-z0-9_.\[\]-]{1,10}$/);
type Part = { name: string; value: string } | { name: string; filename: string; type: string; data: Uint8Array };
const part: fc.Arbitrary<Part> = fc.oneof(
  fc.record({ name, value: fc.string({ unit: 'grapheme', maxLength: 30 }) }),
  fc.record({ name, filename: fc.stringMatching(/^[A-Za-z0-9_. -]{1,12}$/).filter((f) => f !== '.' && f !== '..'), type: fc.constantFrom('text/plain', 'image/png', 'application/octet-stream'), data: fc.uint8Array({ maxLength: 200 }) }),
);
const boundary = fc.stringMatching(/^[A-Za-z0-9'()+_,.-]{24,40}$/);

function multipart(parts: Part[], b: string): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    const disposition = 'value' in p ? `form-data; name="${p.name}"` : `form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type}`;
    out.push(utf8.encode(`--${b}\r\nContent-Disposition: ${disposition}\r\n\r\n`), 'value' in p ? utf8.encode(p.value) : p.data, utf8.encode('\r\n'));
  }
  out.push(utf8.encode(`--${b}--\r\n`));
  return Buffer.concat(out);
}

describe('fuzz: the form reader', () => {
  it('reads back every urlencoded field, in order, however the body is split', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.string({ unit: 'grapheme', maxLength: 20 })), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 6 }), async (pairs, cuts) => {
      const body = utf8.encode(new URLSearchParams(pairs).toString());
      const form = await read('application/x-www-form-urlencoded', splitAt(body, cuts));
      expect(form).toBeInstanceOf(Form);
      const seen = (form as Form).keys().flatMap((k) => (form as Form).getList(k).map((v) => [k, v]));
      const expected = [...new Set(pairs.map(([k]) => k))].flatMap((k) => pairs.filter(([n]) => n === k));
      expect(seen).toEqual(expected);
    }), runs(300));
  });

  it('reads back every multipart field and file byte for byte, however the body is split', async () => {
    await fc.assert(fc.asyncProperty(fc.array(part, { maxLength: 8 }), boundary, fc.array(fc.nat(), { maxLength: 10 }), async (parts, b, cuts) => {
      const body = multipart(parts, b);
      fc.pre(!parts.some((p) => 'data' in p && Buffer.from(p.data).includes(`--${b}`)));
      const form = await read(`multipart/form-data; boundary="${b}"`, splitAt(body, cuts));
      expect(form).toBeInstanceOf(Form);
      const f = form as Form;
      for (const n of new Set(parts.map((p) => p.name))) {
        const mine = parts.filter((p) => p.name === n);
        expect(f.getList(n)).toEqual(mine.flatMap((p) => ('value' in p ? [p.value] : [])));
        expect(f.files(n).map((x) => ({ filename: x.filename, type: x.type, data: Buffer.from(x.data) }))).toEqual(
          mine.flatMap((p) => ('data' in p ? [{ filename: p.filename, type: p.type, data: Buffer.from(p.data) }] : [])),
        );
      }
    }), runs(300));
  });

  it('answers a malformed multipart body with a form or a 400/413 FormError, never anything else', async () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.array(part, { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 20 })).map(([parts, at, noise]) => {
        const body = multipart(parts, 'xyzBOUNDARYxyz');
        const cut = at % (body.length + 1);
        return Buffer.concat([body.subarray(0, cut), noise, body.subarray(cut)]);
      }),
    );
    await fc.assert(fc.asyncProperty(junk, fc.array(fc.nat(), { maxLength: 4 }), async (body, cuts) => {
      const r = await read('multipart/form-data; boundary=xyzBOUNDARYxyz', splitAt(body, cuts));
      if (r instanceof FormError) expect([400, 413]).toContain(r.status);
    }), runs(500));
  });

  it('refuses a million one-byte parts once past its field limit, without reading the rest', async () => {
    const b = 'millionPartsBoundary0123456789';
    const perChunk = 1000;
    const chunk = utf8.encode(`--${b}\r\nContent-Disposition: form-data; name="p"\r\n\r\nx\r\n`.repeat(perChunk));
    let pulled = 0;
    async function* million() {
      for (let i = 0; i < 1_000_000 / perChunk; i++, pulled++) yield chunk;
      yield utf8.encode(`--${b}--\r\n`);
    }
    const r = await read(`multipart/form-data; boundary=${b}`, million());
    expect(r).toBeInstanceOf(FormError);
    expect((r as FormError).code).toBe('FORM_TOO_MANY_FIELDS');
    expect(pulled).toBeLessThan(10); // ~1,001 fields in: a few chunks, not the 50 MB behind them
  });
});
