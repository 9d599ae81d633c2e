// The soak harness in its short form (a few seconds a scenario): every scenario runs against the real gateway
// and every check holds — no request lost, nothing left behind. The full run (npm run soak) writes RELIABILITY.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuild, root } from './_gateway.js';

const dir = mkdtempSync(path.join(tmpdir(), 'gh-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function soak(args: string[], boundMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'soak', 'soak.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`soak did not finish within ${boundMs} ms:\n${out}`));
    }, boundMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('the soak harness, short', () => {
  it('runs every scenario against the real gateway with every check holding, and reports them', async () => {
    requireBuild();
    const report = path.join(dir, 'RELIABILITY.md');
    const { code, out } = await soak(['--short', '--out', report], 170_000);
    expect(out, out).toContain('every check held');
    expect(code).toBe(0);
    const text = readFileSync(report, 'utf8');
    for (const title of ['Overload', 'Slow clients', 'Faults under load', 'Shutdown under load']) expect(text).toContain(`## ${title}`);
    expect(text).not.toContain('**NO**');
  }, 180_000);
});
