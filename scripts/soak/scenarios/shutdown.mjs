// Shutdown under load: SIGTERM in the middle of a flood → requests in flight finish, new connections are
// refused, the gateway exits 0 within --graceful-timeout, and leaves no process behind.
import { soakApp, soakCgiDir, startGateway, warmIdleRss } from '../gateway.mjs';
import { addTally, flood, newTally } from '../load.mjs';

const graceS = 5;

export async function shutdown({ seconds }) {
  const g = await startGateway(['--mode', 'pool', '--app', `/hello=${soakApp('hello')}`, '--cgi-dir', soakCgiDir, '--graceful-timeout', String(graceS), '--max-queue', '1000']);
  const idleRss = await warmIdleRss(g, ['/hello/', '/cgi-bin/hello.sh'], { flood });
  g.tree.startSampling(100);
  const durationMs = seconds * 1000;
  let termAt = 0;
  let exitedAfterMs = NaN;
  setTimeout(() => {
    termAt = performance.now();
    g.signal('SIGTERM');
    void g.exited.then(() => (exitedAfterMs = performance.now() - termAt));
  }, durationMs / 3);
  const opts = { durationMs, expect: 'hello', boundMs: (graceS + 5) * 1000 };
  const [pool, sh] = await Promise.all([flood(g.url, '/hello/', { ...opts, concurrency: 32 }), flood(g.url, '/cgi-bin/hello.sh', { ...opts, concurrency: 8 })]);
  await Promise.race([g.exited, new Promise((r) => setTimeout(r, (graceS + 5) * 1000))]);
  g.tree.stopSampling();
  const tally = addTally(addTally(newTally(), pool), sh);
  const exit = g.exit;
  const checks = [
    ['exit 0 within --graceful-timeout', exit?.code === 0 && exitedAfterMs <= graceS * 1000, `code ${exit?.code}, signal ${exit?.signal}, after ${exitedAfterMs.toFixed(0)} ms`],
    ['every request sent before the end answered 200', tally.byStatus[200] === tally.sent, `${tally.byStatus[200] ?? 0} of ${tally.sent}; others ${JSON.stringify(tally.byStatus)}`],
    ['new connections refused after it stopped listening', tally.refused > 0, `${tally.refused} refused`],
    ['no request lost or cut', tally.lost === 0 && tally.cut === 0, `${tally.lost} lost, ${tally.cut} cut`],
  ];
  return { gateway: g, tally, idleRss, peakRss: g.tree.peakRssBytes, checks, detail: `SIGTERM after ${(durationMs / 3000).toFixed(0)} s of a ${seconds} s flood (32 pool + 8 CGI clients), --graceful-timeout ${graceS}`, stopped: true };
}
