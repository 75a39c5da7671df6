// Hostile snapshots: a real V8 snapshot truncated, bit-flipped and edited to
// lie, through every source (path, Buffer, stream). Each gives the right
// result or a JS Error with a `code` and a byte offset, in bounded memory.
// Damaged files are loaded in child processes, so that an abort, a hang or a
// runaway allocation fails the test instead of taking the runner down.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixture, leakwatch, OUT, ROOT } from './helpers.mjs';
import prngModule from './fixtures/prng.js';

const { prng } = prngModule;

const { loadSnapshot, loadSnapshotSync } = leakwatch;
const CHILD = path.join(ROOT, '__test__', 'fixtures', 'hostile-child.js');
const DIR = path.join(OUT, 'hostile');
fs.rmSync(DIR, { recursive: true, force: true });
fs.mkdirSync(DIR, { recursive: true });

const REAL = fixture('bare');
// latin1: one character per byte, so string offsets are byte offsets.
const real = fs.readFileSync(REAL, 'latin1');
const CODES = ['ERR_SNAPSHOT_SYNTAX', 'ERR_SNAPSHOT_TRUNCATED', 'ERR_SNAPSHOT_META', 'ERR_SNAPSHOT_INCONSISTENT', 'ERR_SNAPSHOT_NUMBER'];
const MiB = 1 << 20;
// Peak RSS a damaged load may add over the child's own baseline: a few times
// the file (the child's copy of it plus the parsed graph and its analysis)
// and a fixed allowance for the JS heap, the allocator and thread stacks.
const rssBound = (fileBytes) => 3 * fileBytes + 64 * MiB;
// glibc gives each thread that allocates (libuv's pool, the analysis
// threads) an arena of its own and keeps freed memory in each, so peak RSS
// would grow with the number of threads that ever held a graph. Two arenas
// make the peak measure what leakwatch holds at once.
const CHILD_ENV = { ...process.env, MALLOC_ARENA_MAX: '2' };


