// Bad snapshots are a normal case: each one gives a JS Error with a stable
// code (and a byte offset where one applies), never a crash.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixture, leakwatch, OUT, ROOT } from './helpers.mjs';

const { loadSnapshot, loadSnapshotSync } = leakwatch;

function minimal({ nodeFields, nodes, edges, strings, nodeCount, edgeCount, extra = '' }) {
  const fields = nodeFields ?? ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
  const meta = {
    node_fields: fields,
    node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'], 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: ['type', 'name_or_index', 'to_node'],
    edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
  };
  const n = nodeCount ?? nodes.length / fields.length;
  const m = edgeCount ?? edges.length / 3;
  return `{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${n},"edge_count":${m},"trace_function_count":0},"nodes":[${nodes}],"edges":[${edges}]${extra},"strings":${JSON.stringify(strings)}}`;
}

// root(synthetic) --shortcut "g"--> global object --property "x"--> object
const GOOD = {
  nodes: [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 100, 1, 0, 0, 3, 3, 5, 50, 0, 0, 0],
  edges: [5, 4, 7, 2, 5, 14],
  strings: ['<dummy>', '', 'global', 'Thing', 'g', 'x'],
};

test('a tiny hand-written snapshot loads with the expected sizes', () => {
  const snap = loadSnapshotSync(Buffer.from(minimal(GOOD)));
  assert.equal(snap.nodeCount, 3);
  assert.equal(snap.totalSize, 150);
  assert.deepEqual(snap.node(3), { id: 3, name: 'global', type: 'object', className: 'global', selfSize: 100, retainedSize: 150, distance: 1 });
  assert.equal(snap.node(5).distance, 2);
  snap.close();
});

const cases = [
  ['empty buffer', Buffer.alloc(0), 'ERR_SNAPSHOT_EMPTY'],
  ['not JSON', Buffer.from('hello world'), 'ERR_SNAPSHOT_SYNTAX'],
  ['a JSON array', Buffer.from('[1,2,3]'), 'ERR_SNAPSHOT_SYNTAX'],
  ['no meta', Buffer.from('{"snapshot":{},"nodes":[],"edges":[],"strings":[]}'), 'ERR_SNAPSHOT_META'],
  ['meta without node_fields', Buffer.from('{"snapshot":{"meta":{}},"nodes":[]}'), 'ERR_SNAPSHOT_META'],
  ['nodes before meta', Buffer.from('{"nodes":[1,2,3]}'), 'ERR_SNAPSHOT_META'],
  ['node_count that lies', Buffer.from(minimal({ ...GOOD, nodeCount: 4 })), 'ERR_SNAPSHOT_INCONSISTENT'],
  ['edge_count that lies', Buffer.from(minimal({ ...GOOD, edgeCount: 9 })), 'ERR_SNAPSHOT_INCONSISTENT'],
  ['edge target outside the node array', Buffer.from(minimal({ ...GOOD, edges: [5, 4, 7, 2, 5, 70] })), 'ERR_SNAPSHOT_NUMBER'],
  ['edge target not a node offset', Buffer.from(minimal({ ...GOOD, edges: [5, 4, 7, 2, 5, 15] })), 'ERR_SNAPSHOT_NUMBER'],
  ['edge counts that do not add up', Buffer.from(minimal({ ...GOOD, nodes: GOOD.nodes.map((v, i) => (i === 4 ? 2 : v)) })), 'ERR_SNAPSHOT_INCONSISTENT'],
  ['node name beyond the string table', Buffer.from(minimal({ ...GOOD, strings: GOOD.strings.slice(0, 3) })), 'ERR_SNAPSHOT_INCONSISTENT'],
  ['number beyond 2^53', Buffer.from(minimal({ ...GOOD, nodes: GOOD.nodes.map((v, i) => (i === 3 ? '90071992547409930' : v)) })), 'ERR_SNAPSHOT_NUMBER'],
  ['negative number', Buffer.from(minimal({ ...GOOD, nodes: GOOD.nodes.map((v, i) => (i === 3 ? -1 : v)) })), 'ERR_SNAPSHOT_NUMBER'],
  ['fractional number', Buffer.from(minimal({ ...GOOD, nodes: GOOD.nodes.map((v, i) => (i === 3 ? 1.5 : v)) })), 'ERR_SNAPSHOT_NUMBER'],
  ['node type outside the enum', Buffer.from(minimal({ ...GOOD, nodes: GOOD.nodes.map((v, i) => (i === 7 ? 40 : v)) })), 'ERR_SNAPSHOT_NUMBER'],
  ['trailing garbage', Buffer.from(`${minimal(GOOD)} x`), 'ERR_SNAPSHOT_SYNTAX'],
  ['bad escape in a string', Buffer.from(minimal(GOOD).replace('"Thing"', '"Th\\qing"')), 'ERR_SNAPSHOT_SYNTAX'],
];

