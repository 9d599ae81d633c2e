// The bench harness in its shortest form (--smoke, one subject) writes a well-formed report, a results file
// that parses, and charts; and --compare reads results back. Only the output's structure is checked, never
// a speed: figures vary from machine to machine and run to run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireBuild, root } from './_gateway.js';

const benchScript = path.join(root, 'scripts', 'bench', 'bench.mjs');
let out: string;

/** Runs the bench with `args`; resolves with its exit code and output (bounded, like every wait here). */
function runBench(args: string[], boundMs = 18_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [benchScript, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // the bench kills its servers on SIGTERM
      reject(new Error(`bench did not finish within ${boundMs} ms:\n${stderr}`));
    }, boundMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const resultsFile = () => {
  const dir = path.join(out, 'bench', 'results');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return path.join(dir, files[0]!);
};

describe('npm run bench -- --smoke', () => {
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    requireBuild();
    out = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-smoke-'));
    run = await runBench(['--smoke', '--only', 'ceiling-hello', '--seed', '1', '--out', out]);
  }, 20_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 and reports its progress on stderr', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ceiling-hello: throughput c=\d+, run 1\/1/);
  });

  it('writes a report whose tables hold numbers and no error row', () => {
    const md = readFileSync(path.join(out, 'BENCHMARKS.md'), 'utf8');
    for (const heading of ['## Machine', '## Method', '## Targets', '## Cold start', '## Latency at c=1', '## Throughput by concurrency', '## Memory and CPU', '## Ratios', '## What this means', '## Profiling notes']) {
      expect(md).toContain(heading);
    }
    const row = md.split('\n').find((l) => l.startsWith('| ceiling: bare node:http') && l.includes('|'))!;
    expect(row).toBeDefined();
    expect(row.split('|').slice(2, -1).every((cell) => /\d/.test(cell))).toBe(true);
    expect(md).not.toMatch(/ERROR|## Errors/);
    expect(md).toMatch(/!\[[^\]]+\]\(bench\/charts\/throughput\.svg\)/);
  });

  it('writes the raw figures of every run as JSON, with the fields --compare and the report use', () => {
    const r = JSON.parse(readFileSync(resultsFile(), 'utf8'));
    expect(r).toMatchObject({ schema: 1, profile: 'smoke', partial: true, seed: 1, order: ['ceiling-hello'] });
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(typeof r.versions.node).toBe('string');
    expect(typeof r.versions.autocannon).toBe('string');
    const s = r.subjects['ceiling-hello'];
    expect(s.error).toBeNull();
    expect(s.coldStartMs.runs).toHaveLength(1);
    for (const c of ['1', '16', '64']) {
      const t = s.throughput[c];
      expect(t.runs).toHaveLength(1);
      expect(t.runs[0]).toMatchObject({ connections: Number(c) });
      for (const field of ['rps', 'msPerRequest', 'cpuMsPerRequest', 'loadGenCpuShare']) expect(Number.isFinite(t.runs[0][field]), field).toBe(true);
      expect(t.rps).toMatchObject({ n: 1 });
    }
    for (const field of ['p50Ms', 'p99Ms', 'meanMs']) expect(s.latencyC1[field].median).toBeGreaterThan(0);
    expect(s.peakRssMb).toBeGreaterThan(0);
    expect(Array.isArray(r.derived.targets) && Array.isArray(r.derived.ratios)).toBe(true);
  });

  it('writes its charts as SVG', () => {
    const svg = readFileSync(path.join(out, 'bench', 'charts', 'throughput.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('--report rewrites the same report from the saved results, measuring nothing', async () => {
    const again = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-report-'));
    try {
      const r = await runBench(['--report', resultsFile(), '--out', again]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(path.join(again, 'BENCHMARKS.md'), 'utf8')).toBe(readFileSync(path.join(out, 'BENCHMARKS.md'), 'utf8'));
      expect(existsSync(path.join(again, 'bench', 'charts', 'throughput.svg'))).toBe(true);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('--compare prints every shared figure with its change', async () => {
    const file = resultsFile();
    const cmp = await runBench(['--compare', file, file]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toMatch(/\| ceiling-hello req\/s c=64 \| [\d,.]+ \| [\d,.]+ \| \+0\.0 % \|/);
    expect(existsSync(path.join(out, 'bench', 'partial'))).toBe(false);
  });
});
