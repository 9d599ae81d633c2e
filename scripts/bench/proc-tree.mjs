// A process tree read from /proc: the server and every descendant (CGI children, a spawn helper), with the
// tree's resident memory and CPU time. Linux only: the bench needs /proc anyway.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const ticksPerSecond = Number(getconf('CLK_TCK')) || 100;
const pageBytes = Number(getconf('PAGESIZE')) || 4096;

function getconf(name) {
  try {
    return execFileSync('getconf', [name], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * One process's /proc/PID/stat: rss and the four CPU counters, or null if it is gone. The command name may hold
 * spaces and parentheses, so fields are counted from the last ')'.
 */
export function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14 → f[11], stime f[12], cutime f[13], cstime f[14], rss field 24 → f[21].
  return {
    state: f[0],
    ppid: Number(f[1]),
    // cutime/cstime hold the CPU of children this process has reaped: short CGI children that lived between two
    // samples are counted there, once their parent has waited for them.
    cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    rssBytes: Number(f[21]) * pageBytes,
    // Start time (field 22): with the pid, it names a process uniquely even after pids are recycled.
    startTime: f[19],
  };
}

/** Children of every thread of `pid` (a child forked from a worker thread is listed under that thread). */
function childrenOf(pid) {
  const out = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export class ProcTree {
  #peakRss = 0;
  #timer = null;

  constructor(rootPid) {
    this.rootPid = rootPid;
  }

  /** Every live pid in the tree, root first. */
  pids() {
    const seen = [this.rootPid];
    for (let i = 0; i < seen.length; i++) for (const c of childrenOf(seen[i])) seen.push(c);
    return seen;
  }

  /** Sum of RSS (shared pages counted once per process, as `ps` would), CPU ms, and how many processes. */
  sample() {
    let rssBytes = 0;
    let cpuTicks = 0;
    let count = 0;
    for (const pid of this.pids()) {
      const s = readStat(pid);
      if (!s) continue;
      count++;
      rssBytes += s.rssBytes;
      cpuTicks += s.cpuTicks;
    }
    if (rssBytes > this.#peakRss) this.#peakRss = rssBytes;
    return { rssBytes, cpuMs: (cpuTicks * 1000) / ticksPerSecond, count };
  }

  /** Samples every `everyMs` until stopSampling(); the timer never keeps the bench alive. */
  startSampling(everyMs = 50) {
    this.stopSampling();
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
  }

  stopSampling() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  get peakRssBytes() {
    return this.#peakRss;
  }

  resetPeak() {
    this.#peakRss = 0;
    this.sample();
  }

  /**
   * Resets the kernel's per-process high-water mark (VmHWM) of every process in the tree, so a later
   * hwmBytes() is the exact peak since now, not one a 50 ms sample could miss. Needs root or ownership.
   */
  resetHighWaterMarks() {
    let ok = true;
    for (const pid of this.pids()) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        ok = false;
      }
    }
    return ok;
  }

  /** Σ VmHWM over the tree: an upper bound of the tree's peak (each process's own peak, whenever it was). */
  hwmBytes() {
    let total = 0;
    for (const pid of this.pids()) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      } catch {
        // gone
      }
    }
    return total;
  }
}

/** CPU ms this process's reaped children have used (floors run as children of the bench). */
export function reapedChildrenCpuMs() {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / ticksPerSecond;
}
