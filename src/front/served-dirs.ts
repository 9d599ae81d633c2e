// The directories the gateway serves from (--cgi-dir, --docroot): resolved once at start, and checked for the
// user scripts run as.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunAs } from './cgi/run-as.js';
import type { Logger } from './logger.js';
import { OptionError } from './options.js';

/** As root, scripts run as --cgi-user: say so at start if that user cannot even reach the script directory. */
export function warnIfUnreachable(dir: string, runAs: RunAs, log: Logger): void {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = statSync(d);
    const bit = st.uid === runAs.uid ? 0o100 : st.gid === runAs.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) {
      log.warn({ dir: d, user: runAs.user }, `${runAs.user} cannot enter ${d}: scripts under it will fail to start (500); move the directory or use --cgi-user`);
      return;
    }
    if (d === path.dirname(d)) return;
  }
}

/** The real path of a directory flag's value; an OptionError naming the flag if it is not a directory. */
export function realDir(dir: string, flag: string): string {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    throw new OptionError(`${flag}: no such directory ${dir}`);
  }
  if (!statSync(real).isDirectory()) throw new OptionError(`${flag}: not a directory: ${dir}`);
  return real;
}
