'use strict';

// One self-contained HTML file (no scripts or styles from the network) for
// a diff or a leak report: suspects with their retainer paths, and a chart
// of the classes that grew most.

const { formatBytes, formatCount } = require('./format.js');
const { escapeTerminal } = require('./terminal.js');

// Every text from a snapshot is markup-escaped, and its control characters
// (which a browser would drop or, for bidirectional overrides, obey) are shown
// as visible escapes, as in the terminal. Redaction happens in the engine
// (`{ redact: true }`), before any text reaches this file.
function escapeHtml(text) {
  return escapeTerminal(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function nodeLabel(node) {
  const name = node.name && node.name !== node.className ? ` ${node.name.slice(0, 80)}` : '';
  return `${node.className}${name}`;
}

/** A retainer path; a capped one shows "… N steps …" where steps were left out. */
function pathHtml(steps) {
  const items = steps.map((s) => {
    const gap = s.skipped ? `<li class="gap">… ${formatCount(s.skipped)} steps …</li>` : '';
    const edge = s.edgeLabel ? `<code class="edge">${escapeHtml(s.edgeLabel)}</code> ` : '';
    return `${gap}<li>${edge}<span class="node">${escapeHtml(nodeLabel(s.node))}</span> <span class="id">@${s.node.id}</span> <span class="size">${formatBytes(s.node.retainedSize)}</span></li>`;
  });
  return `<ol class="path">${items.join('')}</ol>`;
}

/** Horizontal bar chart of size growth per class, as inline SVG. */
function growthChart(rows) {
  const top = rows.filter((r) => r.sizeDelta > 0).sort((a, b) => b.sizeDelta - a.sizeDelta).slice(0, 12);
  if (top.length === 0) return '<p class="muted">No class grew.</p>';
  const max = top[0].sizeDelta;
  const rowHeight = 26;
  const labelWidth = 260;
  const barWidth = 460;
  const bars = top.map((r, i) => {
    const w = Math.max(2, Math.round((r.sizeDelta / max) * barWidth));
    const y = i * rowHeight;
    return `<g class="bar" transform="translate(0,${y})"><text x="${labelWidth - 8}" y="17" text-anchor="end">${escapeHtml(r.name.slice(0, 38))}</text><rect x="${labelWidth}" y="4" width="${w}" height="18" rx="3"></rect><text x="${labelWidth + w + 6}" y="17">+${escapeHtml(formatBytes(r.sizeDelta))} (${r.countDelta >= 0 ? '+' : ''}${formatCount(r.countDelta)})</text></g>`;
  });
  return `<svg class="chart" role="img" aria-label="Class growth" width="${labelWidth + barWidth + 180}" height="${top.length * rowHeight + 8}" xmlns="http://www.w3.org/2000/svg">${bars.join('')}</svg>`;
}

function diffTable(rows) {
  const top = [...rows].sort((a, b) => Math.abs(b.sizeDelta) - Math.abs(a.sizeDelta)).slice(0, 40);
  const body = top
    .map((r) => `<tr><td>${escapeHtml(r.name)}</td><td>${formatCount(r.addedCount)}</td><td>${formatCount(r.removedCount)}</td><td>${r.countDelta >= 0 ? '+' : ''}${formatCount(r.countDelta)}</td><td>${formatBytes(r.addedSize)}</td><td>${formatBytes(r.removedSize)}</td><td>${r.sizeDelta >= 0 ? '+' : ''}${formatBytes(r.sizeDelta)}</td></tr>`)
    .join('');
  return `<table class="diff"><thead><tr><th>Class</th><th># New</th><th># Deleted</th><th># Delta</th><th>Alloc. size</th><th>Freed size</th><th>Size delta</th></tr></thead><tbody>${body}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2rem;font-size:1.15rem;border-bottom:1px solid #e3e6ee;padding-bottom:.3rem}
.muted{color:#6b7385}.warning{border-left:5px solid #f08c00;background:#fff9db;padding:.5rem .8rem}.suspect{border:1px solid #e3e6ee;border-left:5px solid #d9480f;border-radius:6px;padding:.8rem 1rem;margin:1rem 0;background:#fffaf7}
.suspect.medium{border-left-color:#f08c00}.suspect.low{border-left-color:#868e96}
.kind{display:inline-block;font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;background:#1d2330;color:#fff;border-radius:3px;padding:1px 6px;margin-right:.4rem}
ol.path{margin:.5rem 0 0;padding-left:1.4rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
ol.path li.gap{list-style:none;color:#868e96;font-style:italic}
.edge{color:#0b7285}.id{color:#868e96}.size{color:#5c940d}
table.diff{border-collapse:collapse;width:100%;font-size:13px}table.diff td,table.diff th{border-bottom:1px solid #eceef3;padding:4px 6px;text-align:right}
table.diff td:first-child,table.diff th:first-child{text-align:left}
svg.chart text{font-size:12px;fill:#1d2330}svg.chart rect{fill:#4c6ef5}
table.series{border-collapse:collapse;margin:.6rem 0;font-size:12.5px}table.series td,table.series th{border-bottom:1px solid #eceef3;padding:3px 8px;text-align:right}
table.series th:first-child{text-align:left;font-weight:normal;color:#6b7385}ul.sites{margin:.3rem 0 .5rem;font-size:12.5px}
`;

function page(title, subtitle, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="muted">${escapeHtml(subtitle)}</p>
${body}
<p class="muted">Generated by leakwatch. Heap snapshots contain application data; share this file with care.</p>
</body></html>
`;
}

function signed(n, fmt) {
  return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${fmt(Math.abs(n))}`;
}

/** A suspect across every snapshot: its own size, retained size, and what each interval added that is still alive. */
function seriesTable(s) {
  const n = s.counts.length;
  const head = Array.from({ length: n }, (_, k) => `<th>s${k + 1}</th>`).join('');
  const cell = (v, fmt) => `<td>${v == null ? '—' : escapeHtml(fmt(v))}</td>`;
  const added = ['<td>—</td>', ...s.added.map((v, k) => `<td>${escapeHtml(formatCount(v))} <span class="muted">(${escapeHtml(formatBytes(s.addedBytes[k]))})</span></td>`)].join('');
  return `<table class="series"><thead><tr><th></th>${head}</tr></thead><tbody>
<tr><th>Own size (${escapeHtml(s.kind === 'timers' ? 'owners kept by timers' : s.kind === 'listeners' ? 'listeners' : 'elements, entries or properties')})</th>${s.counts.map((v) => cell(v, formatCount)).join('')}</tr>
<tr><th>Retained size</th>${s.retainedSizes.map((v) => cell(v, formatBytes)).join('')}</tr>
<tr><th>Added since the previous snapshot, still alive</th>${added}</tr>
</tbody></table>`;
}

function sitesHtml(sites) {
  if (!sites || sites.length === 0) return '';
  const items = sites.map((a) => {
    const caller = a.appFrame ? ` <span class="muted">from ${escapeHtml(a.appFrame.functionName || '(anonymous)')} (${escapeHtml(a.appFrame.script)}:${a.appFrame.line})</span>` : '';
    return `<li><code>${escapeHtml(a.functionName || '(anonymous)')}</code> ${escapeHtml(a.script)}:${a.line} — ${escapeHtml(formatCount(a.count))} objects, ${escapeHtml(formatBytes(a.bytes))}${caller}</li>`;
  });
  return `<div class="muted">Allocated in:</div><ul class="sites">${items.join('')}</ul>`;
}

/** Node count and total size of every snapshot, with the change from the one before. */
function totalsTable(files, totals) {
  if (!totals || totals.length === 0) return '';
  const rows = totals.map((t, k) => {
    const prev = totals[k - 1];
    const delta = prev ? `${signed(t.nodeCount - prev.nodeCount, formatCount)} / ${signed(t.totalSize - prev.totalSize, formatBytes)}` : '';
    return `<tr><td>s${k + 1}</td><td>${escapeHtml(files[k] ?? '')}</td><td>${escapeHtml(formatCount(t.nodeCount))}</td><td>${escapeHtml(formatBytes(t.totalSize))}</td><td>${escapeHtml(delta)}</td><td>${t.tracked ? 'yes' : 'no'}</td></tr>`;
  });
  return `<h2>Snapshots</h2><table class="diff totals"><thead><tr><th>Snapshot</th><th>File</th><th>Nodes</th><th>Total size</th><th>Change</th><th>Allocation stacks</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function leaksReport({ files, suspects, diff, totals = suspects.snapshots, notes = suspects.notes }) {
  const n = totals ? totals.length : files.length;
  const cards = suspects.length
    ? suspects
        .map(
          (s, i) => `<section class="suspect ${s.confidence}" id="suspect-${i + 1}"><div><span class="kind">${escapeHtml(s.kind)}</span><strong>${i + 1}. ${escapeHtml(s.holder.className)}${s.holderName ? ` <code>${escapeHtml(s.holderName)}</code>` : ''}</strong>${s.holders > 1 ? ` <span class="muted">× ${escapeHtml(formatCount(s.holders))} holders of one shape</span>` : ''} <span class="muted">${escapeHtml(s.confidence)} confidence, +${formatBytes(s.growth)}</span></div>
<p class="explanation">${escapeHtml(s.explanation)}</p>
<p class="muted evidence">${escapeHtml(s.evidence ?? '')}</p>
${s.counts ? seriesTable(s) : ''}
${sitesHtml(s.allocationSites)}
<div class="muted">Retained by${s.holders > 1 ? ' (one example)' : ''}:</div>${pathHtml(s.retainerPath)}</section>`,
        )
        .join('\n')
    : `<p class="none">No leak suspects: nothing grew at every step across the ${n} snapshots.</p>`;
  const notesHtml = notes && notes.length ? `<h2>Node's own queues</h2><ul class="notes">${notes.map((x) => `<li>${escapeHtml(x.text)}</li>`).join('')}</ul>` : '';
  const body = `${totalsTable(files, totals)}<h2>Leak suspects (${suspects.length})</h2>${cards}${notesHtml}<h2>Classes that grew from snapshot 1 to ${n}</h2>${growthChart(diff)}<h2>Comparison, snapshot 1 → ${n}</h2>${diffTable(diff)}`;
  return page('leakwatch: leak report', files.join('  →  '), body);
}

function diffReport({ files, diff, sequence = diff.sequence }) {
  const warning = sequence ? `<p class="warning">${escapeHtml(sequence.message)} (${escapeHtml(sequence.code)})</p>` : '';
  const body = `${warning}<h2>Classes that grew</h2>${growthChart(diff)}<h2>Comparison</h2>${diffTable(diff)}`;
  return page('leakwatch: snapshot comparison', files.join('  →  '), body);
}

function snapshotReport({ file, report }) {
  const classes = report.classes
    .map((c) => `<tr><td>${escapeHtml(c.name)}</td><td>${formatCount(c.count)}</td><td>${formatBytes(c.selfSize)}</td><td>${formatBytes(c.retainedSize)}</td></tr>`)
    .join('');
  const top = report.top
    .map((t, i) => `<section class="suspect low" id="object-${i + 1}"><div><strong>${i + 1}. ${escapeHtml(nodeLabel(t.node))}</strong> <span class="id">@${t.node.id}</span> <span class="muted">${formatBytes(t.node.retainedSize)} retained, ${formatBytes(t.node.selfSize)} shallow</span></div>
<div class="muted">Retained by:</div>${pathHtml(t.retainerPath)}</section>`)
    .join('\n');
  const body = `<p>${formatCount(report.nodeCount)} nodes, ${formatCount(report.edgeCount)} edges, ${formatBytes(report.totalSize)} total</p>
<h2>Largest objects (${report.top.length})</h2>${top}
<h2>Classes by retained size (${report.classes.length})</h2><table class="diff"><thead><tr><th>Class</th><th>Count</th><th>Shallow size</th><th>Retained size</th></tr></thead><tbody>${classes}</tbody></table>`;
  return page('leakwatch: heap snapshot', file, body);
}

module.exports = { leaksReport, diffReport, snapshotReport, escapeHtml, nodeLabel, pathHtml };
