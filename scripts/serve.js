// `npm run serve -- [flags]`: build if the sources are newer than dist/, then run the gateway in this process
// (so signals reach it directly and its exit status is npm's).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function builtAt() {
  try {
    return statSync(path.join(root, 'dist', 'src', 'front', 'cli.js')).mtimeMs;
  } catch {
    return 0;
  }
}

const sources = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'examples', 'apps')), statSync(path.join(root, 'tsconfig.json')).mtimeMs);
if (builtAt() < sources) {
  process.stderr.write('gatehouse: building (tsc)…\n');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
await import('./build-spawner.js');
const { main } = await import('../dist/src/front/cli.js');
process.exitCode = await main(process.argv.slice(2));
