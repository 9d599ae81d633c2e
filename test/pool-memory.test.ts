// A warm pool must not grow with the number of requests it has served.
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, withGateway } from './_gateway.js';

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject).end();
  });
}

async function serve(url: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next++ < count) statuses.push(await get(url));
  }));
  return statuses;
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

describe('pool memory', () => {
  it('serving 30,000 more requests leaves the process resident size where it was (no per-request leak)', async () => {
    const calc = path.join(fixtures, 'apps', 'validated-calc.js');
    await withGateway({ apps: [{ prefix: '/calc', module: calc }], workers: 2, logLevel: 'warn' }, async (g) => {
      const url = `${g.url}/calc/add/2/3`;
      expect(new Set(await serve(url, 10_000))).toEqual(new Set([200])); // warm-up: heaps and pools reach their size
      const before = rssMb();
      expect(new Set(await serve(url, 30_000))).toEqual(new Set([200]));
      const grown = rssMb() - before;
      // A leak of ~4 KiB per request (what piscina's default atomics mode did with per-request ports) is ~120 MiB here.
      expect(grown).toBeLessThan(48);
    });
  }, 120_000);
});
