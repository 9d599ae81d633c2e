// The trade-off in plain words, for a student who has just learned CGI — every number in it comes from the run,
// and a sentence whose figures are missing is left out rather than guessed.
import { auto, fmt } from './format.mjs';

const good = (s) => s && !s.error;
const all = (...xs) => xs.every((x) => Number.isFinite(x));

export function explain(results) {
  const s = results.subjects;
  const v = (name, f) => (good(s[name]) ? f(s[name]) : undefined);
  const c1 = (r) => r.latencyC1?.meanMs?.median;
  const rps16 = (r) => r.throughput?.[16]?.rps?.median;
  const cpu16 = (r) => r.throughput?.[16]?.cpuMsPerRequest?.median;
  const cold = (r) => r.coldStartMs?.median;
  const floorMs = (name) => v(name, (r) => r.msPerRequest?.median);
  const floorCpu = (name) => v(name, (r) => r.cpuMsPerRequest?.median);
  const out = [];

  const cgiMs = v('cgi-add', c1);
  const cgiCpu = v('cgi-add', cpu16);
  const ceilingMs = v('adapter-add', c1);
  if (all(cgiMs, ceilingMs)) {
    out.push(`A CGI server starts a new program for every request. For the adding machine that program is a fresh \`node\`: each request here took ${auto(cgiMs)} ms with one client${Number.isFinite(cgiCpu) ? ` and cost ${auto(cgiCpu)} ms of CPU` : ''}, while the very same app function, called inside an already-running server, answered in ${auto(ceilingMs)} ms. Almost all of a CGI request is starting Node and importing the app; the app's own work is a rounding error.`);
  }
  const fAdd = floorCpu('floor-add');
  const fSh = floorCpu('floor-sh');
  if (all(fAdd, fSh)) {
    out.push(`How much that start-up costs depends on the program: with no web server involved at all, starting the app's Node child cost ${auto(fAdd)} ms of CPU, a shell script ${auto(fSh)} ms. That is why CGI was fine for small C programs and shell scripts, and why it hurts with a heavy runtime.`);
  }
  const poolCold = v('pool-add', cold);
  const cgiCold = v('cgi-add', cold);
  const poolMs = v('pool-add', c1);
  const be = results.derived?.breakEven?.add;
  if (all(poolCold, cgiCold, poolMs, cgiMs) && be) {
    const when = be.requests === 0 ? 'from the very first request' : `after ${fmt(be.requests)} request${be.requests === 1 ? '' : 's'}`;
    out.push(`Pool mode (the FastCGI/WSGI idea) pays the start-up once: its cold start was ${auto(poolCold)} ms against CGI mode's ${auto(cgiCold)} ms, and after that each request took ${auto(poolMs)} ms instead of ${auto(cgiMs)} ms. So the pool is ahead ${when}, and stays ahead for as long as it runs.`);
  }
  const poolRps = v('pool-add', rps16);
  const cgiRps = v('cgi-add', rps16);
  if (all(poolRps, cgiRps)) {
    out.push(`Under load the gap is the same story: with 16 clients the pool served ${fmt(poolRps)} requests per second and CGI mode ${fmt(cgiRps)} — ${fmt(poolRps / cgiRps)} times as many, on the same ${results.machine.cores} cores, because CGI spends them starting processes.`);
  }
  const heavyCgi = v('import-cgi-100', c1);
  const heavyPool = v('import-pool-100', c1);
  const heavyPoolCold = v('import-pool-100', cold);
  if (all(heavyCgi, heavyPool, heavyPoolCold)) {
    out.push(`A bigger framework makes it worse for CGI only: with an app whose import takes 100 ms of CPU, every CGI request took ${auto(heavyCgi)} ms, while the pool paid the import once per worker at start (cold start ${auto(heavyPoolCold)} ms) and then answered in ${auto(heavyPool)} ms.`);
  }
  const sh = v('cgi-bin-sh', rps16);
  const py = v('python-sh', rps16);
  if (all(sh, py)) {
    out.push(`CGI is still the right tool for small scripts that run rarely: Gatehouse served the shell script at ${fmt(sh)} requests per second (Python's classic \`http.server --cgi\` managed ${fmt(py)}), with nothing to keep warm in between.`);
  }
  const ratio = results.derived?.ratios?.find((r) => r.id === 'pool-vs-ceiling-hello-c64')?.value;
  if (Number.isFinite(ratio)) {
    out.push(`The pool is not free either: handing each request to a worker thread and back costs something, so the pool reached ${fmt(ratio * 100)} % of what a bare \`node:http\` server sending the same bytes does (its ceiling) at 64 clients.`);
  }
  if (!out.length) return 'Not enough subjects ran for an explanation (it needs the add app in both modes and its ceiling).';
  return out.join('\n\n');
}
