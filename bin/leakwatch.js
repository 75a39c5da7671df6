#!/usr/bin/env node
'use strict';

// leakwatch command line: analyze a snapshot, compare two, or find leaks
// across three or more. Output is a table on stdout, JSON with --json, and a
// self-contained HTML file with --html; progress goes to stderr only on a
// terminal. Exit status: 0 done, 1 `leaks` found suspects, 2 bad input or
// usage (one line naming the problem).
//
// Each command is one entry of COMMANDS: its positional arguments (`args`
// for help, `minArgs`/`maxArgs`, `noun` for the message when the count is
// wrong), its options (node:util parseArgs configs plus `help` text; `count`
// ones are checked integers), a one-line `summary`, and `run(positionals,
// options)` resolving to the exit status. Help, argument checking and
// dispatch are derived from that table; -h/--help is added to every command.

const path = require('node:path');
const { parseArgs } = require('node:util');
const leakwatch = require('../index.js');
const { formatBytes, formatCount, table, truncate, formatPath } = require('../lib/format.js');
const { leaksReport, diffReport, snapshotReport } = require('../lib/html-report.js');
const { print, printError, progressLine, writeReportFile } = require('../lib/output.js');
const { escapeTerminalDeep, jsonForTerminal } = require('../lib/terminal.js');

const VERSION = require('../package.json').version;

class UsageError extends Error {
  constructor(message, command) {
    super(message);
    this.command = command;
  }
}

// ---- options ----------------------------------------------------------------

/** A non-negative (or, with `min: 1`, positive) integer option such as --top. */
function count(short, help, { fallback, min = 0 } = {}) {
  return { type: 'string', short, value: 'N', help, count: { fallback, min } };
}

const OPTIONS = {
  json: { type: 'boolean', short: 'j', help: 'machine-readable JSON on stdout instead of the table' },
  html: { type: 'string', value: 'FILE', help: 'also write a self-contained HTML report to FILE (mode 0600)' },
  redact: { type: 'boolean', short: 'r', help: "hide the program's data: string contents, keys, data-derived names" },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

// ---- commands ---------------------------------------------------------------

const COMMANDS = {
  analyze: {
    args: ['<file.heapsnapshot>'],
    minArgs: 1,
    maxArgs: 1,
    noun: 'snapshot file',
    summary: 'totals, the class summary, and the largest objects with the path that retains each',
    options: {
      top: count('t', 'largest objects to list, each with its retainer path', { fallback: 10 }),
      classes: count('c', 'classes to list, by retained size', { fallback: 25 }),
      json: OPTIONS.json,
      html: OPTIONS.html,
      redact: OPTIONS.redact,
    },
    run: analyze,
  },
  diff: {
    args: ['<before.heapsnapshot>', '<after.heapsnapshot>'],
    minArgs: 2,
    maxArgs: 2,
    noun: 'snapshot file',
    summary: "per class, objects allocated and freed between two snapshots (DevTools' Comparison view)",
    options: {
      top: count('t', 'classes to list, largest size change first (JSON and HTML: all unless given)', { fallback: 25 }),
      json: OPTIONS.json,
      html: OPTIONS.html,
      redact: OPTIONS.redact,
    },
    run: diff,
  },
  leaks: {
    args: ['<s1>', '<s2>', '<s3>', '[more...]'],
    minArgs: 3,
    maxArgs: Infinity,
    noun: 'snapshot file',
    summary: 'leak suspects from three or more snapshots of one process, oldest first',
    options: {
      top: count('t', 'suspects to report at most', { fallback: 10, min: 1 }),
      'min-count': count(undefined, "objects from the first interval that must survive under one holder (default: findLeaks')", { min: 1 }),
      json: OPTIONS.json,
      html: OPTIONS.html,
      redact: OPTIONS.redact,
      'exit-zero': { type: 'boolean', help: 'exit 0 even when suspects are found' },
    },
    exitStatus: '0 no suspects, 1 suspects found (0 with --exit-zero), 2 bad input or usage',
    run: leaks,
  },
  mcp: {
    args: [],
    minArgs: 0,
    maxArgs: 0,
    summary: 'serve these analyses to a coding agent over MCP on stdin/stdout (needs @modelcontextprotocol/sdk)',
    options: {
      redact: { type: 'string', value: 'MODE', help: 'on (default): answers hide snapshot data unless a call passes redact: false; always: calls cannot turn it off; off' },
      'no-redact': { type: 'boolean', help: 'same as --redact off' },
      'cache-mb': count(undefined, "MiB for snapshots kept loaded between calls (default: half the machine's or container's memory)", { min: 1 }),
    },
    run: (files, opts) => require('../lib/mcp/index.js').serve(opts),
  },
};

// ---- help -------------------------------------------------------------------

function optionRows(options) {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    const fallback = o.count && o.count.fallback !== undefined ? ` (default ${o.count.fallback})` : '';
    return [flag, `${o.help}${fallback}`];
  });
}

