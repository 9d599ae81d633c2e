// Faults under load: a pool worker that exits on one request in a hundred, the spawn helper SIGKILLed, a
// script that hangs, SIGHUP reloads every 2 s, workers recycled every 50 requests → only the requests that hit
// a fault fail, each with its status; everything else is answered 200; none is lost.
import { readFileSync } from 'node:fs';
import { soakApp, soakCgiDir, startGateway, warmIdleRss } from '../gateway.mjs';
import { addTally, flood, newTally } from '../load.mjs';
import { mib } from './overload.mjs';

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** The spawn helper's pid: the gateway's child named gatehouse-spawn(er). */
function helperPid(tree) {
  for (const pid of tree.pids().slice(1)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('gatehouse-spawn')) return pid;
    } catch {
      // gone
    }
  }
  return null;
}

export async function faults({ seconds }) {
  const g = await startGateway(['--mode', 'pool', '--app', `/hello=${soakApp('hello')}`, '--app', `/flaky=${soakApp('flaky')}`, '--cgi-dir', soakCgiDir,
    '--max-requests', '50', '--timeout', '2', '--max-queue', '1000']);
  const idleRss = await warmIdleRss(g, ['/hello/', '/flaky/', '/cgi-bin/hello.sh'], { flood });
  g.tree.resetPeak();
  g.tree.startSampling(100);
  const durationMs = seconds * 1000;
  let stop = false;
  let reloads = 0;
  let helperKills = 0;
  const chaos = (async () => {
    for (let t = 0; !stop; t++) {
      await pause(1000);
      if (stop) break;
      if (t % 2 === 1) {
        g.signal('SIGHUP');
        reloads++;
      }
      if (t % 5 === 2) {
        const pid = helperPid(g.tree);
        if (pid) {
          process.kill(pid, 'SIGKILL');
          helperKills++;
        }
      }
    }
  })();
  const opts = (concurrency) => ({ concurrency, durationMs, expect: 'hello', boundMs: 20_000 });
  const [hello, flaky, sh, hang] = await Promise.all([
    flood(g.url, '/hello/', opts(8)),
    flood(g.url, '/flaky/', opts(4)),
    flood(g.url, '/cgi-bin/hello.sh', opts(4)),
    flood(g.url, '/cgi-bin/hang.sh', opts(1)),
  ]);
  stop = true;
  await chaos;
  g.tree.stopSampling();
  const other = (t, ok) => Object.entries(t.byStatus).filter(([s]) => !ok.includes(Number(s))).map(([s, n]) => `${n}×${s}`).join(' ') || 'none';
  const flakyFailed = flaky.byStatus[502] ?? 0;
  const shFailed = sh.sent - (sh.byStatus[200] ?? 0);
  const checks = [
    ['/hello/ (beside the crashes, reloads and recycling): all 200', hello.byStatus[200] === hello.sent && hello.sent > 0, `${hello.byStatus[200] ?? 0} of ${hello.sent}, others: ${other(hello, [200])}`],
    ['/flaky/: 200, or 502 for the request that ended its worker (about 1 in 100)', Object.keys(flaky.byStatus).every((s) => s === '200' || s === '502') && flakyFailed > 0 && flakyFailed <= flaky.sent / 25, `${flakyFailed} × 502 in ${flaky.sent}`],
    ['/cgi-bin/hello.sh: all 200, or 502/503 only as the spawn helper is killed', Object.keys(sh.byStatus).every((s) => ['200', '502', '503'].includes(s)) && shFailed <= helperKills * 4, `${shFailed} failed in ${sh.sent}, ${helperKills} helper kills`],
    // A hang whose spawn helper is killed under it gets SPAWNER_DIED (502) instead: it hit that fault.
    ['/cgi-bin/hang.sh: 504 at --timeout (502 if the spawn helper died under it)', hang.sent > 0 && (hang.byStatus[504] ?? 0) + Math.min(hang.byStatus[502] ?? 0, helperKills) === hang.sent, `${hang.byStatus[504] ?? 0} × 504, ${hang.byStatus[502] ?? 0} × 502 of ${hang.sent}`],
    ['no connection cut, no request lost, no wrong body', [hello, flaky, sh, hang].every((t) => t.cut === 0 && t.lost === 0 && t.wrongBody === 0), [hello, flaky, sh, hang].map((t) => `${t.cut}/${t.lost}/${t.wrongBody}`).join(' ')],
  ];
  const tally = [hello, flaky, sh, hang].reduce(addTally, newTally());
  return { gateway: g, tally, idleRss, peakRss: g.tree.peakRssBytes, checks, detail: `${reloads} reloads, ${helperKills} spawn-helper kills, --max-requests 50, ${mib(idleRss)} MiB idle` };
}
