// /environ/: the environ an app receives, as a page with its blanks filled in, then every key.
import type { App } from 'gatehouse';
import { escape, page } from './html.js';

const show = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'boolean' || Array.isArray(v) ? JSON.stringify(v) : `<${typeof v}>`;

const application: App = (environ, startResponse) => {
  const blank = (id: string, value: unknown) => `<span id="${id}">${escape(show(value ?? ''))}</span>`;
  const rows = Object.keys(environ)
    .sort()
    .map((k) => `<tr><th>${escape(k)}</th><td>${escape(show(environ[k]))}</td></tr>`)
    .join('\n');
  const body =
    `<p>Hello, your browser at ${blank('remote-addr', environ.REMOTE_ADDR)} asked ${blank('server-name', environ.SERVER_NAME)} ` +
    `on port ${blank('server-port', environ.SERVER_PORT)} for ${blank('path', environ.SCRIPT_NAME + environ.PATH_INFO)} ` +
    `using ${blank('protocol', environ.SERVER_PROTOCOL)}; this server runs ${blank('software', environ.SERVER_SOFTWARE)}.</p>\n` +
    `<p>This app ran ${environ['gateway.run_once'] ? 'once, in a fresh process (CGI mode)' : 'in a warm worker thread (pool mode)'}.</p>\n` +
    `<table>\n${rows}\n</table>`;
  return page(startResponse, 'The environ', body);
};

export default application;
