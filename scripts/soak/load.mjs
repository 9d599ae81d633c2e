// The soak's load: keep-alive clients that each send one request after another for a bounded time, and an
// account of what became of every request sent. A request is answered (by its status), cut (the connection
// failed after it was sent), or lost (sent, neither answered nor cut within the bound): the figure that must be 0.
import http from 'node:http';

/**
 * @typedef {{ sent: number, byStatus: Record<string, number>, cut: number, lost: number, refused: number,
 *   without503RetryAfter: number, wrongBody: number, latenciesMs: number[] }} Tally
 */

/** @returns {Tally} */
export function newTally() {
  return { sent: 0, byStatus: {}, cut: 0, lost: 0, refused: 0, without503RetryAfter: 0, wrongBody: 0, latenciesMs: [] };
}

/** Adds b into a. */
export function addTally(a, b) {
  a.sent += b.sent;
  for (const [k, v] of Object.entries(b.byStatus)) a.byStatus[k] = (a.byStatus[k] ?? 0) + v;
  for (const k of ['cut', 'lost', 'refused', 'without503RetryAfter', 'wrongBody']) a[k] += b[k];
  for (const l of b.latenciesMs) a.latenciesMs.push(l);
  return a;
}

/**
 * One request. Resolves with what became of it; never rejects. `boundMs`: past it, the request counts as lost.
 * A connection refused before anything was sent is `refused` (not sent at all).
 */
export function request(agent, url, { method = 'GET', boundMs = 30_000, expect = null } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let settled = false;
    let written = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(url, { agent, method }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c) => { if (body.length < 4096) body += c; });
      res.on('end', () => done({ kind: 'answered', status: res.statusCode, retryAfter: res.headers['retry-after'], ms: performance.now() - t0, wrongBody: res.statusCode === 200 && expect !== null && !body.includes(expect) }));
      res.on('error', () => done({ kind: 'cut' }));
      res.on('aborted', () => done({ kind: 'cut' }));
    });
    req.on('finish', () => (written = true));
    req.on('error', (e) => done({ kind: !written && e.code === 'ECONNREFUSED' ? 'refused' : 'cut', error: e.code }));
    const timer = setTimeout(() => {
      done({ kind: 'lost' });
      req.destroy();
    }, boundMs);
    req.end();
  });
}

/** Counts one outcome into the tally. */
export function count(tally, r) {
  if (r.kind === 'refused') return void tally.refused++;
  tally.sent++;
  if (r.kind === 'cut') return void tally.cut++;
  if (r.kind === 'lost') return void tally.lost++;
  tally.byStatus[r.status] = (tally.byStatus[r.status] ?? 0) + 1;
  if (r.status === 503 && !r.retryAfter) tally.without503RetryAfter++;
  if (r.wrongBody) tally.wrongBody++;
  if (r.status === 200) tally.latenciesMs.push(r.ms);
}

/**
 * `concurrency` clients on keep-alive connections, each sending `path` again and again until `durationMs` has
 * passed (or `until()` says stop); the requests in flight then finish, each within `boundMs`.
 */
export async function flood(base, path, { concurrency, durationMs, boundMs = 30_000, expect = null, until = () => false, pick = null }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const tally = newTally();
  const end = performance.now() + durationMs;
  const client = async (i) => {
    for (let n = 0; performance.now() < end && !until(); n++) {
      const p = pick ? pick(i, n) : path;
      const r = await request(agent, base + p, { boundMs, expect });
      count(tally, r);
      // A refused or cut connection is not retried in a tight loop.
      if (r.kind === 'refused' || r.kind === 'cut') await new Promise((res) => setTimeout(res, 20));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  agent.destroy();
  return tally;
}

export function percentile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
