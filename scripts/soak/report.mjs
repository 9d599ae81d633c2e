// RELIABILITY.md from one soak run: the machine, then per scenario what was sent, what came back, and each check.
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { root } from './gateway.mjs';
import { mib } from './scenarios/overload.mjs';

export function commit() {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** `at`: the commit read when the run began (the tree may move on while it runs). */
export function writeReport(file, { rows, short, started, machine, seconds, at }) {
  const lines = [
    '# Reliability',
    '',
    `Written by \`npm run soak${short ? ' -- --short' : ''}\` on ${started.toISOString().slice(0, 10)} at commit ${at}, in ${(seconds / 60).toFixed(1)} min. Machine: ${machine}.`,
    '',
    'Every scenario starts the real gateway (`bin/gatehouse.js`, default flags unless named) on loopback, drives it for a bounded time,',
    'and accounts for every request it sent: answered (by status), **cut** (the connection failed after the request was sent) or',
    '**lost** (sent, neither answered nor cut within the bound). After each: zombies, leftover processes of its process group, its temp',
    'files, and its memory once quiet. `npm run soak` exits 1 when any check below fails.',
    '',
    '| scenario | sent | answers | cut | lost | peak RSS MiB | RSS idle → after MiB | time |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const t = r.tally;
    const answers = t ? Object.entries(t.byStatus).map(([s, n]) => `${n.toLocaleString('en-US')} × ${s}`).join(', ') : '–';
    lines.push(`| ${r.title} | ${t ? t.sent.toLocaleString('en-US') : '–'} | ${answers} | ${t ? t.cut : '–'} | ${t ? t.lost : '–'} | ${r.peakRss ? mib(r.peakRss) : '–'} | ${r.idleRss ? `${mib(r.idleRss)} → ${Number.isNaN(r.rssAfter) ? '(stopped)' : mib(r.rssAfter)}` : '–'} | ${r.seconds.toFixed(0)} s |`);
  }
  for (const r of rows) {
    lines.push('', `## ${r.title}`, '', r.detail, '', '| check | held | figure |', '|---|---|---|');
    for (const [what, ok, figure] of r.checks) lines.push(`| ${what} | ${ok ? 'yes' : '**NO**'} | ${String(figure).replaceAll('|', '\\|')} |`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
