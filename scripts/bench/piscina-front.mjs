// Peer: plain piscina, the way its README serves HTTP — one pool.run() per request, 2 threads, the task calling
// the same hello app with a small environ. Usage: node piscina-front.mjs MODULE
// Prints the gateway's `listening` line shape, so the bench starts it like the others.
import { createServer } from 'node:http';
import { Piscina } from 'piscina';

const pool = new Piscina({ filename: new URL('./piscina-task.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2, workerData: { module: process.argv[2] } });
const server = createServer(async (req, res) => {
  const q = req.url.indexOf('?');
  const environ = { REQUEST_METHOD: req.method, PATH_INFO: q < 0 ? req.url : req.url.slice(0, q), QUERY_STRING: q < 0 ? '' : req.url.slice(q + 1), HTTP_HOST: req.headers.host ?? '' };
  try {
    const { status, headers, body } = await pool.run(environ);
    res.writeHead(status, [...headers, 'Content-Length', String(Buffer.byteLength(body))]);
    res.end(body);
  } catch {
    res.writeHead(500).end();
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}/` }));
});
process.on('SIGTERM', () => server.close(() => pool.destroy().then(() => process.exit(0))));