function columns(rows, indent = '  ') {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`).join('\n');
}

function globalHelp() {
  const commands = Object.entries(COMMANDS).map(([name, c]) => `  ${[name, ...c.args].join(' ')}\n      ${c.summary}`);
  return `usage: leakwatch <command> [options]

commands:
${commands.join('\n')}

options:
${columns([['-h, --help', 'show this help; leakwatch <command> --help for a command'], ['-v, --version', 'print the version']])}

Options may come anywhere after the command, as --top 20, --top=20 or -t 20.
exit status: 0 done, 1 leaks found suspects, 2 bad input or usage
`;
}

function commandHelp(name) {
  const c = COMMANDS[name];
  return `usage: leakwatch ${[name, ...c.args].join(' ')} [options]

${c.summary[0].toUpperCase()}${c.summary.slice(1)}.

options:
${columns(optionRows({ ...c.options, help: OPTIONS.help }))}

exit status: ${c.exitStatus || '0 done, 2 bad input or usage'}
`;
}

// ---- argument parsing -------------------------------------------------------

function parseCount(command, name, text, { min }) {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > 0xffffffff) {
    throw new UsageError(`--${name} needs ${min > 0 ? 'a positive' : 'a non-negative'} integer, got "${text}"`, command);
  }
  return Number(text);
}

/** parseArgs's own messages, shortened to the part a user acts on. */
function usageFromParseError(err, command) {
  const unknown = /^Unknown option '([^']+)'/.exec(err.message);
  if (unknown) return new UsageError(`unknown option ${unknown[1]}${command ? ` for ${command}` : ' (command options go after the command)'}`, command);
  return new UsageError(err.message.replace(/\.?\s*To specify .*$/s, '').replace(/\s+/g, ' '), command);
}

function parse(argv) {
  const first = argv[0];
  if (first === undefined) return { help: 'global', status: 2 };
  if (first.startsWith('-')) {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: true,
        options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      }));
    } catch (err) {
      throw usageFromParseError(err);
    }
    if (values.version && positionals.length === 0) return { version: true };
    // `leakwatch --help leaks` reads as `leakwatch leaks --help`.
    if (values.help && positionals.length === 1 && Object.hasOwn(COMMANDS, positionals[0])) return { help: positionals[0], status: 0 };
    if (positionals.length > 0) {
      if (!Object.hasOwn(COMMANDS, positionals[0])) throw new UsageError(`unknown command "${positionals[0]}"`);
      throw new UsageError(`options go after the command: leakwatch ${positionals[0]} ${argv.filter((x) => x.startsWith('-')).join(' ')}`, positionals[0]);
    }
    return { help: 'global', status: 0 };
  }
  if (first === 'help') {
    const topic = argv[1];
    if (topic === undefined) return { help: 'global', status: 0 };
    if (!Object.hasOwn(COMMANDS, topic)) throw new UsageError(`unknown command "${topic}"`);
    return { help: topic, status: 0 };
  }
  if (!Object.hasOwn(COMMANDS, first)) throw new UsageError(`unknown command "${first}"`);
  const command = COMMANDS[first];
  const config = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(command.options)) config[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(1), strict: true, allowPositionals: true, options: config });
  } catch (err) {
    throw usageFromParseError(err, first);
  }
  if (parsed.values.help) return { help: first, status: 0 };
  const opts = {};
  for (const [name, o] of Object.entries(command.options)) {
    const value = parsed.values[name];
    const key = name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (value === '') throw new UsageError(`--${name} needs a value`, first);
    if (o.count) {
      opts[key] = value === undefined ? o.count.fallback : parseCount(first, name, value, o.count);
      opts[`${key}Given`] = value !== undefined;
    } else opts[key] = value;
  }
  const files = parsed.positionals;
  if (files.length < command.minArgs || files.length > command.maxArgs) {
    const wanted = command.minArgs === command.maxArgs ? `${command.minArgs}` : `at least ${command.minArgs}`;
    const noun = command.noun || 'argument';
    if (command.maxArgs === 0) throw new UsageError(`${first} takes no arguments, got ${files.length}`, first);
    throw new UsageError(`${first} needs ${wanted} ${noun}${command.minArgs === 1 ? '' : 's'} (${command.args.join(' ')}), got ${files.length}`, first);
  }
  return { command: first, files, opts };
}

// ---- shared pieces of the commands ------------------------------------------

function progressReporter(label) {
  if (!process.stderr.isTTY) return { onProgress: undefined, done() {} };
  let last = '';
  return {
    onProgress(p) {
      const pct = p.phase === 'parse' && p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
      const line = `${label}: ${p.phase}${pct}`;
      if (line !== last) {
        progressLine(line);
        last = line;
      }
    },
    done() {
      if (last) progressLine('');
      last = '';
    },
  };
}

function writeHtml(file, html) {
  writeReportFile(file, html);
  printError(`report written to ${file}`);
}

async function loadWithProgress(files, redact, label) {
  const progress = progressReporter(label);
  const snaps = [];
  try {
    for (const f of files) snaps.push(await leakwatch.loadSnapshot(f, { onProgress: progress.onProgress, redact }));
    return snaps;
  } catch (err) {
    for (const s of snaps) s.close();
    throw err;
  } finally {
    progress.done();
  }
}

function signed(n, format) {
  return `${n >= 0 ? '+' : ''}${format(n)}`;
}

// ---- analyze ----------------------------------------------------------------

// Text formatting reads snapshot names through escapeTerminalDeep: a name's
// own newline or escape sequence is shown as text, never acted on; --json is
// the exact data with those characters as \u escapes (jsonForTerminal).
function printReport(file, rawReport) {
  const report = escapeTerminalDeep(rawReport);
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
  if (report.top.length > 0) {
    out.push('');
    out.push('Largest objects by retained size:');
    report.top.forEach((t, i) => {
      out.push(`${i + 1}. ${truncate(t.node.className, 40)} @${t.node.id}: ${formatBytes(t.node.retainedSize)} retained, ${formatBytes(t.node.selfSize)} shallow`);
      if (t.retainerPath.length > 1) out.push(formatPath(t.retainerPath, { indent: '     ' }));
    });
  }
  print(`${out.join('\n')}\n`);
}

async function analyze([file], opts) {
  const [snapshot] = await loadWithProgress([file], opts.redact, 'analyzing');
  let report;
  try {
    report = snapshot.report({ top: opts.top, maxClasses: opts.classes, redact: opts.redact });
  } finally {
    snapshot.close();
  }
  if (opts.html) writeHtml(opts.html, snapshotReport({ file: path.basename(file), report }));
  if (opts.json) print(`${jsonForTerminal(report)}\n`);
  else printReport(file, report);
  return 0;
}

// ---- diff -------------------------------------------------------------------

function bySizeChange(rows) {
  return [...rows].sort((a, b) => Math.abs(b.sizeDelta) - Math.abs(a.sizeDelta) || a.name.localeCompare(b.name));
}

function printDiff(rawRows) {
  const rows = escapeTerminalDeep(rawRows);
  print(
    `${table(
      [
        { title: 'Class', get: (r) => truncate(r.name, 45) },
        { title: '# New', align: 'right', get: (r) => formatCount(r.addedCount) },
        { title: '# Deleted', align: 'right', get: (r) => formatCount(r.removedCount) },
        { title: '# Delta', align: 'right', get: (r) => signed(r.countDelta, formatCount) },
        { title: 'Alloc. size', align: 'right', get: (r) => formatBytes(r.addedSize) },
        { title: 'Freed size', align: 'right', get: (r) => formatBytes(r.removedSize) },
        { title: 'Size delta', align: 'right', get: (r) => signed(r.sizeDelta, formatBytes) },
      ],
      rows,
    )}\n`,
  );
}

function plainDiff(rows) {
  return rows.map(({ addedIds, removedIds, ...rest }) => ({ ...rest, addedIds: [...addedIds], removedIds: [...removedIds] }));
}

async function diff([before, after], opts) {
  const snaps = await loadWithProgress([before, after], opts.redact, 'loading snapshots');
  let rows;
  let sequence;
  try {
    const found = await leakwatch.diffSnapshots(snaps[0], snaps[1], { redact: opts.redact });
    sequence = found.sequence;
    rows = bySizeChange(found);
  } finally {
    for (const s of snaps) s.close();
  }
  const shown = opts.topGiven ? rows.slice(0, opts.top) : rows;
  // Comparing two processes, or a later snapshot with an earlier one, is
  // allowed as in DevTools, but the rows then do not mean growth: say so.
  if (opts.html) writeHtml(opts.html, diffReport({ files: [before, after].map((f) => path.basename(f)), diff: shown, sequence }));
  if (opts.json) print(`${jsonForTerminal({ sequence, rows: plainDiff(shown) })}\n`);
  else {
    if (sequence) printError(`leakwatch: warning: ${sequence.message} [${sequence.code}]`);
    printDiff(rows.slice(0, opts.top));
  }
  return 0;
}

// ---- leaks ------------------------------------------------------------------

async function leaks(files, opts) {
  const snaps = await loadWithProgress(files, opts.redact, 'loading snapshots');
  let suspects;
  let rows = [];
  try {
    suspects = await leakwatch.findLeaks(snaps, { maxSuspects: opts.top, minCount: opts.minCount, redact: opts.redact });
    if (opts.html) rows = await leakwatch.diffSnapshots(snaps[0], snaps[snaps.length - 1], { redact: opts.redact });
  } finally {
    for (const s of snaps) s.close();
  }
  const { notes, snapshots: totals } = suspects;
  if (opts.html) writeHtml(opts.html, leaksReport({ files: files.map((f) => path.basename(f)), suspects, diff: rows, totals, notes }));
  if (opts.json) {
    // An object, not the bare array: a CI script needs the notes (Node's own
    // queues that grew, which are not suspects) and each file's totals too.
    const snapshots = totals.map((t, k) => ({ file: files[k], ...t }));
    print(`${jsonForTerminal({ suspects, notes, snapshots })}\n`);
    return suspects.length > 0 && !opts.exitZero ? 1 : 0;
  }
  const noteLines = escapeTerminalDeep(notes).map((n) => `note: ${n.text}\n`).join('');
  if (suspects.length === 0) print(`No leak suspects: nothing grew at every step across the ${files.length} snapshots.\n${noteLines}`);
  else {
    const out = [];
    escapeTerminalDeep(suspects).forEach((s, i) => {
      out.push(`${i + 1}. [${s.kind}, ${s.confidence} confidence] ${s.explanation}`);
      const site = s.allocationSites[0];
      if (site) out.push(`   allocated in ${site.functionName || '(anonymous)'} (${site.script}:${site.line})`);
      out.push('   retained by:');
      out.push(formatPath(s.retainerPath, { indent: '     ' }));
      out.push('');
    });
    print(`${out.join('\n')}${noteLines}`);
  }
  return suspects.length > 0 && !opts.exitZero ? 1 : 0;
}

// ---- main -------------------------------------------------------------------

async function main(argv) {
  const parsed = parse(argv);
  if (parsed.version) {
    print(`${VERSION}\n`);
    return 0;
  }
  if (parsed.help) {
    const text = parsed.help === 'global' ? globalHelp() : commandHelp(parsed.help);
    // Asked for: stdout. Shown because the command line was empty: stderr.
    if (parsed.status === 0) print(text);
    else printError(text.trimEnd());
    return parsed.status;
  }
  return COMMANDS[parsed.command].run(parsed.files, parsed.opts);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err) => {
    // Usage mistakes and bad input (every leakwatch error has a `code`, and
    // so do Node's file errors) get one line; anything else is a bug, and
    // its stack is what a bug report needs.
    if (err instanceof UsageError) {
      printError(`leakwatch: ${err.message}`);
      printError(`run "leakwatch ${err.command ? `${err.command} ` : ''}--help" for usage`);
    } else if (err && err.code) {
      printError(`leakwatch: ${err.message} [${err.code}]`);
    } else {
      printError(`leakwatch: internal error: ${err && err.stack ? err.stack : err}`);
    }
    process.exitCode = 2;
  },
);
