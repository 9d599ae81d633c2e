// The mount table: the longest prefix that matches whole path segments wins.

export interface MountMatch {
  prefix: string;
  /** The path after the prefix: '' or starting with '/'. */
  rest: string;
}

/** `/env` matches `/env` and `/env/…`, never `/envelope`; `/` matches everything. */
export function matchMount(prefixes: readonly string[], path: string): MountMatch {
  let best: MountMatch | null = null;
  for (const prefix of prefixes) {
    const p = prefix === '/' ? '' : prefix;
    if (path !== p && !path.startsWith(`${p}/`)) continue;
    if (best === null || p.length > best.prefix.length) best = { prefix: p, rest: path.slice(p.length) };
  }
  return best ?? { prefix: '', rest: path };
}
