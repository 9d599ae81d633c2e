// Test helper: feeds a CGI response parser pieces of a script's output, the way the relay does.
import { GatewayError } from '../../src/front/errors.js';
import { CgiResponseParser, type CgiHeaders, type ParseLimits } from '../../src/front/cgi/response-parser.js';

export type Outcome = { headers: CgiHeaders; rest: Buffer } | { error: string; status: number } | 'incomplete';

/** Feeds `pieces` in order; after the headers, the unfed pieces count as body too. Only a GatewayError is an outcome. */
export function feed(pieces: Buffer[], limits: ParseLimits): Outcome {
  const p = new CgiResponseParser(limits);
  try {
    for (let i = 0; i < pieces.length; i++) {
      const r = p.push(pieces[i]!);
      if (r) return { headers: r.headers, rest: Buffer.concat([r.rest, ...pieces.slice(i + 1)]) };
    }
    return 'incomplete';
  } catch (e) {
    if (e instanceof GatewayError) return { error: e.code, status: e.status };
    throw e;
  }
}
