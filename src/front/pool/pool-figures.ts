// The pool as the status page and the metrics see it: its workers, its queue, and why workers were replaced.
import type { Lane, LaneFigures } from './lane.js';

/** Why a worker was replaced, as the status page and the metrics count it. */
export const restartReasons = ['crash', 'memory', 'timeout', 'recycle'] as const;
export type RestartReason = (typeof restartReasons)[number];

export const noRestarts = (): Record<RestartReason, number> => ({ crash: 0, memory: 0, timeout: 0, recycle: 0 });

/** The pool as the status page shows it. */
export interface PoolFigures {
  /** Each worker, with its slot (0 … --workers − 1) and why that slot's earlier workers were replaced. */
  workers: (LaneFigures & { restarts: Record<RestartReason, number> })[];
  /** Admitted requests waiting for room on a worker (those waiting on a worker are counted there). */
  queued: number;
  inFlight: number;
  restarts: Record<RestartReason, number>;
  /** Dispatch paused because workers keep dying, for this many ms more (0: not paused). */
  pausedMs: number;
}

/** What a lane's end counts as; null for an end that is not a restart (the pool stopping, a reload's old pool). */
export function restartReason(lane: Lane): RestartReason | null {
  if (lane.endedBy === 'crash' || lane.endedBy === 'memory') return lane.endedBy;
  if (lane.endedBy !== 'killed') return null;
  const why = lane.killReason;
  return why === 'timeout' ? 'timeout' : why === 'retired' ? 'recycle' : null;
}
