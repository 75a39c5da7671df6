'use strict';

// Plain-text rendering shared by the CLI and assertion messages.

// Sizes as DevTools prints them: decimal units (1 kB = 1000 B), one decimal
// below 100 of a unit and none from 100 up, so figures can be compared with
// the Memory tab side by side. Where DevTools would print "1,000 kB" we move
// up a unit ("1.0 MB"), and past MB we go on to GB and TB, which DevTools
// never needs (it cannot open heaps that large).
const UNITS = ['kB', 'MB', 'GB', 'TB'];
// Intl rounds the shortest decimal form (1.15 -> 1.2) as DevTools does;
// toFixed rounds the binary value (1.15 -> 1.1).
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
const noDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0, useGrouping: false });

function formatBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 999.5) return `${sign}${noDecimal.format(v)} B`;
  v /= 1000;
  let u = 0;
  while (v >= 999.5 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${sign}${(v < 100 ? oneDecimal : noDecimal).format(v)} ${UNITS[u]}`;
}

function formatCount(n) {
  return Number(n).toLocaleString('en-US');
}

function truncate(text, max) {
  const s = String(text).replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Renders rows as an aligned table; `columns` are {title, align, get}. */
function table(columns, rows) {
  const cells = rows.map((r) => columns.map((c) => String(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const pad = (text, i) => (columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const lines = [columns.map((c, i) => pad(c.title, i)).join('  ').trimEnd()];
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) lines.push(row.map(pad).join('  ').trimEnd());
  return lines.join('\n');
}

/**
 * A retainer path as one line per step: `global .requestLog → Array [0] → Object`;
 * a capped path shows `… N steps …` where steps were left out.
 */
function formatPath(steps, { indent = '  ', maxName = 60 } = {}) {
  return steps
    .map((s, i) => {
      const edge = s.edgeLabel ? `${s.edgeLabel} ` : '';
      const name = truncate(s.node.name || s.node.className, maxName);
      const label = s.node.className && s.node.className !== name ? `${s.node.className} ${name}` : name;
      const gap = s.skipped ? `${indent}  … ${formatCount(s.skipped)} steps …\n` : '';
      return `${gap}${indent}${i === 0 ? '' : '→ '}${edge}${truncate(label, maxName + 30)} @${s.node.id} (${formatBytes(s.node.retainedSize)} retained)`;
    })
    .join('\n');
}

module.exports = { formatBytes, formatCount, truncate, table, formatPath };
