#!/usr/bin/env node
'use strict';

// leakwatch command line: analyze a snapshot, compare two, or find leaks
// across three. Output is a table on stdout, JSON with --json, or a
// self-contained HTML file with --html; progress goes to stderr only on a
// terminal; bad input exits 2 with one line.

const fs = require('node:fs');
const path = require('node:path');
const leakwatch = require('../index.js');
const { formatBytes, formatCount, table, truncate, formatPath } = require('../lib/format.js');
const { leaksReport, diffReport, nodeLabel } = require('../lib/html-report.js');

const USAGE = `usage: leakwatch <command> [options]

commands:
  analyze <file.heapsnapshot> [--top N] [--classes N] [--json]
      totals, the class summary, and the N largest objects with the path that retains each

  diff <before.heapsnapshot> <after.heapsnapshot> [--json] [--html FILE]
      per class: objects allocated and freed between the two (DevTools' Comparison view)
  leaks <s1> <s2> <s3> [<s4> …] [--json] [--html FILE]
      leak suspects from three snapshots of one process, oldest first

options:
  --json       machine-readable output on stdout
  --html FILE  also write a self-contained HTML report
  --redact     hide string contents (snapshots contain application data)
  --top N      objects to list (default 10)
  --classes N  classes to list (default 25)
  -h, --help   this text`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { _: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
    else if (a === '--redact') opts.redact = true;
    else if (a === '--html') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError('--html needs a file name');
      opts.html = v;
    }
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--top' || a === '--classes') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${a} needs a non-negative integer`);
      opts[a.slice(2)] = Number(v);
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else opts._.push(a);
  }
  return opts;
}

function progressReporter(label) {
  if (!process.stderr.isTTY) return { onProgress: undefined, done() {} };
  let last = '';
  return {
    onProgress(p) {
      const pct = p.phase === 'parse' && p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
      const line = `${label}: ${p.phase}${pct}`;
      if (line !== last) {
        process.stderr.write(`\r\x1b[K${line}`);
        last = line;
      }
    },
    done() {
      if (last) process.stderr.write('\r\x1b[K');
    },
  };
}

function printReport(file, report) {
  const out = [];
  out.push(`${path.basename(file)}: ${formatCount(report.nodeCount)} nodes, ${formatCount(report.edgeCount)} edges, ${formatBytes(report.totalSize)} total`);
  out.push('');
  out.push(
    table(
      [
        { title: 'Class', get: (c) => truncate(c.name, 50) },
        { title: 'Count', align: 'right', get: (c) => formatCount(c.count) },
        { title: 'Shallow', align: 'right', get: (c) => formatBytes(c.selfSize) },
        { title: 'Retained', align: 'right', get: (c) => formatBytes(c.retainedSize) },
        { title: 'Distance', align: 'right', get: (c) => (c.distance < 0 ? '-' : c.distance >= 1e8 ? `sys+${c.distance - 1e8}` : c.distance) },
      ],
      report.classes,
    ),
  );
  out.push('');
  out.push(`Largest objects by retained size:`);
  report.top.forEach((t, i) => {
    out.push(`${i + 1}. ${truncate(t.node.className, 40)} @${t.node.id}: ${formatBytes(t.node.retainedSize)} retained, ${formatBytes(t.node.selfSize)} shallow`);
    if (t.retainerPath.length > 1) out.push(formatPath(t.retainerPath, { indent: '     ' }));
  });
  process.stdout.write(`${out.join('\n')}\n`);
}

async function analyze(opts) {
  if (opts._.length !== 1) throw new UsageError('analyze needs exactly one snapshot file');
  const file = opts._[0];
  const progress = progressReporter('analyzing');
  try {
    const snapshot = await leakwatch.loadSnapshot(file, { onProgress: progress.onProgress });
    progress.done();
    const report = snapshot.report({ top: opts.top ?? 10, maxClasses: opts.classes ?? 25 });
    snapshot.close();
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(file, report);
  } finally {
    progress.done();
  }
}

function redactSteps(steps, redact) {
  if (!redact) return steps;
  return steps.map((s) => ({ ...s, node: { ...s.node, name: nodeLabel(s.node, true) } }));
}

