// The form reader (cgi.FieldStorage's job): query string, urlencoded and multipart fields behind one lookup.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Environ } from './types.js';

/** An uploaded file from a multipart body, held in memory. */
export interface UploadedFile {
  /** The name the client gave; '' when the part had none (busboy treats octet-stream parts as files). */
  filename: string;
  /** The part's media type, as sent. */
  type: string;
  data: Uint8Array;
}

export type FormEntry = { name: string; value: string } | { name: string; file: UploadedFile };

export interface FormOptions {
  /** Largest accepted upload, per file. */
  maxFileBytes?: number;
  /** Most fields accepted, query string, text fields and files counted together. */
  maxFields?: number;
}

// The total body size is already bounded by the gateway's --max-body; these bound what one form may hold.
// 1000 fields is PHP's max_input_vars: enough for any real form, and it stops hash-flooding sized inputs.
const formDefaults = { maxFileBytes: Infinity, maxFields: 1000 } satisfies Required<FormOptions>;

export type FormErrorCode = 'FORM_TOO_MANY_FIELDS' | 'FORM_FILE_TOO_LARGE' | 'FORM_MALFORMED';

/** A body the reader refused; `status` is the answer an app would give (413 over a limit, 400 malformed). */
export class FormError extends Error {
  override name = 'FormError';
  readonly status: 400 | 413;
  constructor(
    readonly code: FormErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = code === 'FORM_MALFORMED' ? 400 : 413;
  }
}

/** The parsed form. Text fields and files are kept apart: getValue never hands back file bytes. */
export class Form {
  readonly #values = new Map<string, string[]>();
  readonly #files = new Map<string, UploadedFile[]>();
  readonly #names: string[] = [];

  constructor(entries: Iterable<FormEntry> = []) {
    for (const entry of entries) {
      if (!this.has(entry.name)) this.#names.push(entry.name);
      if ('file' in entry) push(this.#files, entry.name, entry.file);
      else push(this.#values, entry.name, entry.value);
    }
  }

  /** The first value of `name`, or `fallback` when there is none. */
  getValue(name: string): string | undefined;
  getValue<D>(name: string, fallback: D): string | D;
  getValue(name: string, fallback?: unknown): unknown {
    return this.#values.get(name)?.[0] ?? fallback;
  }

  /** Every value of `name`, in the order sent; [] when absent (`?operand=2&operand=3` → ['2', '3']). */
  getList(name: string): string[] {
    return [...(this.#values.get(name) ?? [])];
  }

  /** The first file uploaded under `name`. */
  getFile(name: string): UploadedFile | undefined {
    return this.#files.get(name)?.[0];
  }

  /** Every file uploaded under `name` (`<input type=file multiple>`). */
  files(name: string): UploadedFile[] {
    return [...(this.#files.get(name) ?? [])];
  }

  has(name: string): boolean {
    return this.#values.has(name) || this.#files.has(name);
  }

  /** Field and file names, each once, in the order first seen. */
  keys(): string[] {
    return [...this.#names];
  }
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/** Defaults for what is left out (an explicit `undefined` too); a bad value is refused, naming the option. */
function mergeOptions(options: FormOptions): Required<FormOptions> {
  const merged = { ...formDefaults };
  for (const key of Object.keys(formDefaults) as (keyof FormOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0) || !(Number.isInteger(value) || value === Infinity)) {
      throw new RangeError(`readForm: ${key} must be a whole number, 0 or more (or Infinity), got ${String(value)}`);
    }
    merged[key] = value;
  }
  return merged;
}

/** Methods whose body can carry a form; a GET body is ignored, as cgi.FieldStorage did. */
const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Reads the query string and, for POST/PUT/PATCH, a urlencoded or multipart body.
 * Consumes `gateway.input`: call it once per request. Query fields come first, then body fields.
 * Any other (or unparseable) content type leaves only the query fields. Over a limit: rejects with FormError.
 */
export async function readForm(environ: Environ, options: FormOptions = {}): Promise<Form> {
  const limits = mergeOptions(options);
  const entries: FormEntry[] = [];
  const count = () => {
    if (entries.length > limits.maxFields) throw new FormError('FORM_TOO_MANY_FIELDS', `the form has more than ${limits.maxFields} fields`);
  };

  for (const [name, value] of new URLSearchParams(environ.QUERY_STRING ?? '')) entries.push({ name, value });
  count();

  const contentType = environ.CONTENT_TYPE ?? '';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (bodyMethods.has(environ.REQUEST_METHOD)) {
    if (mediaType === 'application/x-www-form-urlencoded') {
      // URLSearchParams is the WHATWG urlencoded parser: '+' is a space, bad escapes stay as written.
      const text = new TextDecoder().decode(await environ['gateway.input'].read());
      for (const [name, value] of new URLSearchParams(text)) entries.push({ name, value });
      count();
    } else if (mediaType === 'multipart/form-data') {
      await readMultipart(environ, contentType, limits, entries, count);
    }
  }
  return new Form(entries);
}

async function readMultipart(
  environ: Environ,
  contentType: string,
  limits: Required<FormOptions>,
  entries: FormEntry[],
  count: () => void,
): Promise<void> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // busboy truncates long names and values silently (100 B, 1 MiB); a cut value is worse than a refused
      // one, and the body as a whole is bounded by --max-body already, as a urlencoded body is.
      // busboy signals 'limit' on reaching fileSize, not on passing it: one byte more lets exactly max through.
      limits: { fieldNameSize: Infinity, fieldSize: Infinity, fileSize: limits.maxFileBytes + 1 },
      // Browsers send the filename as raw UTF-8; busboy's default (latin1) would mangle non-ASCII names.
      defParamCharset: 'utf8',
    });
  } catch {
    return; // no boundary, or a type busboy cannot read: only the query fields count
  }

  // Each check runs inside a busboy event; destroying the parser with the error makes pipeline reject with it.
  const guard = (check: () => void) => {
    try {
      check();
    } catch (e) {
      parser.destroy(e as Error);
    }
  };
  parser.on('field', (name, value) => {
    entries.push({ name, value });
    guard(count);
  });
  parser.on('file', (name, stream, info) => {
    // The slot is taken now so keys() keeps part order; the bytes arrive before busboy finishes.
    const file: UploadedFile = { filename: info.filename ?? '', type: info.mimeType, data: new Uint8Array(0) };
    entries.push({ name, file });
    guard(count);
    const chunks: Uint8Array[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('limit', () => {
      const which = file.filename ? `${name} (${file.filename})` : name;
      guard(() => {
        throw new FormError('FORM_FILE_TOO_LARGE', `the file ${which} is larger than ${limits.maxFileBytes} bytes`);
      });
    });
    stream.on('end', () => {
      file.data = concat(chunks);
    });
    // Destroying the parser destroys the open file stream with the same error; it is reported once, below.
    stream.on('error', () => {});
  });

  try {
    await pipeline(Readable.from(environ['gateway.input']), parser);
  } catch (e) {
    if (e instanceof FormError) throw e;
    throw new FormError('FORM_MALFORMED', `malformed multipart body: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** One plain Uint8Array of its own (not a view into Node's shared Buffer pool). */
function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
