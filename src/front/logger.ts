// pino logging: JSON lines by default, readable when the output is a terminal.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './options.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (destination) return pino(base, destination);
  if (process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(base, pino.destination({ fd: 1, sync: false }));
}
