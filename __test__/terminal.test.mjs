// Text output never passes a control character from the snapshot through to
// the terminal (a crafted name could set the title, recolour, clear the
// screen or write the clipboard with OSC 52); JSON stays exact and HTML
// escaped. The fixture names globals and fills strings with those sequences.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { OUT, ROOT, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeHostileNames, CONTROLS } = require('./fixtures/hostile-names.js');
const { escapeTerminal, jsonForTerminal, emitWarningEscaped } = require('../lib/terminal.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');
const files = makeHostileNames(path.join(OUT, `hostile-names-${process.version.split('.')[0]}`));

// Anything a terminal could act on: C0 but newline, DEL, C1, bidi controls.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function cli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return r;
}

test('escapeTerminal shows every control sequence as visible text', () => {
  for (const [name, seq] of Object.entries(CONTROLS)) {
    const shown = escapeTerminal(seq);
    if (name !== 'markup') assert.notEqual(shown, seq, name);
    assert.doesNotMatch(shown, RAW_CONTROL, name);
  }
  assert.equal(escapeTerminal('\u001b]0;pwned\u0007'), '\\x1b]0;pwned\\x07');
  assert.equal(escapeTerminal('a\nb\tc\r'), 'a\\nb\\tc\\r');
  assert.equal(escapeTerminal('\u009b2J\u202e'), '\\x9b2J\\u202e');
  assert.equal(escapeTerminal('plain text, ünïcode, 日本'), 'plain text, ünïcode, 日本');
  // JSON for a terminal is still the exact data.
  const value = { s: Object.values(CONTROLS).join('|') };
  const text = jsonForTerminal(value);
  assert.doesNotMatch(text.replace(/\n/g, ''), RAW_CONTROL);
  assert.deepEqual(JSON.parse(text), value);
});

test('analyze, diff and leaks print names with control sequences escaped', () => {
  const runs = [
    ['analyze', files[2], '--top', '200', '--classes', '100000'],
    ['diff', files[0], files[2], '--top', '100000'],
    ['leaks', ...files],
  ];
  let all = '';
  for (const args of runs) {
    const r = cli(args);
    assert.equal(r.status, args[0] === 'leaks' ? 1 : 0, r.stderr);
    assert.doesNotMatch(r.stdout.replace(/\n/g, ''), RAW_CONTROL, `leakwatch ${args[0]} prints a raw control character`);
    assert.doesNotMatch(r.stderr.replace(/\n/g, ''), RAW_CONTROL);
    all += r.stdout;
  }
  // The names are shown, as visible escapes (the control: they do reach the output).
  assert.ok(all.includes(escapeTerminal(CONTROLS.title)), 'the OSC title sequence is shown escaped');
  assert.ok(all.includes(escapeTerminal(CONTROLS.clipboard)), 'the OSC 52 sequence is shown escaped');
  assert.ok(all.includes('\\x9b2J'), 'the 8-bit CSI is shown escaped');
  assert.ok(all.includes('\\u202egnp.exe'), 'the right-to-left override is shown escaped');
});

