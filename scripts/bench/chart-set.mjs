// Which charts BENCHMARKS.md shows, built from a run's results: file name → SVG text. A chart whose figures
// are all missing (subjects not run) is left out.
import { barChart, lineChart } from './charts.mjs';
import { lighttpdReferenceRps } from './ratios.mjs';
import { ballastMb, importCostsMs } from './subjects.mjs';

const throughputOrder = ['ceiling-hello', 'adapter-hello', 'pool-hello', 'uwsgi-hello', 'gunicorn-hello', 'piscina-hello', 'adapter-add', 'pool-add', 'cgi-hello', 'cgi-add', 'cgi-bin-sh', 'cgi-bin-js', 'python-sh', 'lighttpd-sh'];
const shortName = {
  'ceiling-hello': 'bare node:http', 'adapter-hello': 'adapter hello', 'pool-hello': 'pool hello', 'uwsgi-hello': 'uWSGI hello', 'gunicorn-hello': 'gunicorn hello', 'piscina-hello': 'piscina hello', 'adapter-add': 'adapter add', 'pool-add': 'pool add',
  'cgi-hello': 'CGI hello', 'cgi-add': 'CGI add', 'cgi-bin-sh': 'hello.sh', 'cgi-bin-js': 'hello.js', 'python-sh': 'python: hello.sh', 'lighttpd-sh': 'lighttpd: hello.sh',
};

const good = (s) => s && !s.error;
const anyFinite = (xs) => xs.some((v) => Number.isFinite(v));

export function buildCharts(results) {
  const s = results.subjects;
  const charts = {};

  const shown = throughputOrder.filter((n) => good(s[n]) && s[n].throughput);
  if (shown.length) {
    const series = [1, 16, 64].map((c) => ({ name: `c=${c}`, values: shown.map((n) => s[n].throughput[c]?.rps?.median) }));
    charts['throughput.svg'] = barChart({
      title: 'Warm throughput by subject and concurrency',
      subtitle: 'requests per second, median of runs; log scale (each gridline is 10×)',
      categories: shown.map((n) => shortName[n]), series, yLabel: 'requests / s', log: true,
    });
  }

  const importSeries = (field, mode) => importCostsMs.map((ms) => [ms, good(s[`import-${mode}-${ms}`]) ? field(s[`import-${mode}-${ms}`]) : NaN]);
  const p50 = (r) => r.latencyC1?.p50Ms?.median;
  const cold = (r) => r.coldStartMs?.median;
  const latency = [
    { name: 'CGI mode, p50', points: importSeries(p50, 'cgi'), dots: true, color: '#d62728' },
    { name: 'pool mode, p50', points: importSeries(p50, 'pool'), dots: true, color: '#1f77b4' },
  ];
  if (anyFinite(latency.flatMap((l) => l.points.map((p) => p[1])))) {
    charts['latency-vs-import.svg'] = lineChart({
      title: 'Latency against import cost, CGI vs pool',
      subtitle: 'one client (c=1), p50 per request; log scale',
      series: latency, xLabel: 'CPU the app spends importing (ms)', yLabel: 'ms per request (p50)', logY: true,
    });
    charts['cold-start-vs-import.svg'] = lineChart({
      title: 'Cold start against import cost',
      subtitle: 'from launching the server to its first correct answer, median',
      series: [
        { name: 'CGI mode', points: importSeries(cold, 'cgi'), dots: true, color: '#d62728' },
        { name: 'pool mode', points: importSeries(cold, 'pool'), dots: true, color: '#1f77b4' },
      ],
      xLabel: 'CPU the app spends importing (ms)', yLabel: 'cold start (ms)',
    });
  }

  const be = results.derived?.breakEven ?? {};
  const lines = [];
  const addLines = (label, poolRec, cgiRec, dashed) => {
    if (!good(poolRec) || !good(cgiRec)) return;
    const mean = (r) => r.latencyC1?.meanMs?.median;
    if (![cold(poolRec), cold(cgiRec), mean(poolRec), mean(cgiRec)].every(Number.isFinite)) return;
    lines.push({ label, pool: [cold(poolRec), mean(poolRec)], cgi: [cold(cgiRec), mean(cgiRec)], dashed });
  };
  addLines('add', s['pool-add'], s['cgi-add'], false);
  addLines('import 100 ms', s['import-pool-100'], s['import-cgi-100'], true);
  if (lines.length) {
    const worst = Math.max(...[be.add?.requests, be['import-100']?.requests].filter(Number.isFinite), 0);
    const n = Math.max(20, Math.min(1000, Math.ceil(worst * 4)));
    const series = lines.flatMap(({ label, pool, cgi, dashed }) => [
      { name: `CGI, ${label}`, points: [[0, cgi[0] / 1000], [n, (cgi[0] + n * cgi[1]) / 1000]], dashed, color: '#d62728' },
      { name: `pool, ${label}`, points: [[0, pool[0] / 1000], [n, (pool[0] + n * pool[1]) / 1000]], dashed, color: '#1f77b4' },
    ]);
    const mark = be.add && Number.isFinite(be.add.requests) ? [{ x: be.add.requests, label: `add: pool ahead after ${be.add.requests}` }] : [];
    charts['break-even.svg'] = lineChart({
      title: 'Break-even: total time to serve n requests, one at a time',
      subtitle: 'cold start + n × time per request (c=1); where a pool line drops below its CGI line, the pool has paid for itself',
      series, marks: mark, xLabel: 'requests served since launch', yLabel: 'seconds since launch',
    });
  }

  const sweepSeries = [];
  for (const spawner of results.spawner?.modes ?? []) {
    for (const [script, dashed] of [['sh', false], ['js', true]]) {
      const points = ballastMb.map((mb) => {
        const r = s[`sweep-${mb}mb-${spawner}`];
        return [mb, good(r) ? r.scripts?.[script]?.[8]?.rps?.median : NaN];
      });
      if (anyFinite(points.map((p) => p[1]))) sweepSeries.push({ name: `${script}, spawner ${spawner}`, points, dots: true, dashed, color: spawner === 'direct' ? '#d62728' : '#2ca02c' });
    }
  }
  if (sweepSeries.length) {
    const ref = results.derived?.lighttpdRps ?? { value: lighttpdReferenceRps, measured: false };
    sweepSeries.push({ name: `lighttpd mod_cgi${ref.measured ? '' : ', reference'}`, points: [[ballastMb[0], ref.value], [ballastMb[ballastMb.length - 1], ref.value]], dashed: true, color: '#999' });
    charts['spawn-sweep.svg'] = lineChart({
      title: 'CGI scripts from a pool-mode front that holds memory',
      subtitle: '/cgi-bin/ requests per second at c=8 while the pool workers hold the given MiB; log scale',
      series: sweepSeries, xLabel: 'MiB held by the pool workers (in total)', yLabel: 'requests / s (c=8)', logY: true,
    });
  }
  return charts;
}