function once(text, from, to) {
  const at = text.indexOf(from);
  assert.ok(at >= 0 && text.indexOf(from, at + 1) < 0, `${JSON.stringify(from)} occurs exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Byte offset of the `index`-th integer of the top-level array `key`. */
function valueAt(text, key, index) {
  let at = text.indexOf(`"${key}":[`) + key.length + 4;
  for (let k = 0; k < index; k++) at = text.indexOf(',', at) + 1;
  while (!/[-0-9]/.test(text[at])) at++;
  return at;
}

/** [start, end) of the top-level value of `key`: from after the colon to after its closing bracket. */
function span(text, key) {
  const start = text.indexOf(`"${key}":`) + key.length + 3;
  const end = key === 'strings' ? text.lastIndexOf(']') + 1 : text.indexOf(']', start) + 1;
  return [start, end];
}

function replaceValue(text, key, index, value) {
  const at = valueAt(text, key, index);
  const end = at + /^-?[0-9]+/.exec(text.slice(at, at + 40))[0].length;
  return text.slice(0, at) + value + text.slice(end);
}

// Figures of the generated snapshot, so no case depends on one V8's heap.
const HEADER = JSON.parse(real.slice(12, real.lastIndexOf(',', real.indexOf('"nodes":'))));
const N = HEADER.node_count;
const M = HEADER.edge_count;
const NODE_TYPES = HEADER.meta.node_types[0].length;
const EDGE_TYPES = HEADER.meta.edge_types[0].length + 1; // with DevTools' `invisible`
const arrayOf = (text, key) => JSON.parse(text.slice(...span(text, key)));
const NODES = arrayOf(real, 'nodes');
const STRINGS = arrayOf(real, 'strings');
// The record layout comes from the file's meta: Node 20 and 22 write 7
// fields per node, Node 24 and later 6 (no trace_node_id).
const FIELDS = HEADER.meta.node_fields;
const F = FIELDS.length;
const [NAME, ID, SELF, EDGES, DETACHED] = ['name', 'id', 'self_size', 'edge_count', 'detachedness'].map((f) => FIELDS.indexOf(f));
assert.ok([NAME, ID, SELF, EDGES, DETACHED].every((i) => i >= 0) && FIELDS.at(-1) === 'detachedness', `node_fields ${FIELDS}`);
// The second node is the synthetic "(GC roots)": a name to edit in place.
const GC_ROOTS_ID = NODES[F + ID];
assert.equal(STRINGS[NODES[F + NAME]], '(GC roots)');

// A hand-written snapshot: root --shortcut "g"--> global --property "x"--> Thing.
const META = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
  node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string'], 'string', 'number', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
};
function small({ nodes, edges, strings }) {
  return `{"snapshot":{"meta":${JSON.stringify(META)},"node_count":${nodes.length / 7},"edge_count":${edges.length / 3}},\n"nodes":[${nodes}],\n"edges":[${edges}],\n"strings":${JSON.stringify(strings)}}`;
}
const SMALL = small({
  nodes: [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 100, 1, 0, 0, 3, 3, 5, 50, 0, 0, 0],
  edges: [5, 4, 7, 2, 5, 14],
  strings: ['<dummy>', '', 'global', 'Th"i\\ng 😀', 'g', 'x'],
});

async function* chunked(bytes, rnd) {
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(rnd() * 128 * 1024);
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

test('a real snapshot truncated at every 1% fails with ERR_SNAPSHOT_TRUNCATED at the cut, through path, Buffer and stream', async () => {
  const bytes = Buffer.from(real, 'latin1');
  const file = path.join(DIR, 'truncated.heapsnapshot');
  fs.writeFileSync(file, bytes);
  // Where each cut falls: inside an array the engine reads, or inside a value it skips.
  const places = ['nodes', 'edges', 'locations', 'strings', 'trace_function_infos', 'trace_tree', 'samples'].map((key) => [
    span(real, key),
    ['trace_function_infos', 'trace_tree', 'samples'].includes(key) ? `inside the value of \`${key}\`` : `inside the \`${key}\` array`,
  ]);
  const rnd = prng(7);
  // Longest first, so one file is cut shorter each round instead of rewritten.
  for (let pct = 99; pct >= 1; pct--) {
    const cut = Math.floor((bytes.length * pct) / 100);
    const place = places.find(([[start, end]]) => cut >= start && cut < end)?.[1] ?? 'before the closing `}`';
    const expected = `snapshot is truncated at byte ${cut}: the file ends ${place}`;
    const check = (source) => (err) => {
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'ERR_SNAPSHOT_TRUNCATED', `${source} cut at ${pct}%: ${err.message}`);
      assert.equal(err.message, expected, `${source} cut at ${pct}%`);
      return true;
    };
    fs.truncateSync(file, cut);
    assert.throws(() => loadSnapshotSync(bytes.subarray(0, cut)), check('Buffer'));
    await assert.rejects(loadSnapshot(file), check('path'));
    await assert.rejects(loadSnapshot(chunked(bytes.subarray(0, cut), rnd)), check('stream'));
  }
});

test('a small snapshot cut at every byte fails with ERR_SNAPSHOT_TRUNCATED at the cut, also when streamed a byte at a time', async () => {
  const bytes = Buffer.from(SMALL);
  const whole = loadSnapshotSync(bytes);
  assert.equal(whole.node(5).name, 'Th"i\\ng 😀');
  whole.close();
  const place = /^snapshot is truncated at byte (\d+): the file ends (.*)$/;
  const places = new Set();
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.throws(() => loadSnapshotSync(bytes.subarray(0, cut)), (err) => {
      assert.equal(err.code, 'ERR_SNAPSHOT_TRUNCATED', `cut at ${cut}: ${err.message}`);
      const m = place.exec(err.message);
      assert.ok(m, err.message);
      assert.equal(Number(m[1]), cut);
      places.add(m[2]);
      return true;
    });
  }
  // Every state of the top-level object is reached.
  assert.deepEqual([...places].sort(), [
    'after the property name `edges`', 'after the property name `nodes`', 'after the property name `snapshot`',
    'after the property name `strings`', 'before the closing `}`', 'inside a property name', 'inside the `edges` array',
    'inside the `nodes` array', 'inside the `snapshot` header', 'inside the `strings` array',
  ]);
  async function* bytewise(b) {
    for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
  }
  const streamed = await loadSnapshot(bytewise(bytes));
  assert.equal(streamed.node(5).name, 'Th"i\\ng 😀');
  streamed.close();
  for (const cut of [1, 30, 400, bytes.length - 1]) {
    await assert.rejects(loadSnapshot(bytewise(bytes.subarray(0, cut))), { code: 'ERR_SNAPSHOT_TRUNCATED', message: new RegExp(`at byte ${cut}:`) });
  }
});

