// The progress display on stderr: which subject, which step, how many subjects are left, time elapsed. On a
// terminal the line is rewritten in place; otherwise (CI, a log file) each step is its own line.

const clock = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

export class Progress {
  #t0 = performance.now();
  #index = 0;
  #total;
  #name = '';
  #tty = process.stderr.isTTY;
  #quiet;

  constructor(total, { quiet = false } = {}) {
    this.#total = total;
    this.#quiet = quiet;
  }

  get elapsedMs() {
    return performance.now() - this.#t0;
  }

  /** A new subject begins. */
  subject(name) {
    this.#index++;
    this.#name = name;
    this.step('starting');
  }

  /** A step inside the current subject. */
  step(what) {
    if (this.#quiet) return;
    const left = this.#total - this.#index;
    const line = `[${clock(this.elapsedMs)}] ${this.#index}/${this.#total} ${this.#name}: ${what} (${left} left after this)`;
    if (this.#tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  /** A line that stays (results, failures), whatever the terminal. */
  note(text) {
    if (this.#tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${text}\n`);
  }
}
