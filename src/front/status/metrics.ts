// /-/metrics: Prometheus text through prom-client. Every gateway figure is read from the status snapshot when
// a scrape comes, never counted per request through prom-client (whose label lookup per observe() would sit on
// the warm path); the process's own CPU and memory are prom-client's default metrics.
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

type MetricType = 'counter' | 'gauge' | 'histogram';
import { restartReasons } from '../pool/pool-figures.js';
import { bucketTopUs } from './latency-histogram.js';
import type { RequestStats } from './request-stats.js';
import type { StatusSnapshot } from './status-snapshot.js';

/** The latency histogram's `le` bounds, in seconds. */
const latencyBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Value {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

/** A metric whose values are made when it is scraped (prom-client calls get()). */
function readOut(name: string, help: string, type: MetricType, values: () => Value[]): Metric {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) } as unknown as Metric;
}

/** `via` ("pool:/hello", "cgi:/hello", "cgi-script", "static") as the metric labels mount and mode. */
function mountLabels(via: string): { mount: string; mode: string } {
  const colon = via.indexOf(':');
  if (colon > 0) return { mount: via.slice(colon + 1), mode: via.slice(0, colon) };
  return via === 'cgi-script' ? { mount: '/cgi-bin', mode: 'cgi' } : { mount: '/', mode: via };
}

export interface GatewayMetrics {
  readonly contentType: string;
  /** The text of every metric, as of now. */
  scrape(): Promise<string>;
}

export function gatewayMetrics(snapshot: () => StatusSnapshot, stats: RequestStats): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // the standard process_* and nodejs_* names dashboards expect
  let last: StatusSnapshot | null = null;
  // One snapshot per scrape: the first metric read takes it, the others reuse it.
  const snap = () => (last ??= snapshot());
  const add = (name: string, help: string, type: MetricType, values: () => Value[]) => registry.registerMetric(readOut(name, help, type, values));

  add('gatehouse_requests_total', 'Requests answered, by mount, mode and status class (499: the client left first).', 'counter', () =>
    stats.totals().map((t) => ({ value: t.count, labels: { ...mountLabels(t.via), status: t.statusClass } })));
  add('gatehouse_request_duration_seconds', 'Time from a request head to the end of its response.', 'histogram', () => {
    const out: Value[] = [];
    for (const t of stats.totals()) {
      const labels = { ...mountLabels(t.via), status: t.statusClass };
      let b = 0;
      let seen = 0;
      for (const le of latencyBounds) {
        while (b < t.counts.length && bucketTopUs(b) <= le * 1e6) seen += t.counts[b++]!;
        out.push({ metricName: 'gatehouse_request_duration_seconds_bucket', value: seen, labels: { ...labels, le } });
      }
      out.push({ metricName: 'gatehouse_request_duration_seconds_bucket', value: t.count, labels: { ...labels, le: '+Inf' } });
      out.push({ metricName: 'gatehouse_request_duration_seconds_sum', value: t.sumMs / 1000, labels });
      out.push({ metricName: 'gatehouse_request_duration_seconds_count', value: t.count, labels });
    }
    return out;
  });
  add('gatehouse_requests_in_flight', 'Requests being served now.', 'gauge', () => [{ value: snap().server.inFlight }]);
  add('gatehouse_requests_queued', 'Requests waiting for a pool worker or a script slot.', 'gauge', () => [{ value: snap().server.queued }]);
  add('gatehouse_pool_workers', 'Pool worker threads, by state.', 'gauge', () => {
    const counts = new Map<string, number>([['starting', 0], ['idle', 0], ['running', 0], ['retiring', 0]]);
    for (const w of snap().pool?.workers ?? []) counts.set(w.state, counts.get(w.state)! + 1);
    return [...counts].map(([state, value]) => ({ value, labels: { state } }));
  });
  add('gatehouse_pool_worker_restarts_total', 'Pool workers replaced, by reason.', 'counter', () =>
    restartReasons.map((reason) => ({ value: snap().pool?.restarts[reason] ?? 0, labels: { reason } })));
  add('gatehouse_cgi_running', 'CGI programs running now.', 'gauge', () => [{ value: snap().cgi.running.length }]);
  add('gatehouse_cgi_spawned_total', 'CGI programs started.', 'counter', () => [{ value: snap().cgi.spawned }]);
  add('gatehouse_cgi_start_failures_total', 'CGI programs that could not be started.', 'counter', () => [{ value: snap().cgi.startFailed }]);
  add('gatehouse_cgi_timeouts_total', 'CGI programs that stayed silent past --timeout (504, or a cut after headers).', 'counter', () => [{ value: snap().cgi.timedOut }]);
  add('gatehouse_cgi_kills_total', 'CGI programs the gateway killed (timeouts, departed clients, shutdown).', 'counter', () => [{ value: snap().cgi.killed }]);
  add('gatehouse_spawner_restarts_total', 'Times the spawn helper died and was restarted.', 'counter', () => [{ value: snap().cgi.spawner.restarts }]);
  return {
    contentType: registry.contentType,
    async scrape() {
      last = null;
      try {
        return await registry.metrics();
      } finally {
        last = null;
      }
    },
  };
}
