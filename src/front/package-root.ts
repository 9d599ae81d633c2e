// Where the package lives on disk, whether this code runs from src/ (tests) or dist/src/ (built).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('gatehouse: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const packageRoot = findRoot();

/** A built file: worker threads and child processes always run compiled JavaScript. */
export const builtFile = (...parts: string[]) => path.join(packageRoot, 'dist', 'src', ...parts);