test('--json is exact data with every control character escaped', async () => {
  const r = cli(['diff', files[0], files[2], '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout.replace(/\n/g, ''), RAW_CONTROL);
  const { rows } = JSON.parse(r.stdout);
  const api = await leakwatch.diffSnapshots(files[0], files[2]);
  const names = (list) => list.map((x) => x.name).sort();
  assert.deepEqual(names(rows), names(api), 'the same rows as the API, in the order the CLI chose');
  assert.ok(rows.some((x) => x.name.includes(CONTROLS.title)), 'the raw name survives a JSON round trip');

  const analyzed = cli(['analyze', files[2], '--top', '200', '--json']);
  assert.doesNotMatch(analyzed.stdout.replace(/\n/g, ''), RAW_CONTROL);
  const report = JSON.parse(analyzed.stdout);
  const labels = report.top.flatMap((t) => t.retainerPath.map((s) => s.edgeName ?? ''));
  for (const seq of [CONTROLS.clipboard, CONTROLS.csi8, CONTROLS.bidi]) assert.ok(labels.includes(seq), JSON.stringify(seq));
});

test('the HTML reports escape markup and show control characters as text', () => {
  for (const [name, args] of [
    ['analyze', ['analyze', files[2], '--top', '200']],
    ['diff', ['diff', files[0], files[2]]],
    ['leaks', ['leaks', ...files]],
  ]) {
    const file = path.join(OUT, `controls-${name}-${process.pid}.html`);
    const r = cli([...args, '--html', file]);
    assert.equal(r.status, name === 'leaks' ? 1 : 0, r.stderr);
    const html = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(html.replace(/\n/g, ''), RAW_CONTROL, `${name} HTML holds a raw control character`);
    assert.equal(html.includes('<img'), false, `${name} HTML lets markup from the snapshot through`);
    if (name === 'analyze') {
      assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the markup name is shown, escaped');
      assert.ok(html.includes('\\x1b]52;c;cHduZWQ=\\x07'), 'OSC 52 is shown as text');
    }
    if (name !== 'analyze') assert.ok(html.includes('\\x1b]0;pwned\\x07'), `${name}: the title sequence is shown as text`);
  }
});

test('an error naming a crafted file name is escaped too', () => {
  const r = cli(['analyze', path.join(OUT, `missing-${CONTROLS.title}.heapsnapshot`)]);
  assert.equal(r.status, 2);
  assert.doesNotMatch(r.stderr.replace(/\n/g, ''), RAW_CONTROL);
  assert.match(r.stderr, /\\x1b\]0;pwned\\x07/);
});

test('run-time warnings show the names an application chose with control sequences escaped', () => {
  // Event names can come from clients (a socket.io event), file names and
  // directories from configuration: a growth warning, an outlived-owner
  // warning and the snapshot directory warning, all printed by Node to stderr.
  const script = `
    const lw = require(${JSON.stringify(ROOT)});
    const { EventEmitter } = require('node:events');
    const vm = require('node:vm');
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const C = ${JSON.stringify(CONTROLS)};
    lw.listeners.configure({ intervalMs: 0, threshold: 3 });
    class Bus extends EventEmitter {}
    Object.defineProperty(Bus, 'name', { value: 'Bus' + C.title });
    const bus = new Bus();
    bus.setMaxListeners(0);
    lw.trackEmitter(bus);
    const event = 'config' + C.clipboard + '\\r\\n(node:1) Warning: forged';
    for (let r = 0; r < 4; r++) {
      for (let i = 0; i < 5; i++) bus.on(event, () => {});
      lw.listeners.observe();
    }
    const startPoller = vm.runInThisContext(
      '(function (timers) { class Poller { start() { timers.setInterval(() => {}, 5, { owner: this }); } } new Poller().start(); })',
      { filename: '/srv/poller' + C.colour + C.bidi + '.js' },
    );
    startPoller(lw.timers);
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-warn-'));
    const open = path.join(base, 'snaps' + C.csi8);
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    lw.snapshots.take({ dir: open }).then(() => setTimeout(async () => {
      globalThis.gc();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      lw.timers.clearAll();
      fs.rmSync(base, { recursive: true, force: true });
    }, 40));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  for (const code of ['LEAKWATCH_LISTENER_GROWTH', 'LEAKWATCH_TIMER_OUTLIVED_OWNER', 'LEAKWATCH_SNAPSHOT_DIR']) {
    assert.ok(r.stderr.includes(`[${code}]`), `${code} in ${r.stderr}`);
  }
  assert.doesNotMatch(r.stderr.replace(/\n/g, ''), RAW_CONTROL);
  // The names are there, as visible escapes, and the forged line stays inside its warning.
  for (const shown of [escapeTerminal(CONTROLS.title), escapeTerminal(CONTROLS.clipboard), escapeTerminal(CONTROLS.colour + CONTROLS.bidi), escapeTerminal(CONTROLS.csi8)]) {
    assert.ok(r.stderr.includes(shown), `${shown} in ${r.stderr}`);
  }
  assert.ok(r.stderr.includes('\\r\\n(node:1) Warning: forged'));
  assert.ok(!r.stderr.split('\n').some((line) => line.startsWith('(node:1)')));
});

test('a failure reported as a warning keeps its Error, code and cause, escaped only where needed', async () => {
  const failure = Object.assign(new Error(`cannot write to /srv/snaps${CONTROLS.title}`), { code: 'LEAKWATCH_SNAPSHOT_FAILED' });
  const [escaped] = await Promise.all([once(process, 'warning').then(([w]) => w), emitWarningEscaped(failure)]);
  assert.ok(escaped instanceof Error);
  assert.equal(escaped.message, `cannot write to /srv/snaps${escapeTerminal(CONTROLS.title)}`);
  assert.equal(escaped.code, 'LEAKWATCH_SNAPSHOT_FAILED');
  assert.equal(escaped.cause, failure);
  const clean = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  const [same] = await Promise.all([once(process, 'warning').then(([w]) => w), emitWarningEscaped(clean)]);
  assert.equal(same, clean);
});
