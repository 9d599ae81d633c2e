// The subject table: every server, floor and sweep the bench measures, how to start it, and what a correct
// answer looks like. `--only NAME` selects by name, or by a name's leading part (`--only sweep`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgiEnvironment } from './floor.mjs';
import { shuffle } from './stats.mjs';

const concurrencies = [1, 16, 64];
const sweepConcurrencies = [1, 8, 64];
export const importCostsMs = [0, 20, 100];
export const ballastMb = [0, 200, 400];
/** What the calling process holds in the spawn-designs comparison (no HTTP): nothing, and the sweep's most. */
export const designHoldMb = [0, ballastMb[ballastMb.length - 1]];
/** The designs spawn-designs.mjs measures besides xargs (whose figure is the floor-sh subject's). */
export const spawnDesigns = ['node', 'helper'];
/** Pool workers in the issue-6 sweep: the ballast is split between them. */
export const sweepWorkers = 2;

/**
 * `ctx`: { root, benchDir, cgiDir, cores, spawners (['helper', 'direct'] when the gateway has --spawner, else
 * [null] for its only path), helperBuilt (dist/spawner/gatehouse-spawner exists), python (an interpreter path, or
 * null), lighttpd, uwsgi, gunicorn (each its command, or null), tmpDir }.
 */
export function buildSubjects(ctx) {
  const app = (name) => path.join(ctx.benchDir, 'apps', `${name}.mjs`);
  const addModule = path.join(ctx.root, 'dist', 'examples', 'apps', 'add.js');
  const hello = { path: '/hello/', contains: 'hello' };
  const add = { path: '/add/?operand=2&operand=3', contains: 'your total is 5' };
  const sh = { path: '/cgi-bin/hello.sh', contains: 'hello' };
  // A node start-up per request: ~20 req/s on 2 cores, so its runs are longer (profile: slowLoadS).
  const js = { path: '/cgi-bin/hello.js', contains: 'hello', slow: true };
  const bothApps = [['/hello', app('hello')], ['/add', addModule]];
  // CGI figures are also taken at c = cores, the floor's parallelism, for the CGI ÷ floor ratio.
  const cgiConcurrencies = [...new Set([1, ctx.cores, 16, 64])].sort((a, b) => a - b);

  // Run as users run it: the command itself, so the node flags of its #! line apply.
  const gateway = ({ mode, apps, spawner = null }) => ({
    command: path.join(ctx.root, 'bin', 'gatehouse.js'),
    args: [
      '--port', '0', '--mode', mode, '--cgi-dir', ctx.cgiDir,
      // CGI mode answers ~25 req/s: at c=64 most requests wait, and a 503 would fail the subject.
      '--max-queue', '1000', '--graceful-timeout', '1',
      ...apps.flatMap(([prefix, module]) => ['--app', `${prefix}=${module}`]),
      ...(spawner ? ['--spawner', spawner] : []),
    ],
  });
  const adapter = (mounts) => ({ args: [path.join(ctx.benchDir, 'ceiling.mjs'), ...mounts.map(([p, m]) => `${p}=${m}`)] });

  const subjects = [
    // The pool's real limit: node:http with nothing between the socket and the bytes.
    { name: 'ceiling-hello', group: 'ceiling', kind: 'server', quick: true, app: 'hello', beside: 'pool-hello', title: 'ceiling: bare node:http sending the same bytes (writeHead + end)', launch: { args: [path.join(ctx.benchDir, 'bare.mjs'), 'hello\n'] }, check: hello, concurrencies },
    // The same app called in-process through the gateway's environ builder and runApp: what the adapter costs
    // without the thread hop. A second, labelled line, never the ceiling.
    { name: 'adapter-hello', group: 'adapter', kind: 'server', quick: true, app: 'hello', beside: 'pool-hello', title: 'adapter: hello in-process (environ + runApp), bare node:http', launch: adapter([['/hello', app('hello')]]), check: hello, concurrencies },
    { name: 'adapter-add', group: 'adapter', kind: 'server', app: 'add', beside: 'pool-add', title: 'adapter: add in-process (environ + runApp), bare node:http', launch: adapter([['/add', addModule]]), check: add, concurrencies },
    { name: 'pool-hello', group: 'pool', kind: 'server', quick: true, app: 'hello', title: 'pool mode: hello', launch: gateway({ mode: 'pool', apps: bothApps }), check: hello, concurrencies },
    { name: 'pool-add', group: 'pool', kind: 'server', app: 'add', title: 'pool mode: add', launch: gateway({ mode: 'pool', apps: bothApps }), check: add, concurrencies },
    { name: 'cgi-hello', group: 'cgi', kind: 'server', app: 'hello', slow: true, title: 'CGI mode: hello (a fresh node per request)', launch: gateway({ mode: 'cgi', apps: bothApps }), check: hello, concurrencies: cgiConcurrencies },
    { name: 'cgi-add', group: 'cgi', kind: 'server', quick: true, app: 'add', slow: true, title: 'CGI mode: add (a fresh node per request)', launch: gateway({ mode: 'cgi', apps: bothApps }), check: add, concurrencies: cgiConcurrencies },
    { name: 'cgi-bin-sh', group: 'cgi-bin', kind: 'server', quick: true, title: 'hello.sh via /cgi-bin/, CGI-mode front', launch: gateway({ mode: 'cgi', apps: [['/hello', app('hello')]] }), check: sh, concurrencies: cgiConcurrencies },
    { name: 'cgi-bin-js', group: 'cgi-bin', kind: 'server', slow: true, title: 'hello.js via /cgi-bin/, CGI-mode front', launch: gateway({ mode: 'cgi', apps: [['/hello', app('hello')]] }), check: js, concurrencies: cgiConcurrencies },
  ];

  if (ctx.python) {
    subjects.push({
      name: 'python-sh', group: 'peer', kind: 'server', quick: true, title: "hello.sh via Python's http.server --cgi",
      // HTTP/1.0: the connection closes after every answer, so autocannon's latency figures are not usable here.
      closesConnections: true, needsPort: true,
      launch: (port) => ({ command: ctx.python, args: ['-u', '-m', 'http.server', '--cgi', '--bind', '127.0.0.1', String(port)], cwd: ctx.benchDir }),
      check: sh, concurrencies,
    });
  }

  if (ctx.lighttpd) {
    subjects.push({
      // Not in --quick (which must stay within 90 s): only an aim's reference, measured by the full run.
      name: 'lighttpd-sh', group: 'peer', kind: 'server', quick: false, title: 'hello.sh via lighttpd mod_cgi', needsPort: true,
      launch: (port) => ({ command: ctx.lighttpd, args: ['-D', '-f', lighttpdConfig(ctx, port)], cwd: ctx.benchDir }),
      check: sh, concurrencies: [1, 8, 16, 64],
    });
  }

  // Peers on the same hello, two workers each, when installed (README: how to install them).
  const wsgiDir = path.join(ctx.benchDir, 'apps');
  const peerConcurrencies = [16, 64];
  if (ctx.uwsgi) {
    subjects.push({
      // Its HTTP socket closes the connection after every answer, keep-alive or not (uWSGI 2.0); the load counts that as it is.
      name: 'uwsgi-hello', group: 'peer', kind: 'server', quick: false, title: 'peer: uWSGI, 2 processes, Python hello', needsPort: true, beside: 'pool-hello', closesAfterAnswer: true,
      launch: (port) => ({ command: ctx.uwsgi, args: ['--plugin', 'python3', '--http-socket', `127.0.0.1:${port}`, '--processes', '2', '--master', '--die-on-term', '--disable-logging', '--wsgi-file', path.join(wsgiDir, 'hello_wsgi.py')], cwd: wsgiDir }),
      check: hello, concurrencies: peerConcurrencies,
    });
  }
  if (ctx.gunicorn) {
    subjects.push({
      // Sync workers close the connection after every answer (gunicorn's design), which the load counts as it is.
      name: 'gunicorn-hello', group: 'peer', kind: 'server', quick: false, title: 'peer: gunicorn, 2 sync workers, Python hello', needsPort: true,
      launch: (port) => ({ command: ctx.gunicorn, args: ['-w', '2', '-b', `127.0.0.1:${port}`, '--chdir', wsgiDir, 'hello_wsgi:application'], cwd: wsgiDir }),
      check: hello, concurrencies: peerConcurrencies,
    });
  }
  subjects.push({
    name: 'status-overhead', group: 'status', kind: 'status-overhead', quick: true, title: 'pool mode: hello at c=64, with the status page polled every second and without',
    launch: gateway({ mode: 'pool', apps: bothApps }), check: hello,
  });
  if (ctx.wrk) {
    subjects.push({
      name: 'loadgen-check', group: 'loadgen', kind: 'loadgen', quick: true, title: 'load generators: bare node:http under wrk and under autocannon, c=64',
      launch: { args: [path.join(ctx.benchDir, 'bare.mjs'), 'hello\n'] }, check: hello,
    });
  }
  subjects.push({
    name: 'piscina-hello', group: 'peer', kind: 'server', quick: false, title: 'peer: plain piscina, one run() per request, 2 threads, the same hello app',
    launch: { args: [path.join(ctx.benchDir, 'piscina-front.mjs'), app('hello')] }, check: hello, concurrencies: peerConcurrencies,
  });

  const floorEnv = (extra) => cgiEnvironment({ documentRoot: ctx.root, ...extra });
  const script = (name) => path.join(ctx.cgiDir, name);
  const appChild = (module, query) => ({
    command: process.execPath,
    args: [path.join(ctx.root, 'dist', 'src', 'workers', 'cgi-child.js'), module],
    cwd: path.dirname(module), // as the gateway runs it
    env: floorEnv({ scriptName: query.prefix, pathInfo: '/', query: query.query }),
    contains: query.contains,
  });
  subjects.push(
    { name: 'floor-sh', group: 'floor', kind: 'floor', quick: true, title: 'floor: hello.sh spawned by xargs, no HTTP', of: 'cgi-bin-sh',
      spec: { command: script('hello.sh'), args: [], cwd: ctx.cgiDir, env: floorEnv({ scriptName: '/cgi-bin/hello.sh', scriptFilename: script('hello.sh') }), contains: 'hello', calibrateN: 200 } },
    { name: 'floor-js', group: 'floor', kind: 'floor', title: 'floor: hello.js spawned by xargs, no HTTP', of: 'cgi-bin-js',
      spec: { command: script('hello.js'), args: [], cwd: ctx.cgiDir, env: floorEnv({ scriptName: '/cgi-bin/hello.js', scriptFilename: script('hello.js') }), contains: 'hello' } },
    { name: 'floor-hello', group: 'floor', kind: 'floor', title: 'floor: the hello app child (node cgi-child.js) by xargs', of: 'cgi-hello',
      spec: appChild(app('hello'), { prefix: '/hello', query: '', contains: 'hello' }) },
    { name: 'floor-add', group: 'floor', kind: 'floor', quick: true, title: 'floor: the add app child (node cgi-child.js) by xargs', of: 'cgi-add',
      spec: appChild(addModule, { prefix: '/add', query: 'operand=2&operand=3', contains: 'your total is 5' }) },
  );

  // Issue 6's spawn designs, no HTTP: hello.sh started floorParallel at a time by each design from a process holding
  // 0 or 400 MiB. The xargs row of that comparison is floor-sh, measured once.
  const designTitle = {
    node: (mb) => `spawn design: child_process.spawn from a Node process holding ${mb} MiB, no HTTP`,
    helper: (mb) => `spawn design: gatehouse-spawner through its client, caller holding ${mb} MiB, no HTTP`,
  };
  for (const design of spawnDesigns) {
    if (design === 'helper' && !ctx.helperBuilt) continue; // no C compiler at build time: nothing to measure
    for (const mb of designHoldMb) {
      subjects.push({ name: `designs-${design}-${mb}mb`, group: 'designs', kind: 'design', quick: mb > 0, design, holdMb: mb, script: script('hello.sh'), of: 'floor-sh', title: designTitle[design](mb) });
    }
  }

  for (const mode of ['pool', 'cgi']) {
    for (const costMs of importCostsMs) {
      const launch = gateway({ mode, apps: [['/heavy', app('import-cost')]] });
      launch.args.push('--set-env', `BENCH_IMPORT_MS=${costMs}`);
      subjects.push({
        name: `import-${mode}-${costMs}`, group: 'import', kind: 'import', mode, costMs, quick: costMs !== 20,
        title: `${mode} mode, an app whose import costs ${costMs} ms`,
        launch: { ...launch, env: { BENCH_IMPORT_MS: String(costMs) } },
        check: { path: '/heavy/', contains: `imported in ${costMs} ms` },
      });
    }
  }

  for (const spawner of ctx.spawners) {
    const label = spawner ?? 'default';
    for (const mb of ballastMb) {
      const launch = gateway({ mode: 'pool', apps: [['/hello', app('hello')], ['/ballast', app('ballast')]], spawner });
      launch.args.push('--workers', String(sweepWorkers));
      subjects.push({
        // --quick keeps the shipped path's 0 and 400 MB ends; the bypass is a comparison for the full run.
        name: `sweep-${mb}mb-${label}`, group: 'sweep', kind: 'sweep', mb, spawner: label, quick: mb !== 200 && label !== 'direct',
        title: `/cgi-bin/ scripts, pool-mode front holding ${mb} MB, spawner ${label}`,
        launch: { ...launch, env: { BENCH_BALLAST_MB: String(mb / sweepWorkers) } },
        check: { path: '/ballast/', contains: `holding ${mb / sweepWorkers} MiB` },
        scripts: { sh, js }, concurrencies: sweepConcurrencies,
      });
    }
    const mb = ballastMb[ballastMb.length - 1];
    const launch = gateway({ mode: 'pool', apps: [['/hello', app('hello')], ['/ballast', app('ballast')]], spawner });
    launch.args.push('--workers', String(sweepWorkers));
    subjects.push({
      name: `interference-${label}`, group: 'interference', kind: 'interference', mb, spawner: label,
      title: `pool p99 (hello, c=8) beside CGI load (sh, c=8), ${mb} MB held, spawner ${label}`,
      launch: { ...launch, env: { BENCH_BALLAST_MB: String(mb / sweepWorkers) } },
      check: { path: '/ballast/', contains: `holding ${mb / sweepWorkers} MiB` },
      hello, sh, connections: 8,
    });
  }

  subjects.push({ name: 'memory', group: 'memory', kind: 'memory', quick: true, title: 'pool mode: 1 GiB streamed response and 100 MiB upload' });
  return subjects;
}