for (const [name, bytes, code] of cases) {
  test(`${name} → ${code}`, async () => {
    assert.throws(() => loadSnapshotSync(bytes), (err) => err.code === code && err instanceof Error && err.message.length > 10);
    await assert.rejects(loadSnapshot(bytes), { code });
  });
}

test('escapes, surrogate pairs and lone surrogates in strings decode like JSON.parse', () => {
  const strings = ['<dummy>', '', 'global', 'q"b\\s\n\u0001', 'pair 😀', 'lone \ud800 x', 'g', 'x'];
  const text = minimal({ ...GOOD, nodes: [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 100, 1, 0, 0, 3, 3, 5, 50, 0, 0, 0], edges: [5, 6, 7, 2, 7, 14], strings })
    .replace('😀', '\\ud83d\\ude00');
  const snap = loadSnapshotSync(Buffer.from(text));
  assert.equal(snap.node(5).name, 'q"b\\s\n\u0001');
  snap.close();
  const lone = loadSnapshotSync(Buffer.from(text.replace('"q\\"b\\\\s\\n\\u0001"', '"lone \\ud800 x"')));
  assert.equal(lone.node(5).name, 'lone \ufffd x', 'a lone surrogate survives decoding and is shown as U+FFFD');
  lone.close();
});

test('missing file, directory and truncation anywhere give coded errors', async () => {
  await assert.rejects(loadSnapshot(path.join(OUT, 'does-not-exist.heapsnapshot')), { code: 'ERR_SNAPSHOT_IO', message: /no such file/ });
  await assert.rejects(loadSnapshot(OUT), { code: 'ERR_SNAPSHOT_IO', message: /directory/ });
  const full = fs.readFileSync(fixture('bare'));
  for (let pct = 1; pct < 100; pct += 7) {
    const cut = Math.floor((full.length * pct) / 100);
    assert.throws(
      () => loadSnapshotSync(full.subarray(0, cut)),
      (err) => ['ERR_SNAPSHOT_TRUNCATED', 'ERR_SNAPSHOT_META', 'ERR_SNAPSHOT_INCONSISTENT', 'ERR_SNAPSHOT_SYNTAX'].includes(err.code),
      `truncated at ${pct}%`,
    );
  }
  assert.throws(() => loadSnapshotSync(full.subarray(0, full.length - 2)), { code: 'ERR_SNAPSHOT_TRUNCATED', message: /byte \d+/ });
});

test('the CLI exits 2 with one line on bad input, and prints a table on good input', () => {
  const cli = path.join(ROOT, 'bin', 'leakwatch.js');
  const bad = spawnSync(process.execPath, [cli, 'analyze', path.join(OUT, 'nope.heapsnapshot')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^leakwatch: .*no such file.*\[ERR_SNAPSHOT_IO\]\n$/);
  const usage = spawnSync(process.execPath, [cli, 'analyze'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  const good = spawnSync(process.execPath, [cli, 'analyze', fixture('bare'), '--top', '2'], { encoding: 'utf8' });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /Class\s+Count\s+Shallow\s+Retained\s+Distance/);
  assert.equal(good.stderr, '', 'no progress noise when stderr is not a terminal');
  const json = spawnSync(process.execPath, [cli, 'analyze', fixture('bare'), '--json', '--top', '2'], { encoding: 'utf8' });
  const report = JSON.parse(json.stdout);
  assert.equal(report.top.length, 2);
  assert.ok(report.nodeCount > 10_000);
});
