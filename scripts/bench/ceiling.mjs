// The pool's ceiling: the same app called in-process by a bare node:http server — same environ builder,
// same runApp, no thread hop. Usage: node ceiling.mjs MODULE; prints `listening PORT`.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { appFromModule, BodyInput, runApp } from '../../dist/src/app/index.js';
import { buildEnviron } from '../../dist/src/front/environ.js';
import { parseRequestTarget } from '../../dist/src/front/request-target.js';

const modulePath = process.argv[2];
const app = appFromModule(await import(pathToFileURL(modulePath).href), modulePath);

const server = createServer(async (req, res) => {
  const target = parseRequestTarget(req.url);
  const facts = {
    method: req.method, target, url: req.url, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders,
    remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort,
    localAddress: req.socket.localAddress, localPort: req.socket.localPort, scheme: 'http',
  };
  const environ = {
    ...buildEnviron(facts, { scriptName: '/add', pathInfo: target.path.slice(4), documentRoot: '/' }, { length: null, streamedChunked: false }, { passAuth: false }),
    'gateway.version': [1, 0], 'gateway.url_scheme': 'http', 'gateway.input': new BodyInput(req),
    'gateway.errors': { write() {}, writelines() {}, flush() {} },
    'gateway.multithread': false, 'gateway.multiprocess': false, 'gateway.run_once': false,
  };
  const sink = {
    signal: new AbortController().signal,
    start(status, reason, headers, length) {
      res.statusCode = status;
      res.statusMessage = reason;
      for (const [n, v] of headers) res.appendHeader(n, v);
      if (length !== null) res.setHeader('Content-Length', length);
    },
    chunk: (data) => new Promise((resolve) => res.write(data, resolve)),
    end: async () => { res.end(); },
  };
  await runApp(app, environ, sink);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
