// Issue 6's spawn designs compared with no HTTP: how many times per second each way of starting a program can
// start hello.sh and read its output, `floorParallel` at a time, from a process holding 0 or 400 MiB. Each run is
// a fresh `node spawn-designs.mjs DESIGN SCRIPT SECONDS CONCURRENCY HOLD_MB`, started and stopped like a server
// (its own process group, its whole tree killed when it ends). xargs, the floor, is the floor-sh subject.
import path from 'node:path';
import { floorParallel } from './floor.mjs';
import { runTracked } from './server.mjs';
import { summarize } from './stats.mjs';

/** Allocating the ballast and starting the helper come on top of the timed seconds. */
const startBoundMs = 60_000;

/** One spawn-designs.mjs run; resolves with its JSON line. */
async function designRun(subject, ctx, seconds) {
  const args = [path.join(ctx.benchDir, 'spawn-designs.mjs'), subject.design, subject.script, String(seconds), String(floorParallel), String(subject.holdMb)];
  const r = await runTracked({ name: subject.name, args, cwd: ctx.root, boundMs: startBoundMs + seconds * 1000 * 4 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let out = null;
  try {
    out = JSON.parse(line);
  } catch {
    // reported below with the process's own words
  }
  if (r.code !== 0 || !out || !(out.runs > 0) || !Number.isFinite(out.perSecond)) {
    const why = r.stderr.trimEnd().split('\n').filter(Boolean).slice(-3).join('\n');
    throw new Error(`spawn-designs.mjs ${subject.design} exited ${r.signal ?? r.code}${why ? `:\n${why}` : `, output ${JSON.stringify(line.slice(0, 200))}`}`);
  }
  if (out.design !== subject.design || out.holdMb !== subject.holdMb) throw new Error(`spawn-designs.mjs answered for ${out.design} at ${out.holdMb} MiB`);
  return out;
}

/** One discarded warm-up run (page cache, the helper binary), then `profile.runs` timed runs of `floorS` each. */
export async function measureDesign(subject, ctx, profile, step) {
  const record = {
    name: subject.name, kind: subject.kind, group: subject.group, title: subject.title, design: subject.design, holdMb: subject.holdMb,
    concurrency: floorParallel, secondsPerRun: profile.floorS, error: null,
    command: [process.execPath, path.join(ctx.benchDir, 'spawn-designs.mjs'), subject.design, subject.script, profile.floorS, floorParallel, subject.holdMb].join(' '),
  };
  const warmS = Math.min(profile.warmupS, 0.5);
  record.warmupS = warmS;
  if (warmS > 0) {
    step('warm-up (discarded)');
    await designRun(subject, ctx, warmS);
  }
  const runs = [];
  for (let i = 0; i < profile.runs; i++) {
    step(`run ${i + 1}/${profile.runs}`);
    const r = await designRun(subject, ctx, profile.floorS);
    runs.push({ perSecond: r.perSecond, spawns: r.runs, seconds: r.seconds, rssMb: r.rssMb });
  }
  record.runs = runs;
  record.perSecond = summarize(runs.map((r) => r.perSecond));
  record.rssMb = summarize(runs.map((r) => r.rssMb));
  return record;
}
