// --compare A.json B.json: every figure both runs measured, old → new with its change in per cent.
import { readFileSync } from 'node:fs';
import { auto, table } from './format.mjs';

/** Flattens a results file into `figure name → median`, the same names for every run. */
export function figures(results) {
  const out = new Map();
  const put = (key, v) => {
    if (typeof v === 'number' && Number.isFinite(v)) out.set(key, v);
  };
  for (const [name, r] of Object.entries(results.subjects ?? {})) {
    if (r.error) continue;
    put(`${name} cold start ms`, r.coldStartMs?.median);
    for (const [c, t] of Object.entries(r.throughput ?? {})) {
      put(`${name} req/s c=${c}`, t.rps?.median);
      put(`${name} p99 ms c=${c}`, t.p99Ms?.median);
      put(`${name} CPU ms/request c=${c}`, t.cpuMsPerRequest?.median);
    }
    put(`${name} p50 ms c=1`, r.latencyC1?.p50Ms?.median);
    put(`${name} p99 ms c=1 (probe)`, r.latencyC1?.p99Ms?.median);
    put(`${name} mean ms c=1`, r.latencyC1?.meanMs?.median);
    put(`${name} peak RSS MiB`, r.peakRssMb);
    if (r.kind === 'floor') {
      put(`${name} spawns/s`, r.rps?.median);
      put(`${name} CPU ms/spawn`, r.cpuMsPerRequest?.median);
    }
    if (r.kind === 'design') {
      put(`${name} spawns/s`, r.perSecond?.median);
      put(`${name} caller RSS MiB`, r.rssMb?.median);
    }
    for (const [script, byC] of Object.entries(r.scripts ?? {})) {
      for (const [c, t] of Object.entries(byC)) {
        put(`${name} ${script} req/s c=${c}`, t.rps?.median);
        put(`${name} ${script} p99 ms c=${c}`, t.p99Ms?.median);
      }
    }
    if (r.kind === 'interference') {
      put(`${name} p99 ms alone`, r.alone?.p99Ms?.median);
      put(`${name} p99 ms beside CGI`, r.beside?.p99Ms?.median);
    }
    if (r.kind === 'memory') {
      put(`${name} stream growth MiB`, r.stream?.growthMb?.median);
      put(`${name} upload growth MiB`, r.upload?.growthMb?.median);
    }
  }
  for (const ratio of results.derived?.ratios ?? []) put(`ratio: ${ratio.label}`, ratio.value);
  for (const [k, b] of Object.entries(results.derived?.breakEven ?? {})) put(`break-even requests, ${k}`, b?.requests);
  return out;
}

export function compareFiles(fileA, fileB) {
  const [a, b] = [fileA, fileB].map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const [fa, fb] = [figures(a), figures(b)];
  const rows = [];
  for (const [key, old] of fa) {
    if (!fb.has(key)) continue;
    const now = fb.get(key);
    const change = old === 0 ? (now === 0 ? 0 : Infinity) : ((now - old) / Math.abs(old)) * 100;
    rows.push([key, auto(old), auto(now), Number.isFinite(change) ? `${change >= 0 ? '+' : ''}${change.toFixed(1)} %` : 'new']);
  }
  const onlyOne = [...fa.keys()].filter((k) => !fb.has(k)).length + [...fb.keys()].filter((k) => !fa.has(k)).length;
  return [
    `A: ${fileA} (${a.profile}, ${a.startedAt}, ${a.versions?.gatehouseCommit ?? '?'})`,
    `B: ${fileB} (${b.profile}, ${b.startedAt}, ${b.versions?.gatehouseCommit ?? '?'})`,
    '',
    table(['figure', 'A', 'B', 'change'], rows, 'lrrr'),
    '',
    `${rows.length} figures in both runs${onlyOne ? `; ${onlyOne} in only one of them (not shown)` : ''}.`,
  ].join('\n');
}
