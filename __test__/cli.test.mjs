// The command line as a user drives it: real processes, real snapshots from
// the leak fixtures, real pipes.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { OUT, ROOT, fixture, leakSeries, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const COMMANDS = ['analyze', 'diff', 'leaks'];

function cli(args, options = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...options });
}

const leaky = () => makeScenario('global-array', OUT, { reuse: true });
const clean = () => makeScenario('bounded-cache', OUT, { reuse: true });

// Two unrelated leaks in one process, so `leaks --top 1` has something to cut.
const TWO_LEAKS = `
const v8 = require('node:v8');
const path = require('node:path');
const sessions = (globalThis.sessions = []);
const cache = (globalThis.cache = new Map());
let n = 0;
function round(k) {
  for (let i = 0; i < k; i++, n++) {
    sessions.push({ session: n, user: 'user' + n });
    cache.set('key:' + n, { cached: n, at: 'slot' + n });
  }
}
round(300);
for (const name of ['s1', 's2', 's3', 's4']) {
  globalThis.gc();
  v8.writeHeapSnapshot(path.join(process.argv[2], name + '.heapsnapshot'));
  round(300);
}
`;

let twoLeakFiles;
/** The first three snapshots of the two-leak program; all four with `{ four: true }`. */
function twoLeaks({ four = false } = {}) {
  if (twoLeakFiles) return four ? twoLeakFiles : twoLeakFiles.slice(0, 3);
  const dir = path.join(OUT, 'cli-two-leaks-4');
  const files = ['s1', 's2', 's3', 's4'].map((s) => path.join(dir, `${s}.heapsnapshot`));
  if (!files.every((f) => fs.existsSync(f))) {
    fs.mkdirSync(dir, { recursive: true });
    const script = path.join(dir, 'make.js');
    fs.writeFileSync(script, TWO_LEAKS);
    const r = spawnSync(process.execPath, ['--expose-gc', script, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  twoLeakFiles = files;
  return four ? files : files.slice(0, 3);
}

test('--version and -v print the package version', () => {
  for (const flag of ['--version', '-v']) {
    const r = cli([flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
  }
});

test('global help lists every command; an empty command line is a usage error on stderr', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = cli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: leakwatch <command> \[options\]/);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), `${c} in help`);
  }
  const empty = cli([]);
  assert.equal(empty.status, 2);
  assert.equal(empty.stdout, '');
  assert.match(empty.stderr, /^usage: leakwatch/);
});

test('every command has its own --help, -h and `help <command>`, listing only its options', () => {
  const expected = {
    analyze: ['--top', '--classes', '--json', '--html', '--redact', '--help'],
    diff: ['--top', '--json', '--html', '--redact', '--help'],
    leaks: ['--top', '--min-count', '--json', '--html', '--redact', '--exit-zero', '--help'],
  };
  for (const c of COMMANDS) {
    const outputs = [[c, '--help'], [c, '-h'], ['help', c], ['--help', c], [c, 'missing.heapsnapshot', '-h']].map((args) => {
      const r = cli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    });
    for (const o of outputs) assert.equal(o, outputs[0]);
    const text = outputs[0];
    assert.match(text, new RegExp(`^usage: leakwatch ${c} `));
    const flags = [...text.matchAll(/^ {2}(?:-\w, | {4})(--[\w-]+)/gm)].map((m) => m[1]);
    assert.deepEqual(flags, expected[c]);
  }
  assert.doesNotMatch(cli(['diff', '--help']).stdout, /--classes|--exit-zero/);
});

