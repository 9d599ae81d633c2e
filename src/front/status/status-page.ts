// The live status page: one static document that polls its own JSON (?format=json) every second and redraws
// in place, with the last minute as an inline SVG chart. No build step, no framework; every figure is put in
// with textContent, never as HTML, so nothing a request carried can become markup.

export const statusPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 70rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; margin: .3rem 0; } td, th { padding: .2rem .7rem .2rem 0; text-align: left; }
  th { font-weight: 600; border-bottom: 1px solid #ccc; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .muted { color: #777; } .bad { color: #b00; } #chart { border: 1px solid #ddd; background: #fcfcfc; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem; }
  .grid div { border: 1px solid #eee; padding: .4rem .6rem; } .grid b { display: block; font-size: 1.25rem; }
</style>
</head>
<body>
<h1>Gatehouse <span id="mode"></span></h1>
<div class="muted" id="where"></div>
<h2>Server</h2>
<div class="grid" id="server"></div>
<h2>The last minute</h2>
<svg id="chart" width="720" height="180" viewBox="0 0 720 180" role="img" aria-label="requests a second and p99 latency over the last minute"></svg>
<div class="muted"><span style="color:#1f77b4">■</span> requests a second &nbsp; <span style="color:#d62728">■</span> p99 latency (ms, right scale)</div>
<h2>Mounts <span class="muted">(p50 / p99 over the last 10 s)</span></h2>
<table id="mounts"><thead><tr><th>via</th><th>requests</th><th>5xx</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table>
<section id="pool-section">
<h2>Pool workers</h2>
<div id="pool-summary" class="muted"></div>
<table id="workers"><thead><tr><th>slot</th><th>thread</th><th>state</th><th>running</th><th>for ms</th><th>waiting</th><th>served</th><th>heap MiB (used / total)</th><th>restarts</th></tr></thead><tbody></tbody></table>
</section>
<h2>CGI</h2>
<div id="cgi-summary" class="muted"></div>
<table id="scripts"><thead><tr><th>script</th><th>pid</th><th>running for ms</th></tr></thead><tbody></tbody></table>
<p class="muted" id="updated"></p>
<script>
const $ = (id) => document.getElementById(id);
const fmt = (v) => v === null || v === undefined ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : String(v);
function rows(table, list, cells) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...list.map((item) => {
    const tr = document.createElement('tr');
    for (const [value, numeric] of cells(item)) {
      const td = document.createElement('td');
      td.textContent = fmt(value);
      if (numeric) td.className = 'n';
      tr.append(td);
    }
    return tr;
  }));
}
function tiles(list) {
  $('server').replaceChildren(...list.map(([label, value, id]) => {
    const d = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = fmt(value);
    b.dataset.figure = id;
    d.append(b, label);
    return d;
  }));
}
function chart(history) {
  const svg = $('chart'), w = 720, h = 180, pad = 24;
  const rps = history.map((s) => s.requests), p99 = history.map((s) => s.p99Ms ?? 0);
  const maxR = Math.max(1, ...rps), maxL = Math.max(1, ...p99);
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, history.length - 1);
  const line = (vals, max, color) => {
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    p.setAttribute('points', vals.map((v, i) => x(i).toFixed(1) + ',' + (h - pad - (v / max) * (h - 2 * pad)).toFixed(1)).join(' '));
    p.setAttribute('fill', 'none'); p.setAttribute('stroke', color); p.setAttribute('stroke-width', '2');
    return p;
  };
  const label = (text, xPos, yPos, anchor) => {
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    t.textContent = text; t.setAttribute('x', xPos); t.setAttribute('y', yPos); t.setAttribute('font-size', '11'); t.setAttribute('text-anchor', anchor);
    return t;
  };
  svg.replaceChildren(line(rps, maxR, '#1f77b4'), line(p99, maxL, '#d62728'),
    label(fmt(maxR) + '/s', 2, 14, 'start'), label(fmt(maxL) + ' ms', w - 2, 14, 'end'), label('60 s ago', pad, h - 6, 'start'), label('now', w - pad, h - 6, 'end'));
}
function render(s) {
  $('mode').textContent = s.server.mode + ' mode';
  $('where').textContent = s.server.url + ' · version ' + s.server.version + ' · pid ' + s.server.pid + (s.server.draining ? ' · draining' : '');
  tiles([['uptime s', s.server.uptimeS, 'uptime'], ['requests', s.server.requests, 'requests'], ['req/s (5 s)', s.server.rps, 'rps'],
    ['in flight', s.server.inFlight, 'inFlight'], ['queued', s.server.queued, 'queued'], ['503s', s.server.unavailable, 'unavailable'],
    ...['1xx', '2xx', '3xx', '4xx', '5xx', '499'].map((k) => [k === '499' ? '499 (client left)' : k, s.server.byStatus[k], 'status-' + k])]);
  chart(s.history);
  rows('mounts', s.mounts, (m) => [[m.via], [m.requests, 1], [m.errors, 1], [m.p50Ms, 1], [m.p99Ms, 1]]);
  $('pool-section').hidden = !s.pool;
  if (s.pool) {
    const r = s.pool.restarts;
    $('pool-summary').textContent = 'queued ' + s.pool.queued + ' · in flight ' + s.pool.inFlight + ' · restarts: crash ' + r.crash + ', memory ' + r.memory +
      ', timeout ' + r.timeout + ', recycle ' + r.recycle + (s.pool.pausedMs > 0 ? ' · dispatch paused ' + s.pool.pausedMs + ' ms (workers keep dying)' : '');
    const restarts = (r) => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => k + ' ' + n).join(', ') || '0';
    rows('workers', [...s.pool.workers].sort((a, b) => a.slot - b.slot), (w) => [[w.slot, 1], [w.thread, 1], [w.state], [w.running.map((q) => '#' + q.id + ' ' + q.path).join(', ') || '–'],
      [w.running.length ? Math.max(...w.running.map((q) => q.forMs)) : null, 1], [w.waiting, 1], [w.served, 1],
      [w.heapMb ? w.heapMb.used.toFixed(1) + ' / ' + w.heapMb.total.toFixed(1) : null, 1], [restarts(w.restarts)]]);
  }
  const c = s.cgi;
  $('cgi-summary').textContent = 'running ' + c.running.length + ' of ' + c.slots.now + (c.slots.why ? ' (of ' + c.slots.max + ': ' + c.slots.why + ')' : '') +
    ' · queued ' + c.slots.queued + ' · spawned ' + c.spawned + ' · failed to start ' + c.startFailed + ' · timed out ' + c.timedOut + ' · killed ' + c.killed +
    ' · spawner: ' + c.spawner.kind + ' ' + c.spawner.state + (c.spawner.pid ? ' (pid ' + c.spawner.pid + ')' : '') + ', restarts ' + c.spawner.restarts;
  rows('scripts', c.running, (p) => [[p.script], [p.pid, 1], [p.forMs, 1]]);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}
async function poll() {
  try {
    const r = await fetch(location.pathname + '?format=json', { cache: 'no-store' });
    if (r.ok) render(await r.json());
  } catch { /* the server may be restarting: try again */ }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