test('200 seeded random byte flips: each loads with sane numbers or fails with a code and an offset, never a crash, in bounded memory', (t) => {
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, 'flips', REAL, '200', '1'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * MiB, env: CHILD_ENV });
  assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.results.length, 200);
  const tally = {};
  for (const v of out.results) {
    const what = `variant ${v.variant} (${v.kind} at ${v.at})`;
    if (v.ok) {
      tally.loaded = (tally.loaded ?? 0) + 1;
      // Flips cannot add or drop a record and still parse, so counts hold;
      // the summary partitions the total, and no class retains more than it.
      assert.equal(v.nodeCount, N, what);
      assert.equal(v.edgeCount, M, what);
      assert.equal(v.selfSum, v.totalSize, what);
      assert.ok(v.classesSane, what);
      assert.equal(v.top.length, 3, what);
    } else {
      tally[v.code] = (tally[v.code] ?? 0) + 1;
      assert.ok(v.isError, what);
      assert.ok(CODES.includes(v.code), `${what}: ${v.code} ${v.message}`);
      assert.match(v.message, /\bbytes? \d+|\d+-byte file/, `${what} names an offset: ${v.message}`);
    }
    if (v.stream) {
      const { variant, kind, at, stream, ...buffer } = v;
      assert.deepEqual(stream, buffer, `${what}: the stream parser agrees`);
    }
  }
  // Deterministic seeds; both outcomes must be well represented for the corpus to mean anything.
  assert.ok(tally.loaded >= 20 && 200 - tally.loaded >= 50, JSON.stringify(tally));
  const grown = (out.peakKiB - out.baselineKiB) * 1024;
  t.diagnostic(`outcomes ${JSON.stringify(tally)}; baseline RSS ${out.baselineKiB >> 10} MiB, peak ${out.peakKiB >> 10} MiB, +${(grown / MiB).toFixed(1)} MiB over baseline for a ${(out.fileBytes / MiB).toFixed(1)} MiB file (bound ${(rssBound(out.fileBytes) / MiB).toFixed(1)} MiB)`);
  assert.ok(grown <= rssBound(out.fileBytes), `peak RSS grew by ${grown} bytes`);
});

// Each case: a name, an edit of the real snapshot's text, and what must come
// of it: `fail(code, message, at)` expects that error from all three sources,
// naming byte `at` when given (a function of the edited text computes it);
// `same` expects the original's results; `loaded(check)` checks a loaded
// result against the original's.
const fail = (code, message, at) => ({ code, message, at });
const same = { same: true };
const loaded = (check) => ({ check });
const SHIFT = ' \r\n\t ';
// The first record the parser must reject when the array is read `width`
// values at a time with V8's field order: [index, complaint] or null.
function firstBadNode(text, width, detachedness) {
  const v = arrayOf(text, 'nodes');
  for (let k = 0; (k + 1) * width <= v.length; k++) {
    const r = v.slice(k * width, (k + 1) * width);
    if (r[0] >= NODE_TYPES) return [k, `type ${r[0]} is not in the type enum`];
    if (detachedness && r[DETACHED] > 3) return [k, `detachedness ${r[DETACHED]} is not 0..3`];
    if (r[NAME] > 0xffffffff || r[ID] > 0xffffffff || r[EDGES] > 0xffffffff) return [k, 'exceeds 2^32'];
  }
  return null;
}
function firstBadEdge(text, width) {
  const v = arrayOf(text, 'edges');
  for (let k = 0; (k + 1) * width <= v.length; k++) {
    const r = v.slice(k * width, (k + 1) * width);
    if (r[0] >= EDGE_TYPES) return [k, `type ${r[0]} is not in the type enum`];
    if (r[2] % F !== 0) return [k, `target ${r[2]} is not a node offset`];
    if (r[2] / F >= N) return [k, `target ${r[2]} points outside the ${N}-node array`];
    if (r[1] > 0xffffffff) return [k, 'name index exceeds 2^32'];
  }
  return null;
}
function misread(kind, width, detachedness) {
  return (m) => {
    const bad = kind === 'node' ? firstBadNode(m, width, detachedness) : firstBadEdge(m, width);
    assert.ok(bad, `reading ${kind}s ${width} values at a time must hit a bad record`);
    const [k, complaint] = bad;
    return fail('ERR_SNAPSHOT_NUMBER', new RegExp(`: ${kind} ${k}: ${complaint.replace(/[.^]/g, '\\$&')}$`), valueAt(m, `${kind}s`, k * width));
  };
}
const esc = (s) => s.replace(/[.^$()[\]]/g, '\\$&');
const nodesAt = (m) => esc(`the nodes array at bytes ${span(m, 'nodes').join('..')}`);
const edgesAt = (m) => esc(`the edges array at bytes ${span(m, 'edges').join('..')}`);
const setCount = (key, value) => (t) => once(t, `"${key}":${HEADER[key]}`, `"${key}":${value}`);
const deep = Math.floor(M * 0.8);

