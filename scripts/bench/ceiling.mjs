// The in-process adapter line: the same app modules called in-process by a bare node:http server — the
// gateway's own environ builder and runApp, no thread hop, no access log. Not the pool's ceiling (bare.mjs is):
// it shows how much of the pool's cost is the adapter and how much the hop. Usage: node ceiling.mjs PREFIX=MODULE...
// Prints the gateway's `listening` line shape ({"msg":"listening","url":…}), so the bench starts both alike.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { appFromModule, BodyInput, runApp } from '../../dist/src/app/index.js';
import { buildEnviron } from '../../dist/src/front/environ.js';
import { parseRequestTarget } from '../../dist/src/front/request-target.js';

const mounts = await Promise.all(
  process.argv.slice(2).map(async (arg) => {
    const eq = arg.indexOf('=');
    const [prefix, modulePath] = [arg.slice(0, eq), arg.slice(eq + 1)];
    return { prefix, app: appFromModule(await import(pathToFileURL(modulePath).href), modulePath) };
  }),
);
const errors = { write() {}, writelines() {}, flush() {} };

const server = createServer(async (req, res) => {
  const target = parseRequestTarget(req.url);
  const mount = mounts.find((m) => target.path === m.prefix || target.path.startsWith(`${m.prefix}/`));
  if (!mount) {
    res.statusCode = 404;
    return res.end();
  }
  const facts = {
    method: req.method, target, url: req.url, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders,
    remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort,
    localAddress: req.socket.localAddress, localPort: req.socket.localPort, scheme: 'http',
  };
  const where = { scriptName: mount.prefix, pathInfo: target.path.slice(mount.prefix.length), documentRoot: '/' };
  const environ = {
    ...buildEnviron(facts, where, { length: null, streamedChunked: false }, { passAuth: false }),
    'gateway.version': [1, 0], 'gateway.url_scheme': 'http', 'gateway.input': new BodyInput(req), 'gateway.errors': errors,
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
  await runApp(mount.app, environ, sink);
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}/` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
