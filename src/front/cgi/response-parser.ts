// Parses a CGI script's stdout header block incrementally (RFC 3875 §6), with hard size limits.
import { GatewayError } from '../errors.js';

export interface CgiHeaders {
  /** The Status field, if the script sent one: code and reason as sent. */
  status: { code: number; reason: string } | null;
  /** Every other field in order, names as sent. Framing fields are already removed. */
  fields: [string, string][];
  location: string | null;
  contentType: string | null;
  /** The script's Content-Length, if valid: never forwarded, but the front uses it to know the body is complete. */
  declaredLength: number | null;
}

export interface ParseLimits {
  lineBytes: number;
  blockBytes: number;
}

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The front frames the response itself; a script's own framing never reaches the client (CVE-2024-24795). */
const dropped = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection']);

/**
 * Feed stdout chunks until the header block is complete; `push` returns the parsed headers and the body
 * bytes that came after the blank line, or null while more input is needed. Throws CGI_BAD_HEADERS.
 */
export class CgiResponseParser {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #blockBytes = 0;
  #lines: string[] = [];
  #limits: ParseLimits;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
  }

  push(chunk: Buffer): { headers: CgiHeaders; rest: Buffer } | null {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.#pending.push(chunk.subarray(start));
        this.#pendingBytes += chunk.length - start;
        this.#checkSize(this.#pendingBytes);
        return null;
      }
      const piece = chunk.subarray(start, nl);
      const lineBuf = this.#pending.length ? Buffer.concat([...this.#pending, piece]) : piece;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#blockBytes += lineBuf.length + 1;
      this.#checkSize(lineBuf.length + 1);
      start = nl + 1;
      // LF or CRLF both end a line (scripts disagree; RFC 3875 §6.3 allows either NL).
      const line = lineBuf.at(-1) === 0x0d ? lineBuf.subarray(0, -1) : lineBuf;
      if (line.length === 0) return { headers: interpret(this.#lines), rest: chunk.subarray(start) };
      this.#lines.push(line.toString('latin1'));
    }
  }

  /** Called at EOF before the header block ended. */
  end(): never {
    const seen = this.#lines.length + (this.#pendingBytes > 0 ? 1 : 0);
    throw new GatewayError('CGI_BAD_HEADERS', seen === 0 ? 'script sent no output' : 'script output ended before the blank line that ends the headers');
  }

  #checkSize(lineBytes: number): void {
    if (lineBytes > this.#limits.lineBytes) throw new GatewayError('CGI_BAD_HEADERS', `header line longer than ${this.#limits.lineBytes} bytes`);
    if (this.#blockBytes + this.#pendingBytes > this.#limits.blockBytes) {
      throw new GatewayError('CGI_BAD_HEADERS', `header block larger than ${this.#limits.blockBytes} bytes`);
    }
  }
}

function interpret(lines: string[]): CgiHeaders {
  const out: CgiHeaders = { status: null, fields: [], location: null, contentType: null, declaredLength: null };
  for (const line of lines) {
    if (line[0] === ' ' || line[0] === '\t') throw new GatewayError('CGI_BAD_HEADERS', 'folded header line (obs-fold) is not allowed');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new GatewayError('CGI_BAD_HEADERS', `header line without a field name: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''); // only SP/HTAB: trim() would hide a CR
    if (!token.test(name)) throw new GatewayError('CGI_BAD_HEADERS', `invalid header name ${JSON.stringify(name.slice(0, 80))}`);
    // latin1 decoding maps each byte to one char; HTTP field values allow HTAB, visible ASCII and obs-text.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) throw new GatewayError('CGI_BAD_HEADERS', `control character (CR, LF, NUL…) in the value of ${name}`);
    const lower = name.toLowerCase();
    if (lower === 'status') {
      if (out.status) throw new GatewayError('CGI_BAD_HEADERS', 'Status sent twice');
      out.status = parseStatus(value);
    } else if (lower === 'location') {
      if (out.location !== null) throw new GatewayError('CGI_BAD_HEADERS', 'Location sent twice');
      out.location = value;
      out.fields.push([name, value]);
    } else if (lower === 'content-length') {
      if (/^\d{1,15}$/.test(value)) out.declaredLength = Number(value);
    } else if (!dropped.has(lower)) {
      if (lower === 'content-type') out.contentType = value;
      out.fields.push([name, value]);
    }
  }
  return out;
}

/** RFC 3875 §6.3.3: `Status: 3DIGIT SP reason`; a final response cannot be 1xx. */
function parseStatus(value: string): { code: number; reason: string } {
  const m = /^(\d{3})(?:[ \t]+(.*))?$/.exec(value);
  const code = m ? Number(m[1]) : NaN;
  if (!m || code < 200 || code > 599) throw new GatewayError('CGI_BAD_HEADERS', `bad Status ${JSON.stringify(value.slice(0, 80))}`);
  return { code, reason: m[2] ?? '' };
}
