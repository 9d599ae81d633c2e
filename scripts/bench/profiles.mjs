// How long and how often each kind of figure is measured, per bench mode. The full profile is sized to finish
// within 10 minutes on a 2-core machine, --quick within 90 s, --smoke (the test's) within a few seconds.

export const profiles = {
  full: {
    runs: 3, // each figure is the median of this many runs
    coldRuns: 3,
    warmupS: 1, // one discarded load per server before anything is timed
    loadS: 1.5, // one autocannon run
    slowLoadS: 2.5, // subjects that answer < 100 req/s need longer runs for a stable count
    // 1 s runs left the sh rates within noise of each other (spreads of ±20 %); 2 s made the full run 9.9 min.
    sweepLoadS: 1.5,
    sweepSlowLoadS: 1.2, // hello.js in the sweep
    probeS: 1, // one sub-millisecond latency probe
    probeMinRequests: 20,
    floorS: 1.5,
    memoryRuns: 3,
    streamBytes: 1024 ** 3,
    uploadBytes: 100 * 1024 ** 2,
  },
  quick: {
    runs: 3,
    coldRuns: 3,
    warmupS: 0.3,
    loadS: 0.35,
    slowLoadS: 0.5,
    sweepLoadS: 0.5,
    sweepSlowLoadS: 1,
    // The issue-6 sweep at its target concurrency only, and only the shell script.
    sweepConcurrencies: [8],
    sweepScripts: ['sh'],
    probeS: 0.3,
    probeMinRequests: 6,
    floorS: 0.5,
    memoryRuns: 1,
    streamBytes: 1024 ** 3,
    uploadBytes: 100 * 1024 ** 2,
  },
  // One run of everything, as short as still produces numbers: checks the harness, never the speed.
  smoke: {
    runs: 1,
    coldRuns: 1,
    warmupS: 0,
    loadS: 0.5,
    slowLoadS: 1,
    sweepLoadS: 0.3,
    sweepSlowLoadS: 1,
    probeS: 0.3,
    probeMinRequests: 3,
    floorS: 0.3,
    memoryRuns: 1,
    streamBytes: 64 * 1024 ** 2,
    uploadBytes: 16 * 1024 ** 2,
  },
};
