// The part of a script's environment that does not come from the request: built from nothing,
// never a copy of the server's environment (a secret there must never reach a script).
import type { Options } from '../options.js';

const defaultPath = '/usr/local/bin:/usr/bin:/bin';
/** Harmless locale and time-zone basics, passed on when the server has them. */
const basics = ['TZ', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'LC_COLLATE', 'LC_NUMERIC', 'LC_TIME'];

/** Later entries win: basics, then --pass-env, then --set-env. Request meta-variables are laid over this. */
export function baseEnvironment(options: Pick<Options, 'passEnv' | 'setEnv'>, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: defaultPath };
  for (const name of [...basics, ...options.passEnv]) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...options.setEnv };
}