function writeHtml(file, html) {
  fs.writeFileSync(file, html, { mode: 0o600 });
  process.stderr.write(`report written to ${file}\n`);
}

function printDiff(rows, limit) {
  const top = [...rows].sort((a, b) => Math.abs(b.sizeDelta) - Math.abs(a.sizeDelta)).slice(0, limit);
  process.stdout.write(
    `${table(
      [
        { title: 'Class', get: (r) => truncate(r.name, 45) },
        { title: '# New', align: 'right', get: (r) => formatCount(r.addedCount) },
        { title: '# Deleted', align: 'right', get: (r) => formatCount(r.removedCount) },
        { title: '# Delta', align: 'right', get: (r) => `${r.countDelta >= 0 ? '+' : ''}${formatCount(r.countDelta)}` },
        { title: 'Alloc.', align: 'right', get: (r) => formatBytes(r.addedSize) },
        { title: 'Freed', align: 'right', get: (r) => formatBytes(r.removedSize) },
        { title: 'Size delta', align: 'right', get: (r) => `${r.sizeDelta >= 0 ? '+' : ''}${formatBytes(r.sizeDelta)}` },
      ],
      top,
    )}\n`,
  );
}

function plainDiff(rows) {
  return rows.map(({ addedIds, removedIds, ...rest }) => ({ ...rest, addedIds: [...addedIds], removedIds: [...removedIds] }));
}

async function diff(opts) {
  if (opts._.length !== 2) throw new UsageError('diff needs two snapshot files: before and after');
  const rows = await leakwatch.diffSnapshots(opts._[0], opts._[1]);
  if (opts.html) writeHtml(opts.html, diffReport({ files: opts._.map((f) => path.basename(f)), diff: rows }));
  if (opts.json) process.stdout.write(`${JSON.stringify(plainDiff(rows), null, 2)}\n`);
  else printDiff(rows, opts.classes ?? 25);
}

async function leaks(opts) {
  if (opts._.length < 3) throw new UsageError('leaks needs three or more snapshot files of one process, oldest first');
  const progress = progressReporter('loading snapshots');
  const snaps = [];
  try {
    for (const f of opts._) snaps.push(await leakwatch.loadSnapshot(f, { onProgress: progress.onProgress }));
    progress.done();
    const found = await leakwatch.findLeaks(snaps);
    const suspects = found.map((s) => ({ ...s, retainerPath: redactSteps(s.retainerPath, opts.redact) }));
    const rows = opts.html ? await leakwatch.diffSnapshots(snaps[0], snaps[snaps.length - 1]) : [];
    if (opts.html) writeHtml(opts.html, leaksReport({ files: opts._.map((f) => path.basename(f)), suspects, diff: rows, redact: opts.redact, totals: found.snapshots, notes: found.notes }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(suspects, null, 2)}\n`);
      return;
    }
    const notes = found.notes.map((n) => `note: ${n.text}\n`).join('');
    if (suspects.length === 0) {
      process.stdout.write(`No leak suspects: nothing grew at every step across the ${snaps.length} snapshots.\n${notes}`);
      return;
    }
    const out = [];
    suspects.forEach((s, i) => {
      out.push(`${i + 1}. [${s.kind}, ${s.confidence} confidence] ${s.explanation}`);
      out.push('   retained by:');
      out.push(formatPath(s.retainerPath, { indent: '     ' }));
      out.push('');
    });
    process.stdout.write(`${out.join('\n')}${notes}`);
  } finally {
    progress.done();
    for (const s of snaps) s.close();
  }
}

async function main(argv) {
  const opts = parseArgs(argv);
  const [command, ...rest] = opts._;
  if (opts.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || opts.help ? 0 : 2;
  }
  opts._ = rest;
  switch (command) {
    case 'analyze':
      await analyze(opts);
      return 0;
    case 'diff':
      await diff(opts);
      return 0;
    case 'leaks':
      await leaks(opts);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const code = err && err.code ? ` [${err.code}]` : '';
    process.stderr.write(`leakwatch: ${err && err.message ? err.message : err}${code}\n`);
    if (err instanceof UsageError) process.stderr.write('run "leakwatch --help" for usage\n');
    process.exitCode = 2;
  },
);
