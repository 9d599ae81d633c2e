// Slow clients: thousands of connections that send half a request head and hold it, and readers that stop
// reading a 100 MiB response → others are served at normal latency meanwhile, and the server drops the stalled
// connections after its --header-timeout and --idle-timeout.
import http from 'node:http';
import net from 'node:net';
import { soakApp, soakCgiDir, startGateway, warmIdleRss } from '../gateway.mjs';
import { count, flood, newTally, percentile, request } from '../load.mjs';
import { mib } from './overload.mjs';

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections that each send half a head; resolves with them once all are open. */
async function halfHeads(port, n) {
  const sockets = [];
  for (let i = 0; i < n; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, n - i) }, () => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('GET /hello/ HTTP/1.1\r\nHost: soak\r\nX-Half: ');
        resolve();
      });
      s.closedByServer = false;
      s.on('data', () => {});
      s.on('close', () => (s.closedByServer = true));
      s.on('error', () => {});
      sockets.push(s);
    })));
  }
  return sockets;
}

const bigBytes = 100 * 1024 * 1024;

/**
 * A reader that takes the first 256 KiB of a 100 MiB response, then stops reading. `resumeAndCount()` reads on
 * to the end of what the server still sends: short of the whole body, the server dropped it.
 */
function stalledReader(port, target) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: soak\r\n\r\n`));
    let got = 0;
    let ended = null;
    const over = new Promise((r) => (ended = r));
    const reader = {
      socket: s,
      target,
      get got() { return got; },
      async resumeAndCount(boundMs) {
        s.resume();
        await Promise.race([over, pause(boundMs)]);
        return got < bigBytes; // the body (plus its head) never arrived whole: the server closed the connection
      },
    };
    s.on('data', (d) => {
      got += d.length;
      if (got >= 256 * 1024 && got - d.length < 256 * 1024) {
        s.pause();
        resolve(reader);
      }
    });
    s.on('close', () => {
      ended();
      resolve(reader);
    });
    s.on('error', () => {});
  });
}

export async function slowClients({ seconds, connections, headerTimeoutS, idleTimeoutS }) {
  const g = await startGateway(['--mode', 'pool', '--app', `/hello=${soakApp('hello')}`, '--app', `/big=${soakApp('big')}`, '--cgi-dir', soakCgiDir,
    '--header-timeout', String(headerTimeoutS), '--idle-timeout', String(idleTimeoutS), '--timeout', String(idleTimeoutS * 3)]);
  const port = Number(new URL(g.url).port);
  const idleRss = await warmIdleRss(g, ['/hello/', '/big/?mb=1'], { flood });
  g.tree.resetPeak();
  g.tree.startSampling(100);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const baseline = [];
  for (let i = 0; i < 30; i++) baseline.push((await request(agent, `${g.url}/hello/`)).ms);

  const heads = await halfHeads(port, connections);
  // One stalled reader of a pool response and one of a CGI script's. Each holds what serves it until
  // --idle-timeout: a pool worker (as a sync worker must; with as many stalled readers as workers the pool
  // would wait, which a buffering proxy in front avoids), or a script slot (beside a busy pool that is
  // --max-cgi-beside-pool, 1 here, so a second stalled script would start only when the first is dropped).
  const readers = await Promise.all([stalledReader(port, '/big/?mb=100'), stalledReader(port, '/cgi-bin/big.sh')]);
  // Others are served meanwhile, one after another, for the whole scenario.
  const tally = newTally();
  // A reader that reads nothing still lets the kernel take more for a while (socket buffers grow, zero-window
  // probes move a little): the connection goes idle, and --idle-timeout starts counting, only once those are
  // full (measured: 4.7 MB written to a reader that had read 0.4 MiB, dropped 20 s in at --idle-timeout 10).
  // So the scenario lasts three idle timeouts.
  const end = performance.now() + Math.max(seconds * 1000, (Math.max(headerTimeoutS, 3 * idleTimeoutS) + 3) * 1000);
  while (performance.now() < end) {
    count(tally, await request(agent, `${g.url}/hello/`, { expect: 'hello', boundMs: 10_000 }));
    await pause(5);
  }
  agent.destroy();
  g.tree.stopSampling();
  const headsDropped = heads.filter((s) => s.closedByServer).length;
  let readersDropped = 0;
  const kept = [];
  for (const r of readers) {
    if (await r.resumeAndCount(5_000)) readersDropped++;
    else kept.push(`${r.target} (${(r.got / 1048576).toFixed(1)} MiB read)`);
  }
  for (const s of heads) s.destroy();
  for (const r of readers) r.socket.destroy();
  const log = g.logLines();
  const killed = log.filter((l) => /terminated|worker died/.test(String(l.msg))).length;
  const p99 = percentile(tally.latenciesMs, 0.99);
  const before = percentile(baseline, 0.99);
  const peakRss = g.tree.peakRssBytes;
  const checks = [
    ['others served throughout, all 200', tally.sent > 0 && tally.byStatus[200] === tally.sent, `${tally.byStatus[200] ?? 0} of ${tally.sent}`],
    ['others at normal latency (p99 within 10× quiet p99 + 5 ms)', p99 <= 10 * before + 5, `${before.toFixed(2)} → ${p99.toFixed(2)} ms`],
    [`every half-sent head dropped after --header-timeout ${headerTimeoutS} s`, headsDropped === heads.length, `${headsDropped} of ${heads.length}`],
    [`every stalled reader dropped after --idle-timeout ${idleTimeoutS} s`, readersDropped === readers.length, `${readersDropped} of ${readers.length}${kept.length ? `; kept: ${kept.join(', ')}` : ''}`],
    ['no worker killed for a client that stopped reading', killed === 0, `${killed} worker kills logged`],
    ['100 MiB responses not buffered: peak RSS under idle + 150 MiB', peakRss < idleRss + 150 * 1024 ** 2, `${mib(idleRss)} → ${mib(peakRss)} MiB`],
  ];
  return { gateway: g, tally, idleRss, peakRss, checks, detail: `${connections} half heads, 2 stalled readers of 100 MiB (a pool app's and a CGI script's), others one after another throughout` };
}