const hostileCases = [
  ['the original', (t) => t, same],
  // Meta inconsistent with the arrays.
  ['node_fields gains a field', (t) => once(t, '"detachedness"],', '"detachedness","extra"],'), misread('node', F + 1, true)],
  ['node_fields loses a field', (t) => once(t, ',"detachedness"],', '],'), misread('node', F - 1, false)],
  ['node_fields lacks self_size', (t) => once(t, '"self_size","edge_count"', '"selfsize","edge_count"'), fail('ERR_SNAPSHOT_META', /node_fields lacks SelfSize .* \(in the header at bytes 12\.\.\d+\)$/)],
  ['edge_fields lacks to_node', (t) => once(t, '"to_node"]', '"target"]'), fail('ERR_SNAPSHOT_META', /edge_fields lacks ToNode/)],
  ['edge_fields gains a field', (t) => once(t, '"to_node"]', '"to_node","extra"]'), misread('edge', 4)],
  // Consistent all through: offsets into the nodes array (edge targets,
  // location object indices) step by F + 1 fields instead of F.
  ['an unknown node field, present in every record', (t) => {
    const rewrite = (text, key, map) => {
      const [start, end] = span(text, key);
      return `${text.slice(0, start)}[${arrayOf(text, key).map(map).join(',')}]${text.slice(end)}`;
    };
    let out = once(t, '"detachedness"],', '"detachedness","extra"],');
    out = rewrite(out, 'nodes', (v, i) => (i % F === F - 1 ? `${v},${i}` : v));
    out = rewrite(out, 'edges', (v, i) => (i % 3 === 2 ? (v / F) * (F + 1) : v));
    return rewrite(out, 'locations', (v, i) => (i % 4 === 0 ? (v / F) * (F + 1) : v));
  }, same],
  ['nodes array one value short', (t) => {
    const [, end] = span(t, 'nodes');
    return t.slice(0, t.lastIndexOf(',', end - 2)) + t.slice(end - 1);
  }, (m) => fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`\`nodes\` array length is not a multiple of its ${F} fields: the record at byte ${valueAt(m, 'nodes', F * (N - 1))} is incomplete$`))],
  ['nodes array one value long', (t) => {
    const [, end] = span(t, 'nodes');
    return `${t.slice(0, end - 1)},0]${t.slice(end)}`;
  }, (m) => fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`the record at byte ${valueAt(m, 'nodes', F * N)} is incomplete$`))],
  ['node_types missing', (t) => once(t, '"node_types":', '"node_typez":'), fail('ERR_SNAPSHOT_META', /node_types has no entry for `type`/)],
  ['node_types shorter than the types used', (t) => once(t, '"node_types":[["hidden","array","string",', '"node_types":[["hidden","array","string"],["x",'), (m) => fail('ERR_SNAPSHOT_NUMBER', new RegExp(`: node 0: type ${NODES[0]} is not in the type enum$`), valueAt(m, 'nodes', 0))],
  ['node_types with 64 entries', (t) => once(t, '"node_types":[["hidden",', `"node_types":[[${'"t",'.repeat(64 - NODE_TYPES)}"hidden",`), fail('ERR_SNAPSHOT_META', /node type enum has 64 entries/)],
  ['meta missing', (t) => once(t, '"meta":', '"mota":'), fail('ERR_SNAPSHOT_META', /`snapshot\.meta` is missing/)],
  // Edge targets.
  ['edge target not a node offset', (t) => replaceValue(t, 'edges', 2, '8'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: edge 0: target 8 is not a node offset$/, valueAt(m, 'edges', 0))],
  ['edge target one past the last node', (t) => replaceValue(t, 'edges', 2, String(N * F)), (m) => fail('ERR_SNAPSHOT_NUMBER', new RegExp(`: edge 0: target ${N * F} points outside the ${N}-node array$`), valueAt(m, 'edges', 0))],
  ['edge target beyond 2^32', (t) => replaceValue(t, 'edges', 2, String(F * 1e12)), (m) => fail('ERR_SNAPSHOT_NUMBER', new RegExp(`: edge 0: target ${F * 1e12} points outside`), valueAt(m, 'edges', 0))],
  ['edge target out of range deep in the array', (t) => replaceValue(t, 'edges', deep * 3 + 2, String(F * 142857142)), (m) => fail('ERR_SNAPSHOT_NUMBER', new RegExp(`: edge ${deep}: target ${F * 142857142} points outside`), valueAt(m, 'edges', deep * 3))],
  // Counts that lie.
  // Beyond the supported 2^28 nodes / 2^32-1 edges a count is refused from the header alone.
  ['node_count 2^40', setCount('node_count', 2 ** 40), () => fail('ERR_SNAPSHOT_TOO_LARGE', new RegExp(`node_count ${2 ** 40} exceeds the 268435456 nodes supported \\(in the header at bytes \\d+\\.\\.\\d+\\)$`))],
  ['node_count too small', setCount('node_count', 1), fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`node_count says 1 but .* holds ${N}$`))],
  ['node_count zero', setCount('node_count', 0), fail('ERR_SNAPSHOT_INCONSISTENT', /node_count says 0 but/)],
  ['node_count beyond 2^53', setCount('node_count', '9007199254740993'), fail('ERR_SNAPSHOT_TOO_LARGE', /node_count 9007199254740993 exceeds the 268435456 nodes supported \(in the header at bytes \d+\.\.\d+\)$/)],
  ['node_count negative', setCount('node_count', -N), fail('ERR_SNAPSHOT_META', /`node_count` is not a non-negative integer \(in the header at bytes 12\.\.\d+\)$/)],
  ['node_count beyond u64', setCount('node_count', '18446744073709551616'), fail('ERR_SNAPSHOT_META', /`node_count` is not a non-negative integer/)],
  ['node_count as a float', setCount('node_count', `${N}.0`), fail('ERR_SNAPSHOT_META', /`node_count` is not a non-negative integer/)],
  ['node_count with an exponent', setCount('node_count', `${N / 10}e1`), fail('ERR_SNAPSHOT_META', /`node_count` is not a non-negative integer/)],
  ['node_count as a string', setCount('node_count', `"${N}"`), fail('ERR_SNAPSHOT_META', /`node_count` is not a non-negative integer/)],
  ['edge_count 2^40', setCount('edge_count', 2 ** 40), () => fail('ERR_SNAPSHOT_TOO_LARGE', new RegExp(`edge_count ${2 ** 40} exceeds the \\d+ edges supported \\(in the header at bytes \\d+\\.\\.\\d+\\)$`))],
  ['edge_count too small', setCount('edge_count', 3), fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`edge_count says 3 but .* holds ${M}$`))],
  ['a node declares one edge too many', (t) => replaceValue(t, 'nodes', EDGES, String(NODES[EDGES] + 1)), (m) => fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`nodes in ${nodesAt(m)} declare more edges than the ${M} in ${edgesAt(m)}$`))],
  ['a node declares one edge too few', (t) => replaceValue(t, 'nodes', EDGES, String(NODES[EDGES] - 1)), (m) => fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`nodes in ${nodesAt(m)} declare ${M - 1} edges but ${edgesAt(m)} holds ${M}$`))],
  ['root_index not a node', setCount('node_count', `${N},"root_index":3`), (m) => fail('ERR_SNAPSHOT_META', new RegExp(`root_index 3 is not a node of ${nodesAt(m)}$`))],
  ['root_index fractional', setCount('node_count', `${N},"root_index":0.5`), fail('ERR_SNAPSHOT_META', /`root_index` is not a non-negative integer/)],
  // V8 writes negative columns for code compiled with a negative column
  // offset (Vitest's module wrapper on Node 24); DevTools reads the digits.
  ['negative columns in locations', (t) => {
    const [start, end] = span(t, 'locations');
    let negated = 0;
    const values = arrayOf(t, 'locations').map((v, i) => (i % 4 === 3 && v > 0 && negated++ % 2 === 0 ? `-${v}` : v));
    assert.ok(negated > 100, `${negated} columns to negate`);
    return `${t.slice(0, start)}[${values.join(',')}]${t.slice(end)}`;
  }, same],
  ['a minus sign without digits in locations', (t) => once(t, '"locations":[', '"locations":[-,'), (m) => fail('ERR_SNAPSHOT_SYNTAX', /expected a digit after `-`/, m.indexOf('"locations":[') + 14)],
  // Any location value, as DevTools reads it: the digits.
  ['a negative object index in locations', (t) => once(t, '"locations":[', '"locations":[-'), same],
  // Numbers where integers are expected.
  ['self_size 2^53 + 1', (t) => replaceValue(t, 'nodes', SELF, '9007199254740993'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: integer exceeds 2\^53$/, valueAt(m, 'nodes', SELF))],
  ['self_size beyond u64', (t) => replaceValue(t, 'nodes', SELF, '123456789012345678901234567890'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: integer exceeds 2\^53$/, valueAt(m, 'nodes', SELF))],
  ['self_size 2^52', (t) => replaceValue(t, 'nodes', F + SELF, '4503599627370496'), loaded((r, o) => {
    assert.equal(r.nodeCount, o.nodeCount);
    assert.equal(r.totalSize, o.totalSize - NODES[F + SELF] + 2 ** 52);
  })],
  // One number may be 2^53 - 1, but then the others push the sum past what a total can hold.
  ['self_size 2^53 - 1', (t) => replaceValue(t, 'nodes', F + SELF, '9007199254740991'), fail('ERR_SNAPSHOT_TOO_LARGE', /self sizes add up to more than 2\^53-1 bytes \(by byte \d+\)/)],
  ['self_size fractional', (t) => replaceValue(t, 'nodes', SELF, '0.5'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: expected a non-negative integer$/, valueAt(m, 'nodes', SELF) + 1)],
  ['self_size with an exponent', (t) => replaceValue(t, 'nodes', SELF, '1e3'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: expected a non-negative integer$/, valueAt(m, 'nodes', SELF) + 1)],
  ['self_size negative', (t) => replaceValue(t, 'nodes', SELF, '-1'), (m) => fail('ERR_SNAPSHOT_NUMBER', /: expected a non-negative integer$/, valueAt(m, 'nodes', SELF))],
  // Deep nesting: counted, never recursed.
  ['a million [ in a skipped value', (t) => once(t, '"samples":[]', `"samples":${'['.repeat(1e6)}${']'.repeat(1e6)}`), same],
  // The allocation trace tree is read, not skipped: nesting without a
  // node's numbers is an error where it starts, still never recursed.
  ['a million [ in the trace tree', (t) => once(t, '"trace_tree":[]', `"trace_tree":${'['.repeat(1e6)}${']'.repeat(1e6)}`), (m) => fail('ERR_SNAPSHOT_SYNTAX', /a children array before the node's numbers in `trace_tree`/, m.indexOf('"trace_tree":') + 14)],
  ['a million unclosed [ in a skipped value', (t) => once(t, '"samples":[]', `"samples":${'['.repeat(1e6)}`), (m) => fail('ERR_SNAPSHOT_TRUNCATED', /the file ends inside the value of `samples`$/, m.length)],
  ['a million [ in the header', (t) => once(t, '"node_count"', `"x":${'['.repeat(1e6)}${']'.repeat(1e6)},"node_count"`), fail('ERR_SNAPSHOT_SYNTAX', /header is implausibly large/, 12 + MiB)],
  // A JSON tree takes ~16 bytes per `0,`: before the header was capped at
  // 1 MiB this file took 260 MB to reject.
  ['a 12 MB array in the header', (t) => once(t, '"node_count"', `"x":[${'0,'.repeat(6 * MiB)}0],"node_count"`), fail('ERR_SNAPSHOT_SYNTAX', /header is implausibly large \(over 1024 KiB\)/, 12 + MiB)],
  ['a hundred thousand [ in the header', (t) => once(t, '"node_count"', `"x":${'['.repeat(1e5)}${']'.repeat(1e5)},"node_count"`), fail('ERR_SNAPSHOT_META', /recursion limit exceeded/)],
  ['nested arrays in nodes', (t) => once(t, '"nodes":[', `"nodes":[${'['.repeat(1e6)}`), (m) => fail('ERR_SNAPSHOT_SYNTAX', /expected an integer in `nodes`/, m.indexOf('"nodes":[') + 9)],
  ['a million [ as the document', () => '['.repeat(1e6), fail('ERR_SNAPSHOT_SYNTAX', /expected `\{` at the start of a heap snapshot/, 0)],
  // Strings.
  ['invalid UTF-8 in a string', (t) => once(t, '"(GC roots)"', '"(GC \x80 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 roots)"'), loaded((r) => {
    const raw = Buffer.from('(GC \x80 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 roots)', 'latin1');
    assert.equal(r.names[GC_ROOTS_ID], new TextDecoder().decode(raw), 'decoded as TextDecoder (so DevTools) decodes');
    assert.equal(r.names[GC_ROOTS_ID], '(GC \ufffd \ufffd\ufffd \ufffd\ufffd\ufffd \ufffd\ufffd\ufffd\ufffd \ufffd roots)');
  })],
  ['lone surrogate escapes', (t) => once(t, '"(GC roots)"', '"(GC \\ud800 roots \\udfff\\ud800)"'), loaded((r) => {
    const parsed = JSON.parse('"(GC \\ud800 roots \\udfff\\ud800)"');
    assert.equal(parsed.isWellFormed(), false);
    assert.equal(r.names[GC_ROOTS_ID], parsed.toWellFormed(), 'each lone surrogate is shown as U+FFFD');
  })],
  ['escapes of every kind', (t) => once(t, '"(GC roots)"', '"(GC\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\uD83D\\uDE00 roots)"'), loaded((r) => {
    assert.equal(r.names[GC_ROOTS_ID], JSON.parse('"(GC\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\uD83D\\uDE00 roots)"'));
  })],
  ['an invalid escape', (t) => once(t, '"(GC roots)"', '"(GC \\x roots)"'), (m) => fail('ERR_SNAPSHOT_SYNTAX', /invalid escape `\\x` in a string/, m.indexOf('\\x roots') + 1)],
  ['a \\u escape cut short', (t) => once(t, '"(GC roots)"', '"(GC \\u12 roots)"'), (m) => fail('ERR_SNAPSHOT_SYNTAX', /invalid \\u escape/, m.indexOf('\\u12 roots') + 4)],
  // Framing.
  ['a byte order mark', (t) => `\xef\xbb\xbf${t}`, same],
  ['whitespace between every token', (t) => {
    const [end] = span(t, 'strings');
    return t.slice(0, end).replace(/[,:[\]{}]/g, (c) => `${SHIFT}${c}${SHIFT}`) + t.slice(end);
  }, same],
  ['trailing whitespace and NULs', (t) => `${t}\n\0\0 \t\r\n`, same],
  ['trailing garbage', (t) => `${t} x`, fail('ERR_SNAPSHOT_SYNTAX', /unexpected data after the end of the snapshot/, real.length + 1)],
  ['a second document', (t) => t + t, fail('ERR_SNAPSHOT_SYNTAX', /unexpected data after the end of the snapshot/, real.length)],
  ['escaped property names', (t) => once(once(t, '"nodes":', '"\\u006eodes":'), '"strings":', '"str\\u0069ngs":'), same],
  ['nodes twice', (t) => once(t, '"trace_tree":[]', '"nodes":[]'), (m) => fail('ERR_SNAPSHOT_SYNTAX', /`nodes` appears twice/, m.indexOf('"nodes":[]') + 7)],
  ['no strings', (t) => once(t, '"strings":', '"strongs":'), (m) => fail('ERR_SNAPSHOT_INCONSISTENT', new RegExp(`the ${m.length}-byte file has no \`strings\`$`))],
];

// Graphs that parse but no heap could produce, on the small layout.
const smallCases = [
  // The cons string's `first` and `second` parts are itself: naming it must still end.
  ['a cons string made of itself', () => small({
    nodes: [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, 1, 0, 0, 10, 3, 5, 20, 2, 0, 0],
    edges: [5, 4, 7, 2, 5, 14, 3, 6, 14, 3, 7, 14],
    strings: ['<dummy>', '', 'global', '(concatenated string)', 'g', 's', 'first', 'second'],
  }), [5], loaded((r) => {
    assert.equal(r.names[5], '');
    assert.equal(r.nodeCount, 3);
  })],
  // 3000 objects of 2^53 - 1 bytes: sums beyond u64 saturate everywhere alike.
  ['sizes that sum beyond 2^64', () => {
    const nodes = [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, 3000, 0, 0];
    const edges = [5, 4, 7];
    for (let k = 0; k < 3000; k++) {
      nodes.push(3, 3, 5 + 2 * k, '9007199254740991', 0, 0, 0);
      edges.push(1, k, 7 * (k + 2));
    }
    return small({ nodes, edges, strings: ['<dummy>', '', 'global', 'Big', 'g'] });
  }, [3], fail('ERR_SNAPSHOT_TOO_LARGE', /self sizes add up to more than 2\^53-1 bytes \(by byte \d+\)/)],
];

test('hostile edits of a real snapshot: the right result or the right coded error at the right byte, from path, Buffer and stream alike', (t) => {
  const jobs = [];
  const expectations = new Map();
  for (const [name, edit, expect] of hostileCases) {
    const text = edit(real);
    const file = path.join(DIR, `${jobs.length}-${name.replace(/[^\w]+/g, '-')}.heapsnapshot`);
    fs.writeFileSync(file, Buffer.from(text, 'latin1'));
    jobs.push({ name, file, ids: [GC_ROOTS_ID] });
    expectations.set(name, { expect: typeof expect === 'function' ? expect(text) : expect, bytes: text.length });
  }
  for (const [name, make, ids, check] of smallCases) {
    const file = path.join(DIR, `${jobs.length}-${name.replace(/[^\w]+/g, '-')}.heapsnapshot`);
    fs.writeFileSync(file, make());
    jobs.push({ name, file, ids });
    expectations.set(name, { expect: check, bytes: fs.statSync(file).size });
  }
  const jobsFile = path.join(DIR, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, 'cases', jobsFile], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * MiB, env: CHILD_ENV });
  assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.results.length, jobs.length);
  const original = out.results[0].buffer;
  assert.ok(original.ok && original.nodeCount > 10_000, JSON.stringify(original));
  for (const res of out.results) {
    const { expect } = expectations.get(res.name);
    for (const source of ['path', 'buffer', 'stream']) {
      const got = res[source];
      const what = `${res.name} via ${source}: ${JSON.stringify(got).slice(0, 300)}`;
      if (expect.same) {
        assert.ok(got.ok, what);
        assert.deepEqual({ ...got, names: {} }, { ...original, names: {} }, what);
      } else if (expect.check) {
        assert.ok(got.ok, what);
        assert.ok(got.classesSane, what);
        expect.check(got, original);
      } else {
        assert.equal(got.ok, false, what);
        assert.ok(got.isError, what);
        assert.equal(got.code, expect.code, what);
        assert.match(got.message, expect.message, what);
        if (expect.at !== undefined) assert.match(got.message, new RegExp(`\\bbyte ${expect.at}\\b`), what);
        assert.match(got.message, /\bbytes? \d+|\d+-byte file/, `${what}: names an offset`);
      }
    }
    assert.deepEqual(res.stream, res.buffer, `${res.name}: stream and Buffer agree`);
    assert.deepEqual(res.path, res.buffer, `${res.name}: path and Buffer agree`);
  }
  // The peak only rises, so each case is held to the bound of the largest
  // file loaded so far: a case that allocates by a lying count fails here.
  let largest = 0;
  for (const res of out.results) {
    largest = Math.max(largest, expectations.get(res.name).bytes);
    const grown = (res.peakKiB - out.baselineKiB) * 1024;
    assert.ok(grown <= rssBound(largest), `${res.name}: peak RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
  }
  const grown = (out.peakKiB - out.baselineKiB) * 1024;
  t.diagnostic(`${jobs.length} cases x 3 sources; baseline RSS ${out.baselineKiB >> 10} MiB, peak ${out.peakKiB >> 10} MiB, +${(grown / MiB).toFixed(1)} MiB over baseline; largest file ${(largest / MiB).toFixed(1)} MiB (bound ${(rssBound(largest) / MiB).toFixed(1)} MiB)`);
});
