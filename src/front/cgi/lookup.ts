// Finds the script a URL names inside the script directory, and refuses everything else.
// Lookup is where CGI hosts get owned (path traversal to code execution), so every step is strict.
// The calls are synchronous on purpose: a stat of a local file costs microseconds, while each async fs call
// is a threadpool round trip that costs more main-thread time than the stat itself (measured under CGI load).
import { accessSync, constants as fsc, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../errors.js';
import type { RunAs } from './run-as.js';

export interface ScriptLocation {
  /** URL path of the script: the mount prefix plus the segments that led to it (SCRIPT_NAME). */
  scriptName: string;
  /** The decoded rest of the path (PATH_INFO). */
  pathInfo: string;
  /** The script's real path (symlinks resolved): what runs, and SCRIPT_FILENAME. */
  filename: string;
  /** The script's file name, for the `nph-` rule. */
  basename: string;
}

/**
 * Walks `subPath` (decoded, '' or starting with '/', already free of dot segments and NUL) segment by
 * segment under `realDir` (the real path of the script directory). The first regular file ends the walk;
 * what follows it is PATH_INFO, so nested directories and extra path both work.
 */
export async function findScript(realDir: string, prefix: string, subPath: string, runAs: RunAs | null): Promise<ScriptLocation> {
  const segments = subPath.split('/');
  let consumed = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '') continue;
    if (segment.startsWith('.')) throw new GatewayError('NOT_FOUND', `hidden name ${JSON.stringify(segment)} under ${prefix}`);
    consumed += `/${segment}`;
    const candidate = path.join(realDir, consumed);
    let stat: Stats;
    try {
      stat = statSync(candidate);
    } catch (e) {
      throw new GatewayError('NOT_FOUND', `no script at ${candidate}`, { cause: e });
    }
    if (stat.isDirectory()) continue;
    const real = realpathSync.native(candidate);
    if (!real.startsWith(realDir + path.sep)) throw new GatewayError('FORBIDDEN', `${candidate} resolves to ${real}, outside the script directory`);
    if (!stat.isFile()) throw new GatewayError('FORBIDDEN', `${candidate} is not a regular file`);
    if (!executable(real, stat, runAs)) throw new GatewayError('FORBIDDEN', `${candidate} is not executable${runAs ? ` by ${runAs.user}` : ''}`);
    const pathInfo = segments.slice(i + 1).length === 0 ? '' : `/${segments.slice(i + 1).join('/')}`;
    return { scriptName: prefix + consumed, pathInfo, filename: real, basename: segment };
  }
  throw new GatewayError('FORBIDDEN', `${path.join(realDir, consumed)} is a directory, not a script`);
}

function executable(file: string, stat: Stats, runAs: RunAs | null): boolean {
  if (!runAs) {
    try {
      accessSync(file, fsc.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  // As root, access(2) answers for root; check the mode bits for the user the script will run as.
  const mode = stat.mode;
  if (stat.uid === runAs.uid) return (mode & 0o100) !== 0;
  if (stat.gid === runAs.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}
