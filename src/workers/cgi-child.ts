// Child side: runs one app once as a CGI program (the wsgiref CGIHandler idea). The environment is the
// environ, stdin the body, stdout a CGI response; the front treats this process like any CGI script.
import { pathToFileURL } from 'node:url';
import { appFromModule } from '../app/load-app.js';
import { AppError, runApp, type ResponseSink } from '../app/run-app.js';
import { BodyInput } from '../app/input.js';
import { appFailedMessage, renderErrorPage } from '../app/error-page.js';
import type { Environ } from '../app/types.js';

const modulePath = process.argv[2];
if (!modulePath) {
  process.stderr.write('usage: cgi-child.js MODULE\n');
  process.exit(2);
}
const debug = process.env.GATEHOUSE_DEBUG === '1';
const abort = new AbortController();
// Client gone or shutdown: stop the app at its next chunk and finalise its body; the front kills us 2 s later.
process.once('SIGTERM', () => abort.abort());

async function write(data: string | Uint8Array): Promise<void> {
  if (!process.stdout.write(data)) await new Promise((r) => process.stdout.once('drain', r));
}

let headersSent = false;
const sink: ResponseSink = {
  signal: abort.signal,
  start(status, reason, headers, contentLength) {
    headersSent = true;
    let head = `Status: ${status} ${reason}\r\n`;
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
    if (contentLength !== null) head += `Content-Length: ${contentLength}\r\n`;
    process.stdout.write(`${head}\r\n`);
  },
  chunk: write,
  end: async () => {},
};

const environ: Environ = {
  ...(process.env as unknown as Environ),
  'gateway.version': [1, 0],
  'gateway.url_scheme': process.env.REQUEST_SCHEME === 'https' ? 'https' : 'http',
  'gateway.input': new BodyInput(process.stdin),
  'gateway.errors': {
    write: (text: string) => { process.stderr.write(text.endsWith('\n') ? text : `${text}\n`); },
    writelines: (lines: Iterable<string>) => { for (const l of lines) process.stderr.write(l.endsWith('\n') ? l : `${l}\n`); },
    flush: () => {},
  },
  'gateway.multithread': false,
  'gateway.multiprocess': true,
  'gateway.run_once': true,
};

try {
  const app = appFromModule((await import(pathToFileURL(modulePath).href)) as Record<string, unknown>, modulePath);
  await runApp(app, environ, sink);
} catch (e) {
  const err = e instanceof AppError ? e : new AppError('APP_THREW', String(e), headersSent);
  const cause = err.cause instanceof Error ? err.cause : err;
  // The stack goes to stderr, which the front logs line by line.
  process.stderr.write(`app failed (${err.code}): ${err.message}\n${cause.stack ?? ''}\n`);
  if (err.headersSent || headersSent) process.exit(1); // too late for a status page: the front cuts the response
  const page = renderErrorPage(500, appFailedMessage, debug ? [err.message, cause.stack ?? ''] : []);
  process.stdout.write(`Status: 500 Internal Server Error\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(page)}\r\n\r\n${page}`);
}
