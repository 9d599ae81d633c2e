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
  // Lines are gathered into writes of up to 8 KiB instead of one write per line (an access line per request
  // made a syscall per request: ~15% of CGI throughput, measured); what is waiting goes out within 50 ms.
  const out = pino.destination({ fd: 1, sync: false, minLength: 8 * 1024 });
  setInterval(() => out.flush(), flushEveryMs).unref();
  return pino(base, out);
}

const flushEveryMs = 50;
