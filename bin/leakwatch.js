#!/usr/bin/env node
'use strict';

// leakwatch command line: analyze one heap snapshot (more commands join as
// the library grows). Output is a table on stdout, or JSON with --json;
// progress goes to stderr only on a terminal; bad input exits 2 in one line.

const path = require('node:path');
const leakwatch = require('../index.js');
const { formatBytes, formatCount, table, truncate, formatPath } = require('../lib/format.js');

const USAGE = `usage: leakwatch <command> [options]

commands:
  analyze <file.heapsnapshot> [--top N] [--classes N] [--json]
      totals, the class summary, and the N largest objects with the path that retains each

options:
  --json       machine-readable output on stdout
  --top N      objects to list (default 10)
  --classes N  classes to list (default 25)
  -h, --help   this text`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { _: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
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
