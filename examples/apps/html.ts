// Shared by the example apps: escaping and one page layout, so every page is valid HTML that links home.
import type { StartResponse } from 'gatehouse';

export const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Sends a complete HTML page: status, Content-Type, and (since the body is one known chunk) Content-Length. */
export function page(startResponse: StartResponse, title: string, body: string, status = '200 OK'): [Uint8Array] {
  const html = new TextEncoder().encode(
    `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escape(title)}</title>` +
      `<link rel="stylesheet" href="/style.css"></head>\n<body>\n<h1>${escape(title)}</h1>\n${body}\n` +
      `<p><a href="/">Back to the index</a></p>\n</body>\n</html>\n`,
  );
  startResponse(status, [
    ['Content-Type', 'text/html; charset=utf-8'],
    ['Content-Length', String(html.length)],
  ]);
  return [html];
}

/** A short text/plain answer (the adding machine, error messages). */
export function text(startResponse: StartResponse, body: string, status = '200 OK'): [Uint8Array] {
  const bytes = new TextEncoder().encode(body);
  startResponse(status, [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(bytes.length)],
  ]);
  return [bytes];
}
