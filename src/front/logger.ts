// pino logging: JSON lines by default, readable when the output is a terminal.
import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';
import { LineBatch, type ByteSink } from './line-batch.js';
import type { LogLevel } from './options.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  // Epoch milliseconds (pino's own `time`), not an ISO string: formatting a date for every access line was
  // a visible share of a warm request's cost. pino-pretty shows it as a date on a terminal.
  const base = { level, base: { pid: process.pid } };
  if (destination) return pino(base, destination);
  if (process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  // Into a file, each turn's batch is written at once (a file write does not wait on a reader, and handing it
  // to libuv's thread pool cost the front ~4 µs of its own time per request, measured A/B at c=64); into a
  // pipe or socket it goes asynchronously, so a stalled reader never stalls the server.
  const sync = isFile(1);
  return pino(base, new LineBatch(pino.destination({ fd: 1, sync, contentMode: 'buffer' }) as unknown as ByteSink));
}

/** The stream a logger writes its lines to: the access log writes its ready-made lines there too. */
export const streamOf = (log: Logger): DestinationStream => (log as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;

function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
