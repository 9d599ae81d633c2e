// Runs a fetch-style handler (`export default { fetch }`, Hono/Workers style) as an App.
import { STATUS_CODES } from 'node:http';
import type { App, Chunk, Environ, FetchHandler } from './types.js';

/** PEP 3333 "URL reconstruction": the URL the client asked for, mount prefix included. */
export function requestUrl(environ: Environ): string {
  const scheme = environ['gateway.url_scheme'] ?? 'http';
  let host = environ.HTTP_HOST;
  if (!host) {
    const port = environ.SERVER_PORT;
    host = environ.SERVER_NAME + ((scheme === 'https' && port === '443') || (scheme === 'http' && port === '80') ? '' : `:${port}`);
  }
  const quote = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  const query = environ.QUERY_STRING ? `?${environ.QUERY_STRING}` : '';
  return `${scheme}://${host}${quote(environ.SCRIPT_NAME)}${quote(environ.PATH_INFO)}${query}`;
}

function requestHeaders(environ: Environ): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(environ)) {
    if (key.startsWith('HTTP_') && typeof value === 'string') headers.append(key.slice(5).toLowerCase().replaceAll('_', '-'), value);
  }
  if (environ.CONTENT_TYPE) headers.set('content-type', environ.CONTENT_TYPE);
  if (environ.CONTENT_LENGTH) headers.set('content-length', environ.CONTENT_LENGTH);
  return headers;
}

function requestBody(environ: Environ): ReadableStream<Uint8Array> | null {
  const method = environ.REQUEST_METHOD;
  const hasBody = Number(environ.CONTENT_LENGTH ?? 0) > 0 || environ.HTTP_TRANSFER_ENCODING !== undefined;
  if (method === 'GET' || method === 'HEAD' || !hasBody) return null;
  const input = environ['gateway.input'][Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const step = await input.next();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
  });
}

export function fromFetchHandler(handler: FetchHandler): App {
  return async function fetchApp(environ, startResponse) {
    const body = requestBody(environ);
    const request = new Request(requestUrl(environ), {
      method: environ.REQUEST_METHOD,
      headers: requestHeaders(environ),
      body,
      ...(body ? { duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler.fetch(request, environ);
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers.push([name, value]);
    });
    for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
    startResponse(`${response.status} ${response.statusText || STATUS_CODES[response.status] || ''}`, headers);
    return response.body ? streamChunks(response.body) : [];
  };
}

/** A response stream as chunks; returning early (client gone, error) cancels the stream. */
async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Chunk> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const step = await reader.read();
      if (step.done) {
        done = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}
