// Which user scripts run as: when the front runs as root, never as root.
import { readFileSync } from 'node:fs';

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** Null when the front is not root (scripts then run as the front's own user). Throws if the user is unknown. */
export function resolveRunAs(user: string): RunAs | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user || (/^\d+$/.test(user) && fields[2] === user));
  if (!entry || entry.length < 4) throw new Error(`cgi-user: no such user ${JSON.stringify(user)} in /etc/passwd`);
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  if (uid === 0) throw new Error(`cgi-user: ${user} is root; scripts must not run as root`);
  return { user: entry[0]!, uid, gid };
}
