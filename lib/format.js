'use strict';

// Plain-text rendering shared by the CLI and assertion messages.

function formatBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  let v = abs;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
  return n < 0 ? `-${text}` : text;
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
