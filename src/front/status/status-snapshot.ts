// One picture of the gateway at this moment, from every part that keeps figures: what the status page shows,
// its JSON, and what the metrics are read from. Nothing in it shows an environment, a body, a query string or
// a header: requests appear by id and decoded path only.
import type { CgiFigures } from '../cgi/host.js';
import type { SpawnerFigures } from '../cgi/spawn.js';
import type { PoolFigures } from '../pool/pool-figures.js';
import type { MountFigures, RequestStats, SecondFigures, StatusClass } from './request-stats.js';

/** Where the figures come from: the gateway hands these in. */
export interface StatusSources {
  mode: 'cgi' | 'pool';
  version: string;
  url: () => string;
  stats: RequestStats;
  inFlight: () => number;
  draining: () => boolean;
  pool: () => PoolFigures | null;
  cgi: () => CgiFigures;
  cgiLimits: () => { now: number; max: number; why: string; running: number; queued: number };
  spawner: () => SpawnerFigures;
}

export interface StatusSnapshot {
  server: {
    mode: 'cgi' | 'pool';
    version: string;
    url: string;
    pid: number;
    uptimeS: number;
    draining: boolean;
    requests: number;
    inFlight: number;
    /** Waiting for a pool worker or a script slot. */
    queued: number;
    byStatus: Record<StatusClass, number>;
    /** 503 answers (a full queue, a paused or closing pool). */
    unavailable: number;
    /** Requests a second over the last 5 whole seconds. */
    rps: number;
  };
  /** The last minute, a second a row, oldest first. */
  history: SecondFigures[];
  mounts: MountFigures[];
  pool: PoolFigures | null;
  cgi: CgiFigures & { slots: { now: number; max: number; why: string; running: number; queued: number }; spawner: SpawnerFigures };
}

export function takeSnapshot(s: StatusSources): StatusSnapshot {
  const history = s.stats.history();
  const pool = s.pool();
  const slots = s.cgiLimits();
  const lastFive = history.slice(-6, -1); // whole seconds: the current one is still filling
  return {
    server: {
      mode: s.mode,
      version: s.version,
      url: s.url(),
      pid: process.pid,
      uptimeS: Math.round(process.uptime()),
      draining: s.draining(),
      requests: s.stats.requests,
      inFlight: s.inFlight(),
      queued: (pool?.queued ?? 0) + (pool?.workers.reduce((n, w) => n + w.waiting, 0) ?? 0) + slots.queued,
      byStatus: s.stats.byClass(),
      unavailable: s.stats.unavailable,
      rps: lastFive.reduce((n, r) => n + r.requests, 0) / Math.max(1, lastFive.length),
    },
    history,
    mounts: s.stats.mounts(),
    pool,
    cgi: { ...s.cgi(), slots, spawner: s.spawner() },
  };
}
