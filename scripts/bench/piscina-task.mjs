// The task of piscina-front.mjs: calls the app (PEP 3333 style) and returns its whole answer.
import { pathToFileURL } from 'node:url';
import { workerData } from 'piscina';

const app = (await import(pathToFileURL(workerData.module).href)).default;

export default async function run(environ) {
  let status = 500;
  let headers = [];
  const start = (s, h) => {
    status = Number(s.slice(0, 3));
    headers = h.flat();
  };
  const chunks = await app(environ, start);
  let body = '';
  for (const c of chunks) body += typeof c === 'string' ? c : Buffer.from(c).toString('latin1');
  return { status, headers, body };
}
