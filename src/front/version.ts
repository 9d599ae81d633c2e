// The package version, read once from package.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };

export const version: string = pkg.version;
export const serverSoftware = `Gatehouse/${version}`;
