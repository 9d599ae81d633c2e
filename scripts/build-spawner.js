// Builds gatehouse-spawner (src/workers/spawner.c) into dist/spawner/ when the source is newer.
// Never fails the build: without a C compiler the gateway falls back to forking from the front, and says so.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'workers', 'spawner.c');
const binary = path.join(root, 'dist', 'spawner', 'gatehouse-spawner');

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
};

if (mtime(binary) < mtime(source)) {
  mkdirSync(path.dirname(binary), { recursive: true });
  const compilers = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  let built = false;
  for (const cc of compilers) {
    try {
      execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-o', binary, source], { stdio: ['ignore', 'inherit', 'inherit'] });
      built = true;
      break;
    } catch (e) {
      if (e.code !== 'ENOENT') process.stderr.write(`gatehouse: ${cc} could not build the spawn helper\n`);
    }
  }
  if (!built) process.stderr.write('gatehouse: no C compiler built src/workers/spawner.c; CGI processes will be forked by the front (--spawner direct)\n');
}
