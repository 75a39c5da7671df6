'use strict';

// Plain-text rendering shared by the CLI and assertion messages.

// Sizes as DevTools prints them: decimal units (1 kB = 1000 B), one decimal
// below 100 of a unit and none from 100 up, so figures can be compared with
// the Memory tab side by side. DevTools stops at MB; GB and TB continue the
// same rule for the multi-gigabyte heaps it cannot open.
const UNITS = ['kB', 'MB', 'GB', 'TB'];

function formatBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1000) return `${sign}${v} B`;
  let u = -1;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${sign}${v.toFixed(v < 100 ? 1 : 0)} ${UNITS[u]}`;
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

/** A retainer path as one line per step: `global .requestLog → Array [0] → Object`. */
function formatPath(steps, { indent = '  ', maxName = 60 } = {}) {
  return steps
    .map((s, i) => {
      const edge = s.edgeLabel ? `${s.edgeLabel} ` : '';
      const name = truncate(s.node.name || s.node.className, maxName);
      const label = s.node.className && s.node.className !== name ? `${s.node.className} ${name}` : name;
      return `${indent}${i === 0 ? '' : '→ '}${edge}${truncate(label, maxName + 30)} @${s.node.id} (${formatBytes(s.node.retainedSize)} retained)`;
    })
    .join('\n');
}

module.exports = { formatBytes, formatCount, truncate, table, formatPath };
