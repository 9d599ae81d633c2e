// pino logging: JSON lines by default, readable when the output is a terminal.
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
  return pino(base, new LineBatch(pino.destination({ fd: 1, sync: false, contentMode: 'buffer' }) as unknown as ByteSink));
}

/** The stream a logger writes its lines to: the access log writes its ready-made lines there too. */
export const streamOf = (log: Logger): DestinationStream => (log as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
