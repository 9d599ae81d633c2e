// What the numbers were measured on: CPU, cores, memory, OS, and the versions of every program in the run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

const require = createRequire(import.meta.url);

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

/** The real interpreter behind `python3` (not a pyenv shim, whose start-up would count against Python). */
export function findPython() {
  return run('python3', ['-c', 'import sys; print(sys.executable)']);
}

/** lighttpd, if installed (often in /usr/sbin, which a user's PATH may lack). */
export function findLighttpd() {
  for (const candidate of ['lighttpd', '/usr/sbin/lighttpd', '/usr/local/sbin/lighttpd']) if (run(candidate, ['-v'])) return candidate;
  return null;
}

/** uWSGI with its Python 3 plugin, if installed (Debian: uwsgi, uwsgi-plugin-python3). */
export function findUwsgi() {
  return /\bpython\b/.test(run('sh', ['-c', 'uwsgi --plugin python3 --plugins-list 2>&1; true']) ?? '') ? 'uwsgi' : null;
}

/** gunicorn, if installed (Debian: gunicorn). */
export function findGunicorn() {
  return run('gunicorn', ['--version']) ? 'gunicorn' : null;
}

function osName() {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return process.platform;
  }
}

export function describeMachine() {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    ramGiB: totalmem() / 1024 ** 3,
    os: osName(),
    kernel: release(),
    loadAverage: loadavg(),
  };
}

export function describeVersions(python, lighttpd, peers = {}) {
  return {
    node: process.version,
    npm: run('npm', ['--version']),
    autocannon: require('autocannon/package.json').version,
    gatehouse: JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    gatehouseCommit: run('git', ['-C', new URL('../..', import.meta.url).pathname, 'rev-parse', '--short', 'HEAD']),
    gatehouseDirty: Boolean(run('git', ['-C', new URL('../..', import.meta.url).pathname, 'status', '--porcelain', '--', 'src'])),
    python: python ? run(python, ['--version'])?.replace(/^Python /, '') ?? null : null,
    lighttpd: lighttpd ? run(lighttpd, ['-v'])?.split('\n')[0] ?? null : null,
    sh: run('readlink', ['-f', '/bin/sh']),
    wrk: run('sh', ['-c', 'wrk --version 2>&1 | head -1'])?.split(' ')[1] ?? null,
    uwsgi: peers.uwsgi ? run(peers.uwsgi, ['--version']) : null,
    gunicorn: peers.gunicorn ? run(peers.gunicorn, ['--version'])?.replace(/^gunicorn \(version ([^)]*)\)$/, '$1') ?? null : null,
  };
}
