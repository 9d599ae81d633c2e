// The request body on its way to a program: checked against --max-body, de-chunked, and either
// streamed or (for chunked requests in `buffer` mode) collected first so CONTENT_LENGTH can be set.
import { createReadStream, createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { once } from 'node:events';
import { GatewayError } from './errors.js';
import type { ChunkedBody } from './options.js';
import type { BodyFacts } from './environ.js';

export interface PreparedBody extends BodyFacts {
  /** Sends the body to `sink` with backpressure, then ends it. `onTooLarge` fires if a streamed body crosses the limit. */
  pipeTo(sink: Writable, onTooLarge: (e: GatewayError) => void): void;
  /** Removes any temp file. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface BodyPolicy {
  maxBodyBytes: number;
  chunkedBody: ChunkedBody;
  spoolThresholdBytes: number;
}

const none: PreparedBody = {
  length: null,
  streamedChunked: false,
  pipeTo: (sink) => { sink.end(); },
  cleanup: async () => {},
};
/** What a request without a body gets from prepareBody. */
export const noBody: PreparedBody = none;

/** False when the request certainly has no body (neither Content-Length nor Transfer-Encoding): no need to prepare one. */
export const mayHaveBody = (req: IncomingMessage): boolean =>
  req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;

/** Decides before anything runs: a known length over the limit is refused here, without reading the body. */
export async function prepareBody(req: IncomingMessage | null, policy: BodyPolicy): Promise<PreparedBody> {
  if (req === null) return none; // internal redirects carry no body
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked) {
    const length = declared === undefined ? 0 : Number(declared);
    if (length > policy.maxBodyBytes) {
      throw new GatewayError('BODY_TOO_LARGE', `Content-Length ${length} is over the ${policy.maxBodyBytes}-byte limit`);
    }
    if (length === 0) return none;
    return { length, streamedChunked: false, pipeTo: (sink) => pipeRequest(req, sink), cleanup: async () => {} };
  }
  if (policy.chunkedBody === 'stream') {
    return {
      length: null,
      streamedChunked: true,
      pipeTo: (sink, onTooLarge) => pipeRequest(req, sink, policy.maxBodyBytes, onTooLarge),
      cleanup: async () => {},
    };
  }
  return spool(req, policy);
}

/** Request → sink with backpressure. If the sink goes away early (a script that never reads), drain the rest. */
function pipeRequest(req: IncomingMessage, sink: Writable, limit = Infinity, onTooLarge?: (e: GatewayError) => void): void {
  let seen = 0;
  const stop = () => { req.unpipe(sink); req.resume(); };
  sink.once('close', stop);
  sink.once('error', stop);
  if (limit !== Infinity) {
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit && onTooLarge) {
        // stdin stays open: closing it would hand the program a clean EOF on a truncated body.
        // The program is killed instead, and its stdin closes with it.
        req.unpipe(sink);
        onTooLarge(new GatewayError('BODY_TOO_LARGE', `chunked body crossed the ${limit}-byte limit`));
        onTooLarge = undefined;
        req.resume();
      }
    });
  }
  req.pipe(sink);
}

/** Reads a chunked body to its end: in memory up to the threshold, then in a private temp file. */
async function spool(req: IncomingMessage, policy: BodyPolicy): Promise<PreparedBody> {
  const chunks: Buffer[] = [];
  let total = 0;
  let dir: string | null = null;
  let file: WriteStream | null = null;
  // A write error is kept, not thrown from an 'error' event nobody listens to: a client that leaves mid-upload
  // makes cleanup() destroy the file under a pending write, and an unheard 'error' would crash the front.
  let writeError: Error | null = null;
  const cleanup = async () => {
    if (dir === null) return;
    const d = dir;
    dir = null;
    file?.destroy();
    await fs.rm(d, { recursive: true, force: true });
  };
  try {
    // destroyOnReturn: false keeps the socket open when we stop early, so the 413 can still be sent.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > policy.maxBodyBytes) {
        throw new GatewayError('BODY_TOO_LARGE', `chunked body crossed the ${policy.maxBodyBytes}-byte limit`);
      }
      if (file === null && total > policy.spoolThresholdBytes) {
        dir = await fs.mkdtemp(path.join(tmpdir(), 'gatehouse-body-'));
        file = createWriteStream(path.join(dir, 'body'), { mode: 0o600 });
        file.on('error', (e) => { writeError ??= e; });
        for (const c of chunks.splice(0)) if (!file.write(c)) await once(file, 'drain');
      }
      if (file !== null) {
        if (!file.write(chunk)) await once(file, 'drain');
        if (writeError) throw writeError;
      } else chunks.push(chunk);
    }
    if (file !== null) {
      file.end();
      if (!file.closed) await once(file, 'close');
      if (writeError) throw writeError;
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  const bodyFile = dir === null ? null : path.join(dir, 'body');
  return {
    length: total,
    streamedChunked: false,
    pipeTo: (sink) => {
      const source = bodyFile === null ? Readable.from(chunks) : createReadStream(bodyFile);
      const stop = () => { source.unpipe(sink); source.destroy(); };
      sink.once('close', stop);
      sink.once('error', stop);
      source.pipe(sink);
    },
    cleanup,
  };
}
