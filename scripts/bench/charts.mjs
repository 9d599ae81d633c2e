// Hand-written SVG charts for BENCHMARKS.md: grouped bars and lines, linear or log scale. No dependency: a chart
// is a few rectangles, polylines and labels, and the files stay small and diffable.

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const font = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Short number labels: 12,345 → "12.3k", 0.042 → "0.042". */
export function shortNumber(v) {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return String(Math.round(v));
  return String(+v.toPrecision(2));
}

/** A scale from data to pixels; log scales snap to decades so gridlines read 1, 10, 100… */
function scale(values, [pxLow, pxHigh], log) {
  const xs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  if (!xs.length) [lo, hi] = [0, 1];
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (hi === lo) hi = lo * 10;
    const f = (v) => pxLow + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (pxHigh - pxLow);
    const ticks = [];
    for (let d = lo; d <= hi * 1.0001; d *= 10) ticks.push(d);
    return { f, ticks, lo, hi };
  }
  lo = Math.min(0, lo);
  const step = niceStep((hi - lo) / 5 || 1);
  hi = Math.ceil(hi / step) * step || step;
  const f = (v) => pxLow + ((v - lo) / (hi - lo)) * (pxHigh - pxLow);
  const ticks = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(+t.toPrecision(12));
  return { f, ticks, lo, hi };
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

function frame({ width, height, title, subtitle }) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
    subtitle ? `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(subtitle)}</text>` : '',
  ];
}

function yAxis(out, y, { left, right, label, top, bottom }) {
  for (const t of y.ticks) {
    const py = y.f(t);
    out.push(`<line x1="${left}" x2="${right}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${py + 4}" text-anchor="end" fill="#333">${shortNumber(t)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(label)}</text>`);
}

function legend(out, series, x, y) {
  series.forEach((s, i) => {
    const ly = y + i * 18;
    const color = s.color ?? palette[i % palette.length];
    out.push(`<line x1="${x}" x2="${x + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="${s.bar ? 10 : 2.5}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${x + 28}" y="${ly + 4}" fill="#333">${esc(s.name)}</text>`);
  });
}

/**
 * Grouped bars: one group per category, one bar per series (a missing value leaves a gap). Each bar carries
 * its value, so the chart can be read without the table.
 */
export function barChart({ title, subtitle, categories, series, yLabel, log = false, width = 860, height = 460 }) {
  const left = 70;
  const right = width - 170;
  const top = 56;
  const bottom = height - 90;
  const out = frame({ width, height, title, subtitle });
  const y = scale(series.flatMap((s) => s.values), [bottom, top], log);
  yAxis(out, y, { left, right, label: yLabel, top, bottom });
  const groupW = (right - left) / categories.length;
  const barW = Math.min(28, (groupW * 0.8) / series.length);
  categories.forEach((cat, ci) => {
    const gx = left + ci * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (!Number.isFinite(v) || (log && v <= 0)) return;
      const x = gx + si * barW;
      const py = y.f(v);
      const color = s.color ?? palette[si % palette.length];
      out.push(`<rect x="${x.toFixed(1)}" y="${py.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(bottom - py).toFixed(1)}" fill="${color}"><title>${esc(`${cat}, ${s.name}: ${v}`)}</title></rect>`);
      out.push(`<text transform="translate(${(x + barW / 2).toFixed(1)} ${(py - 4).toFixed(1)}) rotate(-90)" font-size="10" fill="#333">${shortNumber(v)}</text>`);
    });
    const cx = left + ci * groupW + groupW / 2;
    out.push(`<text transform="translate(${cx.toFixed(1)} ${bottom + 14}) rotate(20)" font-size="11" fill="#333">${esc(cat)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  legend(out, series.map((s) => ({ ...s, bar: true })), right + 16, top + 8);
  out.push('</svg>');
  return `${out.filter(Boolean).join('\n')}\n`;
}

/** Lines through points `[x, y]`; `marks` are labelled vertical rules (e.g. the break-even point). */
export function lineChart({ title, subtitle, series, xLabel, yLabel, logY = false, marks = [], width = 860, height = 440 }) {
  const left = 70;
  const right = width - 240;
  const top = 56;
  const bottom = height - 60;
  const out = frame({ width, height, title, subtitle });
  const pts = series.flatMap((s) => s.points);
  const x = scale(pts.map((p) => p[0]), [left, right], false);
  const y = scale(pts.map((p) => p[1]), [bottom, top], logY);
  yAxis(out, y, { left, right, label: yLabel, top, bottom });
  for (const t of x.ticks) {
    const px = x.f(t);
    out.push(`<line x1="${px}" x2="${px}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${bottom + 18}" text-anchor="middle" fill="#333">${shortNumber(t)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${height - 20}" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`);
  for (const m of marks) {
    if (!Number.isFinite(m.x) || m.x < x.lo || m.x > x.hi) continue;
    const px = x.f(m.x);
    out.push(`<line x1="${px}" x2="${px}" y1="${top}" y2="${bottom}" stroke="#888" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${px + 4}" y="${top + 12}" fill="#555">${esc(m.label)}</text>`);
  }
  series.forEach((s, i) => {
    const color = s.color ?? palette[i % palette.length];
    const usable = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py) && (!logY || py > 0));
    const d = usable.map(([px, py]) => `${x.f(px).toFixed(1)},${y.f(py).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (s.dots) {
      for (const [px, py] of usable) out.push(`<circle cx="${x.f(px).toFixed(1)}" cy="${y.f(py).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${s.name}: ${shortNumber(px)} → ${shortNumber(py)}`)}</title></circle>`);
    }
  });
  legend(out, series, right + 16, top + 8);
  out.push('</svg>');
  return `${out.filter(Boolean).join('\n')}\n`;
}
