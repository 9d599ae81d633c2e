// One access line, encoded as JSON bytes straight into a buffer: no string is built for it.

/** What one access line says. */
export interface AccessFacts {
  time: number;
  pid: number;
  req: number;
  method: string;
  path: string;
  status: number;
  bytes: number;
  /** Milliseconds, rounded to the microsecond. */
  ms: number;
  via: string;
  childPid: number | undefined;
  worker: number | undefined;
  complete: boolean;
}

/** Bytes a line may take at most: each string character is at most 6 bytes in JSON (\u00XX), each number ≤ 22. */
export const maxLineBytes = (f: AccessFacts): number => 256 + 6 * (f.method.length + f.path.length + f.via.length);

const quote = 0x22;

/**
 * Writes `{"level":30,"time":…,…,"msg":"access"}\n` (pino's line shape, the same keys in the same order) into
 * `buf` at `at`; returns where it ends. `buf` must have `maxLineBytes(f)` bytes of room from `at`.
 */
export function encodeAccessLine(buf: Buffer, at: number, f: AccessFacts): number {
  at = ascii(buf, at, '{"level":30,"time":');
  at = uint(buf, at, f.time);
  at = ascii(buf, at, ',"pid":');
  at = uint(buf, at, f.pid);
  at = ascii(buf, at, ',"req":');
  at = uint(buf, at, f.req);
  at = ascii(buf, at, ',"method":');
  at = jsonString(buf, at, f.method);
  at = ascii(buf, at, ',"path":');
  at = jsonString(buf, at, f.path);
  at = ascii(buf, at, ',"status":');
  at = uint(buf, at, f.status);
  at = ascii(buf, at, ',"bytes":');
  at = uint(buf, at, f.bytes);
  at = ascii(buf, at, ',"ms":');
  at = thousandths(buf, at, f.ms);
  at = ascii(buf, at, ',"via":');
  at = jsonString(buf, at, f.via);
  if (f.childPid !== undefined) {
    at = ascii(buf, at, ',"childPid":');
    at = uint(buf, at, f.childPid);
  }
  if (f.worker !== undefined) {
    at = ascii(buf, at, ',"worker":');
    at = uint(buf, at, f.worker);
  }
  at = ascii(buf, at, f.complete ? ',"complete":true,"msg":"access"}\n' : ',"complete":false,"msg":"access"}\n');
  return at;
}

function ascii(buf: Buffer, at: number, s: string): number {
  return at + buf.write(s, at, 'latin1');
}

/**
 * A non-negative integer's decimal digits, written one by one: turning a number into a string would go
 * through V8's number-string cache, whose entries live in the old generation.
 */
function uint(buf: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER)) return ascii(buf, at, String(n));
  n = Math.floor(n);
  let end = at + 1;
  for (let p = 10; p <= n; p *= 10) end++;
  let i = end;
  do {
    const q = Math.floor(n / 10);
    buf[--i] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
  return end;
}

/** `ms` with at most three decimals and no trailing zeros, as JSON prints Math.round(ms * 1000) / 1000. */
function thousandths(buf: Buffer, at: number, ms: number): number {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us <= Number.MAX_SAFE_INTEGER)) return ascii(buf, at, JSON.stringify(us / 1000));
  const whole = Math.floor(us / 1000);
  let frac = us - whole * 1000;
  at = uint(buf, at, whole);
  if (frac === 0) return at;
  buf[at++] = 0x2e;
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  for (let d = digits - 1, n = frac; d >= 0; d--) {
    buf[at + d] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}

/** A JSON string: printable ASCII as it is; anything else (quotes, controls, non-ASCII) as JSON.stringify writes it. */
function jsonString(buf: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === quote || c === 0x5c) return at + buf.write(JSON.stringify(s), at, 'utf8');
  }
  buf[at] = quote;
  at += 1 + buf.write(s, at + 1, 'latin1');
  buf[at] = quote;
  return at + 1;
}
