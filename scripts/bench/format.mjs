// Number and table formatting shared by the report, the explanation and --compare.

/** A number with thousands separators and `digits` decimals; '–' for a missing figure. */
export function fmt(v, digits = 0) {
  if (v === Infinity) return 'never';
  if (v == null || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Enough decimals to show a figure's size: 12,345 · 123 · 12.3 · 1.23 · 0.123 */
export function auto(v) {
  if (v == null || !Number.isFinite(v)) return fmt(v);
  const a = Math.abs(v);
  return fmt(v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

/** A summary as "median (min–max)"; just the median when all runs agree or there was one run. */
export function spread(summary, f = auto) {
  if (!summary) return '–';
  if (summary.n <= 1 || summary.min === summary.max) return f(summary.median);
  return `${f(summary.median)} <sub>${f(summary.min)}–${f(summary.max)}</sub>`;
}

/** A Markdown table; `align` is a string of 'l'/'r' per column. */
export function table(headers, rows, align = '') {
  const sep = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  const line = (cells) => `| ${cells.map((c) => String(c ?? '–').replaceAll('|', '\\|').replaceAll('\n', ' ')).join(' | ')} |`;
  return [line(headers), `|${sep.join('|')}|`, ...rows.map(line)].join('\n');
}

/** "1.23×" or "0.042 ms" — a target's value in its unit. */
export function withUnit(v, unit) {
  if (v == null || !Number.isFinite(v)) return '–';
  if (unit === '×') return `${auto(v)}×`;
  return `${auto(v)} ${unit}`;
}
