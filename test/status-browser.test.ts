// The status page and the index page in a real browser: Debian's chromium, driven by playwright-core (no
// browser download). The page must show figures moving without a reload, and every example link must work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { reachableCopy, request, root, withGateway } from './_gateway.js';

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const examples = reachableCopy(path.join(root, 'examples'));
const examplesGateway = { cgiDir: path.join(examples.dir, 'cgi-bin'), docroot: path.join(examples.dir, 'public'), apps: undefined };
/**
 * Where the screenshot goes: under test-results/ (not tracked), or where GATEHOUSE_SCREENSHOT_DIR says
 * (`GATEHOUSE_SCREENSHOT_DIR=docs/screenshots npx vitest run test/status-browser.test.ts` renews the README's).
 */
const shots = path.resolve(root, process.env.GATEHOUSE_SCREENSHOT_DIR ?? path.join('test-results', 'screenshots'));

let browser: Browser;
beforeAll(async () => {
  if (!executablePath) throw new Error('this test needs Debian\'s chromium (apt-get install chromium): .ci/run installs it');
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  examples.remove();
});

const figure = (page: Page, id: string) => page.locator(`[data-figure="${id}"]`).textContent();
const count = async (page: Page, id: string) => Number(((await figure(page, id)) ?? '').replace(/,/g, ''));

describe.each(['pool', 'cgi'] as const)('in a real browser, %s mode', (mode) => {
  it('the status page shows requests and workers change as requests come, without a reload', async () => {
    await withGateway({ ...examplesGateway, mode }, async (g) => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
      try {
        let loads = 0;
        page.on('load', () => loads++);
        await page.goto(`${g.url}/-/status`);
        await page.waitForFunction(() => document.querySelector('[data-figure="requests"]')?.textContent !== undefined && document.querySelector('[data-figure="requests"]') !== null);
        const before = await count(page, 'requests');
        for (let i = 0; i < 5; i++) expect((await request(`${g.url}/add/?operand=${i}&operand=1`)).status).toBe(200);
        expect((await request(`${g.url}/cgi-bin/add.sh?operand=2&operand=3`)).status).toBe(200);
        await page.waitForFunction((n) => Number(document.querySelector('[data-figure="requests"]')!.textContent!.replace(/,/g, '')) >= n, before + 6, { timeout: 10_000 });
        expect(loads).toBe(1); // the same document, redrawn in place
        // Quiet now: the page shows what the JSON says (its own polls are not counted as requests).
        const json = JSON.parse((await request(`${g.url}/-/status?format=json`)).text) as { server: { requests: number; byStatus: Record<string, number> } };
        await page.waitForFunction((n) => Number(document.querySelector('[data-figure="requests"]')!.textContent!.replace(/,/g, '')) === n, json.server.requests, { timeout: 5_000 });
        expect(await count(page, 'status-2xx')).toBe(json.server.byStatus['2xx']);
        expect(await page.locator('#mode').textContent()).toBe(`${mode} mode`);
        const mounts = await page.locator('#mounts tbody tr').allTextContents();
        expect(mounts.some((r) => r.startsWith(`${mode}:/add`))).toBe(true);
        expect(mounts.some((r) => r.startsWith('cgi-script'))).toBe(true);
        if (mode === 'pool') {
          expect(await page.locator('#pool-section').isVisible()).toBe(true);
          expect(await page.locator('#workers tbody tr').count()).toBeGreaterThanOrEqual(1);
        } else expect(await page.locator('#pool-section').isVisible()).toBe(false);
        expect(await page.locator('#cgi-summary').textContent()).toMatch(/spawned [1-9]/);
        expect(await page.locator('#chart polyline').count()).toBe(2);
      } finally {
        await page.close();
      }
    });
  }, 60_000);

  it('the index page links every example and each link opens in the browser as the index says', async () => {
    await withGateway({ ...examplesGateway, mode }, async (g) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${g.url}/`);
        const links = await page.locator('a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
        expect(links.length).toBeGreaterThan(20);
        for (const link of links) {
          await page.goto(`${g.url}/`);
          const [response] = await Promise.all([page.waitForEvent('response', (r) => r.url() === new URL(link, `${g.url}/`).href), page.locator(`a[href="${link.replaceAll('"', '\\"')}"]`).first().click()]);
          const expected = /operand=two/.test(link) || /divide\/6\/0/.test(link) ? 400 : /book\/99/.test(link) ? 404 : 200;
          expect({ link, status: response.status() }).toEqual({ link, status: expected });
        }
      } finally {
        await page.close();
      }
    });
  }, 120_000);
});

describe('the README screenshot', () => {
  it('is taken of the status page under load, in pool mode', async () => {
    await withGateway({ ...examplesGateway, mode: 'pool' }, async (g) => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1250 } });
      try {
        await page.goto(`${g.url}/-/status`);
        // A steady load for a few seconds, so the chart has a shape and the workers have work.
        const until = Date.now() + 4_000;
        const load = Array.from({ length: 4 }, async () => {
          while (Date.now() < until) await request(`${g.url}/add/?operand=2&operand=3`);
        });
        const scripts = (async () => {
          while (Date.now() < until) await request(`${g.url}/cgi-bin/add.sh?operand=2&operand=3`);
        })();
        await Promise.all([...load, scripts]);
        await page.waitForFunction(() => Number(document.querySelector('[data-figure="requests"]')!.textContent!.replace(/,/g, '')) > 50, undefined, { timeout: 10_000 });
        mkdirSync(shots, { recursive: true });
        const file = path.join(shots, 'status-page.png');
        await page.screenshot({ path: file, fullPage: true });
        expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
      } finally {
        await page.close();
      }
    });
  }, 60_000);
});
