import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/app/run-app.js';
import { Form, FormError, readForm, type FormOptions } from '../../src/app/forms.js';
import type { App, Chunk } from '../../src/app/types.js';
import { bytes, call, makeEnviron } from './_app-harness.js';

/** Runs an app that reads the form, through runApp; resolves the Form it saw, or the FormError it caught. */
async function formVia(over: Record<string, unknown>, body: readonly Chunk[] = [], options?: FormOptions): Promise<Form> {
  let seen: Form | FormError | undefined;
  const app: App = async (environ, startResponse) => {
    try {
      seen = await readForm(environ, options);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [seen.keys().join(',')];
    } catch (e) {
      if (!(e instanceof FormError)) throw e;
      seen = e;
      startResponse(`${e.status} Bad Form`, [['Content-Type', 'text/plain']]);
      return [e.message];
    }
  };
  const res = await call(app, makeEnviron(over, body));
  if (seen instanceof FormError) {
    expect(res.status).toBe(seen.status);
    throw seen;
  }
  expect(res.status).toBe(200);
  return seen!;
}

const post = (contentType: string, extra: Record<string, unknown> = {}) => ({ REQUEST_METHOD: 'POST', CONTENT_TYPE: contentType, ...extra });

/** Splits bytes into pieces of `size`, so parsers meet boundaries and escapes cut across chunks. */
function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

function concat(...parts: Chunk[]): Uint8Array {
  const list = parts.map(bytes);
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of list) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

const boundary = '----gatehouseBoundary7MA4YWxk';
/** A file whose bytes look like multipart syntax: CRLFs, '--', a near-boundary, and every byte value. */
const trickyFile = concat(
  '\r\n--\r\n',
  `--${boundary.slice(0, -1)}\r\n`,
  '\r\n\r\n--',
  new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
  '\r\n-',
);

function multipartBody(): Uint8Array {
  const part = (headers: string, content: Chunk) => concat(`--${boundary}\r\n${headers}\r\n\r\n`, content, '\r\n');
  return concat(
    part('Content-Disposition: form-data; name="title"', 'Hello, world'),
    part('Content-Disposition: form-data; name="upload"; filename="tricky.bin"\r\nContent-Type: application/octet-stream', trickyFile),
    part('Content-Disposition: form-data; name="tag"', 'one'),
    part('Content-Disposition: form-data; name="upload"; filename="résumé.txt"\r\nContent-Type: text/plain', 'second file'),
    part('Content-Disposition: form-data; name="tag"', 'two'),
    `--${boundary}--\r\n`,
  );
}

describe('readForm: the query string', () => {
  it('reads repeated fields in order, + as a space, and falls back to the default when absent', async () => {
    const form = await formVia({ QUERY_STRING: 'operand=2&operand=3&name=a+b%21&empty=' });
    expect(form.getList('operand')).toEqual(['2', '3']);
    expect(form.getValue('operand')).toBe('2');
    expect(form.getValue('name')).toBe('a b!');
    expect(form.getValue('empty', 'default')).toBe('');
    expect(form.getValue('missing')).toBeUndefined();
    expect(form.getValue('missing', 'default')).toBe('default');
    expect(form.getList('missing')).toEqual([]);
    expect(form.has('operand')).toBe(true);
    expect(form.has('missing')).toBe(false);
    expect(form.keys()).toEqual(['operand', 'name', 'empty']);
  });

  it('ignores a body on GET, leaving it unread for the app', async () => {
    const environ = makeEnviron({ QUERY_STRING: 'a=1', CONTENT_TYPE: 'application/x-www-form-urlencoded' }, ['a=2']);
    const form = await readForm(environ);
    expect(form.getList('a')).toEqual(['1']);
    expect(new TextDecoder().decode(await environ['gateway.input'].read())).toBe('a=2');
  });
});

describe('readForm: urlencoded bodies', () => {
  it('merges query fields first, then body fields, decoding + and UTF-8 escapes', async () => {
    const body = 'a=2&greeting=hello+world&check=%E2%9C%93&a=3';
    const form = await formVia(
      post('application/x-www-form-urlencoded; charset=UTF-8', { QUERY_STRING: 'a=1&q=x' }),
      pieces(bytes(body), 3), // escapes and '+' cut across chunks
    );
    expect(form.getList('a')).toEqual(['1', '2', '3']);
    expect(form.getValue('greeting')).toBe('hello world');
    expect(form.getValue('check')).toBe('✓');
    expect(form.keys()).toEqual(['a', 'q', 'greeting', 'check']);
  });

  it('reads PUT and PATCH bodies too', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const form = await formVia({ REQUEST_METHOD: method, CONTENT_TYPE: 'application/x-www-form-urlencoded' }, ['x=1']);
      expect(form.getValue('x')).toBe('1');
    }
  });
});