test('--opt=value, --opt value and short flags give the same result anywhere after the command', () => {
  const file = fixture('bare');
  const forms = [
    ['analyze', file, '--json', '--top', '2', '--classes', '3'],
    ['analyze', '--top=2', file, '--classes=3', '--json'],
    ['analyze', '-t', '2', '-c', '3', '-j', file],
    ['analyze', '-j', '-t2', file, '-c3'],
  ];
  const reports = forms.map((args) => {
    const r = cli(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  for (const r of reports) assert.deepEqual(r, reports[0]);
  assert.equal(reports[0].top.length, 2);
  assert.equal(reports[0].classes.length, 3);
  // Control: the values are honoured, not ignored.
  const other = JSON.parse(cli(['analyze', file, '-j', '--top=4', '-c', '5']).stdout);
  assert.equal(other.top.length, 4);
  assert.equal(other.classes.length, 5);
});

test('analyze prints sizes in DevTools units and paths for its largest objects', () => {
  const file = fixture('bare');
  const r = cli(['analyze', file, '-t', '3']);
  assert.equal(r.status, 0, r.stderr);
  const snap = leakwatch.loadSnapshotSync(file);
  try {
    assert.ok(r.stdout.startsWith(`bare.heapsnapshot: ${snap.nodeCount.toLocaleString('en-US')} nodes`));
  } finally {
    snap.close();
  }
  assert.match(r.stdout, /\d (kB|MB) total/);
  assert.doesNotMatch(r.stdout, /\d (KB|KiB|MiB)\b/);
  assert.equal((r.stdout.match(/^\d+\. .* retained, .* shallow$/gm) || []).length, 3);
});

test('--top is honoured by diff (table and JSON) and by leaks; --min-count reaches findLeaks', () => {
  const [s1, , s3] = leaky();
  const table = cli(['diff', s1, s3, '--top', '3']);
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2 + 3, table.stdout);
  assert.match(lines[2], /^\{url\}\s+800\s+0\s+\+800\s+32\.0 kB\s+0 B\s+\+32\.0 kB$/);
  const all = JSON.parse(cli(['diff', s1, s3, '-j']).stdout).rows;
  const three = JSON.parse(cli(['diff', s1, s3, '-j', '-t', '3']).stdout).rows;
  assert.ok(all.length > 3, `${all.length} rows without --top`);
  assert.equal(three.length, 3);
  assert.deepEqual(three.map((r) => r.name), all.slice(0, 3).map((r) => r.name));
  assert.equal(three[0].name, '{url}');

  const files = twoLeaks();
  const both = JSON.parse(cli(['leaks', ...files, '--json']).stdout).suspects;
  assert.deepEqual(both.map((s) => s.holderName).sort(), ['cache', 'sessions']);
  const one = JSON.parse(cli(['leaks', ...files, '--json', '--top=1']).stdout).suspects;
  assert.equal(one.length, 1);
  assert.equal(one[0].holderName, both[0].holderName);
  const strict = cli(['leaks', ...files, '--min-count', '100000']);
  assert.equal(strict.status, 0, strict.stderr);
  assert.match(strict.stdout, /^No leak suspects/);
});

test('leaks exits 1 with suspects, 0 when clean or with --exit-zero, 2 on bad input', () => {
  const files = leaky();
  const found = cli(['leaks', ...files]);
  assert.equal(found.status, 1, found.stderr);
  assert.match(found.stdout, /^1\. \[collection, high confidence\] Array `requestLog`/);
  const zero = cli(['leaks', ...files, '--exit-zero']);
  assert.equal(zero.status, 0, zero.stderr);
  assert.equal(zero.stdout, found.stdout);
  const json = cli(['leaks', ...files, '-j']);
  assert.equal(json.status, 1);
  assert.equal(JSON.parse(json.stdout).suspects[0].holderName, 'requestLog');

  const ok = cli(['leaks', ...clean()]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'No leak suspects: nothing grew at every step across the 3 snapshots.\n');

  const two = cli(['leaks', files[0], files[1]]);
  assert.equal(two.status, 2);
  assert.equal(two.stdout, '');
  assert.equal(two.stderr, 'leakwatch: leaks needs at least 3 snapshot files (<s1> <s2> <s3> [more...]), got 2\nrun "leakwatch leaks --help" for usage\n');

  const missing = cli(['leaks', files[0], files[1], path.join(OUT, 'no-such.heapsnapshot')]);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /^leakwatch: .*no-such\.heapsnapshot.*\[ERR_SNAPSHOT_IO\]$/m);
});

test('leaks takes more than three snapshots, oldest first; --json has the suspects, the notes and each file\'s totals', () => {
  const files = twoLeaks({ four: true });
  const r = cli(['leaks', ...files, '-j']);
  assert.equal(r.status, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['suspects', 'notes', 'snapshots']);
  assert.deepEqual(out.suspects.map((s) => s.holderName).sort(), ['cache', 'sessions']);
  for (const s of out.suspects) assert.deepEqual(s.counts, [300, 600, 900, 1200], `${s.holderName} in every snapshot`);
  assert.deepEqual(out.notes, [], 'no Node queue grew in this program');
  assert.deepEqual(out.snapshots.map((t) => t.file), files);
  const sizes = out.snapshots.map((t) => t.totalSize);
  assert.ok(sizes.every((size, k) => k === 0 || size > sizes[k - 1]), `the heap grew at every step: ${sizes}`);
  assert.ok(out.snapshots.every((t) => t.nodeCount > 0 && t.tracked === false));

  // Out of order: refused, with the code findLeaks throws.
  const swapped = cli(['leaks', files[0], files[2], files[1], files[3]]);
  assert.equal(swapped.status, 2);
  assert.match(swapped.stderr, /^leakwatch: snapshot 3 was taken before snapshot 2 .*\[ERR_SNAPSHOT_ORDER\]$/m);
});

test('diff says when its two snapshots are not one history, in text and JSON', () => {
  const [s1, , s3] = twoLeaks();
  const forward = cli(['diff', s1, s3, '-j']);
  assert.equal(JSON.parse(forward.stdout).sequence, null);
  assert.equal(cli(['diff', s1, s3]).stderr, '', 'control: no warning in order');
  const json = JSON.parse(cli(['diff', s3, s1, '-j']).stdout);
  assert.equal(json.sequence.code, 'ERR_SNAPSHOT_ORDER');
  assert.match(json.sequence.message, /snapshot 2 was taken before snapshot 1/);
  assert.ok(json.rows.length > 0, 'the rows are still there');
  const text = cli(['diff', s3, s1]);
  assert.equal(text.status, 0);
  assert.match(text.stderr, /^leakwatch: warning: snapshot 2 was taken before snapshot 1 .*\[ERR_SNAPSHOT_ORDER\]\n$/);
  const other = cli(['diff', s1, leaky()[2], '-j']);
  assert.equal(JSON.parse(other.stdout).sequence.code, 'ERR_SNAPSHOT_MISMATCH');
});

test('usage mistakes exit 2 with one line and a pointer to the right help', () => {
  const file = fixture('bare');
  const cases = [
    [['analyze', file, '--bogus'], /^leakwatch: unknown option --bogus for analyze\nrun "leakwatch analyze --help" for usage\n$/],
    [['analyze', file, '--top=x'], /^leakwatch: --top needs a non-negative integer, got "x"\nrun "leakwatch analyze --help" for usage\n$/],
    [['leaks', file, file, file, '--top', '0'], /^leakwatch: --top needs a positive integer, got "0"\n/],
    [['analyze', file, '--html'], /^leakwatch: .*--html.*\nrun "leakwatch analyze --help"/],
    [['diff', file, file, '--classes', '3'], /^leakwatch: unknown option --classes for diff\n/],
    [['frobnicate'], /^leakwatch: unknown command "frobnicate"\nrun "leakwatch --help" for usage\n$/],
    [['--json'], /^leakwatch: unknown option --json \(command options go after the command\)\n/],
    [['analyze'], /^leakwatch: analyze needs 1 snapshot file \(<file\.heapsnapshot>\), got 0\n/],
    [['analyze', file, '--html='], /^leakwatch: --html needs a value\n/],
    [['-j', 'analyze', file], /^leakwatch: unknown option -j \(command options go after the command\)\n/],
    [['-v', 'analyze', file], /^leakwatch: options go after the command: leakwatch analyze -v\nrun "leakwatch analyze --help"/],
  ];
  for (const [args, stderr] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, stderr, args.join(' '));
  }
});

