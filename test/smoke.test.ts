import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { fixtures, parseEnvDump, reachableCopy, request, withGateway } from './_gateway.js';

const cgi = reachableCopy(path.join(fixtures, 'cgi-bin'));
afterAll(() => cgi.remove());

describe('smoke', () => {
  it('runs a script', async () => {
    await withGateway({ cgiDir: cgi.dir }, async (g) => {
      const r = await request(`${g.url}/cgi-bin/env.sh/x?a=b`);
      expect(r.status).toBe(200);
      const env = parseEnvDump(r.text);
      expect(env.PATH_INFO).toBe('/x');
      expect(env.QUERY_STRING).toBe('a=b');
    });
  });
});