describe('readForm: multipart bodies', () => {
  it('reads text fields and binary files byte for byte, whatever the chunking', async () => {
    const body = multipartBody();
    for (const size of [body.length, 7, 1]) {
      const form = await formVia(post(`multipart/form-data; boundary=${boundary}`, { QUERY_STRING: 'from=query' }), pieces(body, size));
      expect(form.keys()).toEqual(['from', 'title', 'upload', 'tag']);
      expect(form.getValue('title')).toBe('Hello, world');
      expect(form.getList('tag')).toEqual(['one', 'two']);
      const file = form.getFile('upload')!;
      expect(file.filename).toBe('tricky.bin');
      expect(file.type).toBe('application/octet-stream');
      expect(Array.from(file.data)).toEqual(Array.from(trickyFile));
      const [, second] = form.files('upload');
      expect(second?.filename).toBe('résumé.txt');
      expect(new TextDecoder().decode(second?.data)).toBe('second file');
      expect(form.getValue('upload')).toBeUndefined(); // files are not text values
      expect(form.has('upload')).toBe(true);
    }
  });

  it('accepts a file of exactly maxFileBytes', async () => {
    const form = await formVia(post(`multipart/form-data; boundary=${boundary}`), [multipartBody()], { maxFileBytes: trickyFile.length });
    expect(form.getFile('upload')?.data.length).toBe(trickyFile.length);
  });
});

describe('readForm: content types it does not read', () => {
  it.each([
    ['multipart without a boundary', 'multipart/form-data'],
    ['a type it does not parse', 'text/plain'],
    ['JSON', 'application/json'],
    ['no content type', undefined],
  ])('%s leaves only the query fields', async (_label, contentType) => {
    const form = await formVia({ ...post(contentType ?? ''), CONTENT_TYPE: contentType, QUERY_STRING: 'q=1' }, ['a=2&b=3']);
    expect(form.keys()).toEqual(['q']);
  });
});

describe('readForm: limits and malformed bodies', () => {
  const multipart = post(`multipart/form-data; boundary=${boundary}`);

  it('a file over maxFileBytes is refused with 413 and a message naming the file', async () => {
    const err = await formVia(multipart, pieces(multipartBody(), 64), { maxFileBytes: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormError);
    expect(err).toMatchObject({ code: 'FORM_FILE_TOO_LARGE', status: 413 });
    expect((err as FormError).message).toBe('the file upload (tricky.bin) is larger than 100 bytes');
  });

  it.each([
    ['the query string', {}, [] as string[], 'a=1&b=2&c=3'],
    ['a urlencoded body', post('application/x-www-form-urlencoded'), ['b=2&c=3'], 'a=1'],
    ['a multipart body', multipart, [multipartBody()], 'a=1'],
  ])('more than maxFields fields in %s is refused with 413', async (_label, over, body, query) => {
    const err = await formVia({ ...over, QUERY_STRING: query }, body, { maxFields: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'FormError', code: 'FORM_TOO_MANY_FIELDS', status: 413, message: 'the form has more than 2 fields' });
  });

  it('a truncated multipart body is refused with 400, saying it is malformed', async () => {
    const body = multipartBody();
    const err = await formVia(multipart, [body.subarray(0, 200)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FORM_MALFORMED', status: 400 });
    expect((err as FormError).message).toMatch(/^malformed multipart body: Unexpected end of/);
  });

  it('an app that lets a FormError escape gets a 500 from runApp, not a half-read form', async () => {
    const app: App = async (environ) => {
      await readForm(environ, { maxFields: 0 });
      return [];
    };
    const err = await call(app, makeEnviron({ QUERY_STRING: 'a=1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).cause).toBeInstanceOf(FormError);
  });
});

describe('readForm: options', () => {
  it('an option left undefined takes its default', async () => {
    const form = await readForm(makeEnviron({ QUERY_STRING: 'a=1' }), { maxFields: undefined, maxFileBytes: undefined });
    expect(form.getValue('a')).toBe('1');
  });

  it.each([
    ['maxFields', -1],
    ['maxFields', 1.5],
    ['maxFileBytes', Number.NaN],
    ['maxFileBytes', '10'],
  ])('%s %j is refused with a message naming the option', async (key, value) => {
    await expect(readForm(makeEnviron(), { [key]: value } as FormOptions)).rejects.toThrow(`readForm: ${key} must be a whole number`);
  });
});

describe('Form', () => {
  it('can be built from entries, copying lists so callers cannot change it', () => {
    const file = { filename: 'a.txt', type: 'text/plain', data: new Uint8Array([1]) };
    const form = new Form([
      { name: 'x', value: '1' },
      { name: 'f', file },
      { name: 'x', value: '2' },
    ]);
    form.getList('x').push('3');
    form.files('f').pop();
    expect(form.getList('x')).toEqual(['1', '2']);
    expect(form.files('f')).toEqual([file]);
    expect(form.keys()).toEqual(['x', 'f']);
  });
});