/**
 * A minimal lighttpd configuration serving `ctx.cgiDir` at /cgi-bin/ through mod_cgi, the way issue 6's aim
 * measures it: scripts run directly (no interpreter assigned), as nobody when the bench runs as root (as the
 * gateway runs them). Written to the run's temp directory; its error log is stderr (the bench's log file).
 */
function lighttpdConfig(ctx, port) {
  const file = path.join(ctx.tmpDir, `lighttpd-${port}.conf`);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  writeFileSync(file, [
    `server.document-root = "${ctx.benchDir}"`,
    `server.bind = "127.0.0.1"`,
    `server.port = ${port}`,
    'server.modules = ( "mod_cgi" )',
    // Its default closes a keep-alive connection after 1,000 requests, which a load run would count as dropped.
    'server.max-keep-alive-requests = 1000000',
    ...(root ? ['server.username = "nobody"', 'server.groupname = "nogroup"'] : []),
    '$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ( "" => "" ) }',
    '',
  ].join('\n'));
  return file;
}

/**
 * Shuffled, except that a baseline (a ceiling, a floor) runs right after the subject it is the baseline of:
 * on a shared machine the speed drifts by more than the margins judged, and a ratio is only fair when both
 * sides saw the same machine.
 */
export function orderSubjects(selected, random) {
  const order = shuffle(selected, random);
  const partnerOf = (s) => s.beside ?? (s.kind === 'floor' ? s.of : undefined);
  for (const s of order.filter((x) => partnerOf(x) && order.some((y) => y.name === partnerOf(x)))) {
    order.splice(order.indexOf(s), 1);
    order.splice(order.findIndex((y) => y.name === partnerOf(s)) + 1, 0, s);
  }
  return order;
}

/** The subjects `only` names (exact names or leading parts); all of them, or the quick set, without it. */
export function selectSubjects(all, { only, quick }) {
  if (only.length) {
    const picked = all.filter((s) => only.some((o) => s.name === o || s.name.startsWith(`${o}-`) || s.group === o));
    const unknown = only.filter((o) => !all.some((s) => s.name === o || s.name.startsWith(`${o}-`) || s.group === o));
    if (unknown.length) throw new Error(`--only: no subject named ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
    return picked;
  }
  return quick ? all.filter((s) => s.quick) : all;
}
