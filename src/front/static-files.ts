// Static files from the docroot, through serve-static (ETag, Range, MIME types, HEAD, conditional GET).
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { GatewayError } from './errors.js';

type ServeStatic = ReturnType<typeof import('serve-static')>;

export type StaticHandler = (req: IncomingMessage, res: ServerResponse, decodedPath: string) => Promise<void>;

/**
 * `realCgiDir` is refused even when it lies inside the docroot: the source of a script is never served.
 * Errors come back as GatewayErrors for the one error boundary.
 */
export function staticFiles(realDocroot: string, realCgiDir: string): StaticHandler {
  // Loaded at the first static request, not at start: serve-static and its dependencies hold ~8 MiB that a
  // server of apps and scripts alone never needs, and cost start-up time.
  let serve: Promise<ServeStatic> | null = null;
  const cgiInside = realCgiDir === realDocroot || realCgiDir.startsWith(realDocroot + path.sep);
  return async function serveStaticFile(req, res, decodedPath) {
    if (cgiInside) await refuseScriptSource(realDocroot, realCgiDir, decodedPath);
    serve ??= import('serve-static').then((m) => m.default(realDocroot, { index: ['index.html'], dotfiles: 'ignore', fallthrough: false, redirect: true }));
    const handler = await serve;
    await new Promise<void>((resolve, reject) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      handler(req, res, (err?: { status?: number; statusCode?: number; message?: string }) => {
        const status = err?.status ?? err?.statusCode ?? 404;
        const code = status === 404 ? 'NOT_FOUND' : status === 403 ? 'FORBIDDEN' : status === 405 ? 'METHOD_NOT_ALLOWED' : status === 400 ? 'BAD_REQUEST_TARGET' : 'INTERNAL';
        reject(new GatewayError(code, `static: ${err?.message ?? 'not found'} (${decodedPath})`));
      });
    });
  };
}

async function refuseScriptSource(realDocroot: string, realCgiDir: string, decodedPath: string): Promise<void> {
  let real: string;
  try {
    real = await fs.realpath(path.join(realDocroot, decodedPath));
  } catch {
    return; // nothing there: serve-static answers 404
  }
  if (real === realCgiDir || real.startsWith(realCgiDir + path.sep)) {
    throw new GatewayError('NOT_FOUND', `static: ${decodedPath} is inside the script directory; its source is not served`);
  }
}
