// The detail-free error page, shared by the front and the per-request app child so both modes answer alike.
import { STATUS_CODES } from 'node:http';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The public sentence for an app failure (the detail goes to the log). */
export const appFailedMessage = 'The application failed to handle this request.';

/** `debugLines` appear only when the caller runs with --debug. */
export function renderErrorPage(status: number, message: string, debugLines: string[] = []): string {
  const title = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  let page = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<p>${escapeHtml(message)}</p>\n`;
  if (debugLines.length) page += `<h2>Detail (--debug)</h2>\n${debugLines.map((l) => `<pre>${escapeHtml(l)}</pre>\n`).join('')}`;
  return `${page}</body></html>\n`;
}
