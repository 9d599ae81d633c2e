// Bounded loopback load (issue §8): 300 sequential and 50 concurrent requests, a few of them with 2 MiB
// chunked bodies (spooled to temp files), leave no zombie, no leftover script process and no temp file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, fixtures, reachableCopy, request, withGateway, zombieChildren } from './_gateway.js';

let copy: { dir: string; remove: () => void };
let privateTmp: string;
const savedTmpdir = process.env.TMPDIR;

beforeAll(() => {
  copy = reachableCopy(path.join(fixtures, 'cgi-lifecycle'));
  // os.tmpdir() follows TMPDIR, so the gateway in this test process spools request bodies here: other test
  // files running at the same time cannot add or remove files in it.
  privateTmp = mkdtempSync(path.join(tmpdir(), 'gatehouse-load-tmp-'));
  process.env.TMPDIR = privateTmp;
});
afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(privateTmp, { recursive: true, force: true });
  copy.remove();
});

const bodyTempFiles = () => readdirSync(privateTmp).filter((n) => n.startsWith('gatehouse-body-'));

/** Pids of processes whose command line mentions `needle` (the fixture copy's path). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // dead; zombies are checked separately
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** 2 MiB sent as a chunked body (an async iterable makes request() use Transfer-Encoding: chunked). */
async function* chunkedBody(bytes: number): AsyncGenerator<Buffer> {
  const piece = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < bytes; sent += piece.length) yield piece.subarray(0, Math.min(piece.length, bytes - sent));
}

describe('bounded load', () => {
  it('300 sequential then 50 concurrent requests all succeed and leave no zombie, script process or temp file', async () => {
    const scriptDir = path.join(copy.dir, 'cgi-bin');
    expect(bodyTempFiles()).toEqual([]);
    await withGateway({ cgiDir: scriptDir }, async (g) => {
      const url = `${g.url}/cgi-bin/load-echo.sh`;

      for (let i = 0; i < 300; i++) {
        const r = await request(url);
        expect(r.status).toBe(200);
        expect(r.text).toBe('length=0 declared=none\n');
      }

      const big = 2 * 1024 * 1024;
      const concurrent = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 10 === 0
            ? request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: chunkedBody(big) })
            : request(url),
        ),
      );
      concurrent.forEach((r, i) => {
        expect(r.status).toBe(200);
        // Buffered chunked bodies arrive whole, with CONTENT_LENGTH set (past 1 MiB they were spooled to a file).
        expect(r.text).toBe(i % 10 === 0 ? `length=${big} declared=${big}\n` : 'length=0 declared=none\n');
      });

      await eventually(() => zombieChildren().length === 0);
      await eventually(() => processesMentioning(scriptDir).length === 0);
      await eventually(() => bodyTempFiles().length === 0);
    });
    expect(zombieChildren()).toEqual([]);
    expect(processesMentioning(scriptDir)).toEqual([]);
    expect(bodyTempFiles()).toEqual([]);
  });
});
