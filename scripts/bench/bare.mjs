// The pool's ceiling: bare node:http, one process, sending the bytes the hello app sends (writeHead with
// Content-Length, then end) and nothing else — no environ, no adapter, no log. Usage: node bare.mjs BODY
// Prints the gateway's `listening` line shape ({"msg":"listening","url":…}), so the bench starts both alike.
import { createServer } from 'node:http';

const body = Buffer.from(process.argv[2] ?? 'hello\n');
const head = { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) };
const server = createServer((req, res) => {
  res.writeHead(200, head);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}/` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