test('--html works for analyze, diff and leaks; --redact is accepted by all three', () => {
  const [s1, s2, s3] = leaky();
  const runs = {
    analyze: [['analyze', s1, '-t', '2'], 0, /leakwatch: heap snapshot/],
    diff: [['diff', s1, s3], 0, /Comparison/],
    leaks: [['leaks', s1, s2, s3], 1, /Leak suspects \(1\)/],
  };
  for (const [name, [args, status, marker]] of Object.entries(runs)) {
    const html = path.join(OUT, `cli-${name}.html`);
    fs.rmSync(html, { force: true });
    const r = cli([...args, '--html', html, '--redact']);
    assert.equal(r.status, status, `${name}: ${r.stderr}`);
    assert.equal(r.stderr, `report written to ${html}\n`);
    assert.ok(r.stdout.length > 0, `${name} still prints its table`);
    const text = fs.readFileSync(html, 'utf8');
    assert.match(text, /^<!doctype html>/);
    assert.match(text, marker);
    assert.equal(fs.statSync(html).mode & 0o777, 0o600, `${name} report is private`);
  }
  const page = fs.readFileSync(path.join(OUT, 'cli-analyze.html'), 'utf8');
  assert.equal((page.match(/id="object-\d+"/g) || []).length, 2, '--top shapes the HTML report too');
});

test('a reader that closes the pipe early ends the output quietly (| head)', () => {
  const [s1, , s3] = leakSeries();
  // Control: the output is bigger than a pipe holds, so `head` closing its
  // end really makes the next write fail with EPIPE.
  const full = cli(['diff', s1, s3, '--json'], { maxBuffer: 64 << 20 });
  assert.equal(full.status, 0, full.stderr);
  assert.ok(full.stdout.length > 2 * 65536, `${full.stdout.length} bytes of JSON`);

  const script = `"${process.execPath}" "${CLI}" diff "${s1}" "${s3}" --json 2>"$ERR" | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const errFile = path.join(OUT, 'cli-epipe.stderr');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ERR: errFile } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0', 'leakwatch exits 0');
  assert.equal(fs.readFileSync(errFile, 'utf8'), '', 'and prints nothing on stderr');

  // Same without leakwatch's handling, to be sure the test can fail: a bare
  // write of that much to the same pipe dies with EPIPE.
  const bare = `"${process.execPath}" -e "process.stdout.write('x'.repeat(1 << 20))" 2>"$ERR" | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const control = spawnSync('bash', ['-c', bare], { encoding: 'utf8', env: { ...process.env, ERR: errFile } });
  assert.notEqual(control.stdout.trim(), '0');
  assert.match(fs.readFileSync(errFile, 'utf8'), /EPIPE/);
});

test('a closed stdout does not change the exit status: 1 with suspects, 0 without', async () => {
  const run = async (files) => {
    const child = spawn(process.execPath, [CLI, 'leaks', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const status = await new Promise((resolve) => child.on('close', resolve));
    return { status, stderr };
  };
  assert.deepEqual(await run(leaky()), { status: 1, stderr: '' });
  assert.deepEqual(await run(clean()), { status: 0, stderr: '' });
});
