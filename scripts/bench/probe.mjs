// Latency with sub-millisecond resolution: `connections` keep-alive loops over raw sockets, each sending its next
// request as soon as the last answer is complete, every request timed with process.hrtime. autocannon records
// whole milliseconds only, and a warm pool answers in a fraction of one; node:http's client would add more of
// its own time than the difference being measured, so the request is a prebuilt buffer and the answer is
// parsed only as far as framing needs (Content-Length, chunked, or close-delimited for HTTP/1.0 servers).
import { connect } from 'node:net';
import { LoadError } from './load.mjs';
import { quantile } from './stats.mjs';

/** Where the message ends in `buf` (headers already parsed), or -1 while more bytes are needed. */
function messageEnd(buf, bodyStart, framing) {
  if (framing.length !== null) return buf.length >= bodyStart + framing.length ? bodyStart + framing.length : -1;
  if (framing.chunked) {
    let at = bodyStart;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return -1;
      const size = parseInt(buf.toString('latin1', at, eol), 16);
      if (size === 0) {
        const end = buf.indexOf('\r\n\r\n', eol);
        return end < 0 ? -1 : end + 4;
      }
      at = eol + 2 + size + 2;
      if (at > buf.length) return -1;
    }
  }
  return -1; // close-delimited: ends when the server closes
}

/** The body of a complete message (de-chunked when needed). */
function bodyOf(buf, bodyStart, end, framing) {
  if (!framing.chunked) return buf.toString('utf8', bodyStart, end);
  let out = '';
  for (let at = bodyStart; ;) {
    const eol = buf.indexOf('\r\n', at);
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (size === 0) return out;
    out += buf.toString('utf8', eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** A keep-alive connection that answers one request at a time; reconnects when the server closes. */
class Connection {
  #socket = null;
  #buf = Buffer.alloc(0);
  #waiter = null;
  #closed = true;

  constructor(host, port) {
    this.host = host;
    this.port = port;
  }

  #open() {
    this.#buf = Buffer.alloc(0);
    this.#closed = false;
    const socket = connect(this.port, this.host);
    socket.setNoDelay(true);
    // Events of a socket already replaced (closed by us after an HTTP/1.0 answer) are ignored.
    socket.on('data', (d) => {
      if (socket !== this.#socket) return;
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#waiter?.();
    });
    const gone = (e) => {
      if (socket !== this.#socket) return;
      this.#closed = true;
      if (e) this.error = e;
      this.#waiter?.();
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    this.#socket = socket;
  }

  /** Sends `raw` and resolves with `{ status, body }` of the answer. */
  exchange(raw) {
    // A kept connection the server closed after its last answer without saying so (uWSGI's HTTP socket does):
    // nothing of an answer came, so the request is sent again on a new one, as HTTP clients do.
    let reused = !this.#closed;
    if (this.#closed) this.#open();
    this.error = null;
    this.#socket.write(raw);
    return new Promise((resolve, reject) => {
      let head = null;
      const check = () => {
        const buf = this.#buf;
        if (!head) {
          const hEnd = buf.indexOf('\r\n\r\n');
          if (hEnd >= 0) head = parseHead(buf.toString('latin1', 0, hEnd), hEnd + 4);
        }
        if (head) {
          let end = messageEnd(buf, head.bodyStart, head);
          if (end < 0 && this.#closed && head.length === null && !head.chunked) end = buf.length;
          if (end >= 0) {
            this.#waiter = null;
            this.#buf = buf.subarray(end);
            if (head.close) {
              this.#socket.destroy();
              this.#socket = null;
              this.#closed = true;
            }
            return resolve({ status: head.status, body: bodyOf(buf, head.bodyStart, end, head) });
          }
        }
        if (this.#closed && reused && !head && this.#buf.length === 0) {
          reused = false;
          this.#open();
          this.error = null;
          this.#socket.write(raw);
          return;
        }
        if (this.#closed) {
          this.#waiter = null;
          reject(this.error ?? new Error('connection closed mid-answer'));
        }
      };
      this.#waiter = check;
      check();
    });
  }

  close() {
    this.#socket?.destroy();
  }
}

function parseHead(text, bodyStart) {
  const lines = text.split('\r\n');
  const [version, code] = lines[0].split(' ');
  let length = null;
  let chunked = false;
  let close = version === 'HTTP/1.0';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = value.includes('chunked');
    else if (name === 'connection') close = value === 'close' || (close && value !== 'keep-alive');
  }
  return { status: Number(code), length, chunked, close, bodyStart };
}

/**
 * Runs for `durationS`, or on until `minRequests` have completed (slow subjects: a p99 needs samples), but
 * never past `maxS`. Any non-2xx or wrong body throws. Returns p50/p99/mean in ms and the count.
 */
export async function probeLatency({ url, connections = 1, durationS, minRequests = 20, maxS = 30 }, expectBody) {
  const u = new URL(url);
  const raw = Buffer.from(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: gatehouse-bench\r\n\r\n`, 'latin1');
  const times = [];
  const t0 = performance.now();
  const enough = () => {
    const elapsed = (performance.now() - t0) / 1000;
    return elapsed >= maxS || (elapsed >= durationS && times.length >= minRequests);
  };
  const conns = Array.from({ length: connections }, () => new Connection(u.hostname, Number(u.port)));
  async function loop(conn) {
    while (!enough()) {
      const start = process.hrtime.bigint();
      const answer = await conn.exchange(raw);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (answer.status < 200 || answer.status > 299) throw new LoadError(`${url}: status ${answer.status}`);
      if (expectBody !== undefined && answer.body !== expectBody) throw new LoadError(`${url}: wrong body ${JSON.stringify(answer.body.slice(0, 100))}`);
    }
  }
  try {
    await Promise.all(conns.map(loop));
  } finally {
    for (const c of conns) c.close();
  }
  const wallS = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    connections,
    count: times.length,
    durationS: wallS,
    p50: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    mean: times.reduce((s, t) => s + t, 0) / times.length,
    max: times[times.length - 1],
  };
}
