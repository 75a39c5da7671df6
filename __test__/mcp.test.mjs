// `leakwatch mcp`: an MCP client from the official SDK spawns the server over
// stdio, lists its tools and calls each on real snapshots. Answers are
// checked against the public API on the same files (an independent path
// through the engine), and for their bounds, redaction and error handling.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { fixture, leakSeries, leakwatch, OUT, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeMcpHeaps, SECRET } = require('./fixtures/mcp-heaps.js');
const { MAX_ANSWER_CHARS } = require('../lib/mcp/shape.js');

const BIN = path.join(ROOT, 'bin', 'leakwatch.js');
const DIR = path.join(OUT, 'mcp');
fs.mkdirSync(DIR, { recursive: true });

const TOOLS = [
  'analyze_snapshot',
  'class_instances',
  'diff_snapshots',
  'dominator_chain',
  'find_leaks',
  'loaded_snapshots',
  'node_children',
  'node_details',
  'node_edges',
  'node_retainers',
  'retainer_path',
];

async function connect(args = []) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', ...args], cwd: ROOT, stderr: 'pipe' });
  let stderr = '';
  transport.stderr.on('data', (d) => {
    stderr += d;
  });
  const client = new Client({ name: 'leakwatch-test', version: '1.0.0' });
  await client.connect(transport);
  client.stderrText = () => stderr;
  return client;
}

/** Calls a tool; returns its parsed answer, its text, and whether it is an error. */
async function call(client, name, args = {}, options) {
  const result = await client.callTool({ name, arguments: args }, undefined, options);
  assert.equal(result.content.length, 1, `${name} answers with one text`);
  const { text } = result.content[0];
  assert.ok(text.length <= MAX_ANSWER_CHARS, `${name} answer of ${text.length} characters`);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { json, text, isError: Boolean(result.isError) };
}

async function ok(client, name, args, options) {
  const r = await call(client, name, args, options);
  assert.equal(r.isError, false, `${name} failed: ${r.text}`);
  return r.json;
}

function withClient(args, fn) {
  return async () => {
    const client = await connect(args);
    try {
      await fn(client);
    } finally {
      await client.close();
    }
  };
}

const objects = () => fixture('objects');

/**
 * The object a global variable holds, found through the API: Node 20-24 put
 * the global object under the root, Node 26 puts a NativeContext above it.
 */
async function globalProperty(file, name) {
  const snap = await leakwatch.loadSnapshot(file);
  try {
    const seen = new Set();
    let level = [1];
    for (let depth = 0; depth < 3 && level.length > 0; depth++) {
      const next = [];
      for (const id of level) {
        for (const e of snap.edges(id)) {
          if (e.name === name && e.type === 'property') return { global: id, node: e.node };
          // The globals hang off the root's shortcuts and the native context's global_object.
          const toward = e.type === 'shortcut' || e.name === 'global_object' || e.node.name === 'system / NativeContext';
          if (toward && !seen.has(e.node.id)) {
            seen.add(e.node.id);
            next.push(e.node.id);
          }
        }
      }
      level = next;
    }
    throw new Error(`no global ${name} in ${file}`);
  } finally {
    snap.close();
  }
}

test(
  'lists every tool, each with a redact option, and answers analyze_snapshot like the API',
  withClient([], async (client) => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.equal(t.inputSchema.properties.redact?.type, 'boolean', `${t.name} takes redact`);
      assert.ok(t.description.length > 40, `${t.name} says what it does`);
    }
    const file = objects();
    const a = await ok(client, 'analyze_snapshot', { path: file, top: 5, classes: 10, redact: false });
    const snap = await leakwatch.loadSnapshot(file);
    try {
      const report = snap.report({ top: 5, maxClasses: 10, maxSteps: 6 });
      assert.deepEqual(
        { nodeCount: a.nodeCount, edgeCount: a.edgeCount, totalSize: a.totalSize, classCount: a.classCount },
        { nodeCount: snap.nodeCount, edgeCount: snap.edgeCount, totalSize: snap.totalSize, classCount: snap.summary().length },
      );
      assert.deepEqual(
        a.classes.map((c) => [c.key, c.count, c.retainedSize]),
        report.classes.map((c) => [c.key, c.count, c.retainedSize]),
      );
      assert.deepEqual(
        a.largest.map((t) => [t.node.id, t.node.retainedSize]),
        report.top.map((t) => [t.node.id, t.node.retainedSize]),
      );
      // Each short path is the API's path capped at six steps, cut where the API cuts it.
      for (const [i, t] of a.largest.entries()) {
        assert.deepEqual(
          t.path.map((s) => [s.node.id, s.edge, s.skipped]),
          report.top[i].retainerPath.map((s) => [s.node.id, s.edgeLabel, s.skipped]),
        );
      }
      assert.ok(a.largest.some((t) => t.path.some((step) => step.edge === '.leakwatchFixture')), 'edges read as DevTools labels them');
    } finally {
      snap.close();
    }
  }),
);

test(
  'find_leaks names the leak in a growing process and finds nothing in a steady one',
  withClient([], async (client) => {
    const series = leakSeries();
    const leak = await ok(client, 'find_leaks', { paths: series, redact: false });
    assert.ok(leak.suspects.length >= 1, 'a suspect');
    const top = leak.suspects[0];
    assert.match(top.explanation, /requestLog/, 'the sentence names the array that grows');
    // requestLog is created after snapshot 1: it is the holder, empty there.
    assert.equal(top.holderClass, 'Array');
    assert.deepEqual(top.counts, [0, 2000, 4000]);
    assert.equal(top.leakedClass, '{url, method}', 'and what accumulates in it');
    assert.ok(top.path.some((s) => s.edge === '.requestLog'), 'the path goes through requestLog');
    assert.ok(top.newObjects >= 4000, `${top.newObjects} new objects`);
    // The server's default: the same verdict, with no name that is data.
    const redacted = await ok(client, 'find_leaks', { paths: series });
    const text = JSON.stringify(redacted.suspects);
    assert.equal(redacted.suspects[0].kind, top.kind);
    for (const data of ['requestLog', '/api/', '{url, method}']) assert.equal(text.includes(data), false, `redacted find_leaks shows ${data}`);
    assert.match(redacted.suspects[0].explanation, /<key:[0-9a-f]{8}>/);

    const steady = makeMcpHeaps('steady', path.join(DIR, 'steady'));
    const control = await ok(client, 'find_leaks', { paths: steady, redact: false });
    assert.deepEqual(control.suspects, [], 'work that keeps nothing is not a leak');

    // Four snapshots: all are used where the engine takes N, else three are, and the answer says which.
    const growing = makeMcpHeaps('growing', path.join(DIR, 'growing'));
    const four = await ok(client, 'find_leaks', { paths: growing, redact: false });
    assert.ok(four.suspects.length >= 1, 'a suspect across four snapshots');
    assert.match(four.suspects[0].explanation, /openSessions/);
    assert.match(four.suspects[0].leakedClass, /Session/);
    if (four.compared) assert.deepEqual(four.compared, [growing[0], growing[1], growing[3]]);

    const few = await call(client, 'find_leaks', { paths: series.slice(0, 2) });
    assert.equal(few.isError, true, 'fewer than three snapshots is a tool error');
  }),
);

test(
  'diff_snapshots totals and rows match diffSnapshots',
  withClient([], async (client) => {
    const [s1, , s3] = leakSeries();
    const d = await ok(client, 'diff_snapshots', { before: s1, after: s3, classes: 5, redact: false });
    const rows = (await leakwatch.diffSnapshots(s1, s3)).filter((r) => r.addedCount > 0 || r.removedCount > 0);
    assert.equal(d.totals.classesChanged, rows.length);
    assert.equal(d.totals.addedCount, rows.reduce((t, r) => t + r.addedCount, 0));
    assert.equal(d.totals.sizeDelta, rows.reduce((t, r) => t + r.sizeDelta, 0));
    assert.equal(d.classes.length, 5);
    const largest = rows.reduce((m, r) => (Math.abs(r.sizeDelta) > Math.abs(m.sizeDelta) ? r : m));
    assert.equal(d.classes[0].key, largest.key, 'largest size change first');
    assert.deepEqual(d.classes[0].exampleAddedIds, [...largest.addedIds.subarray(0, 3)]);
    // An example id is a node of the "after" file.
    const n = await ok(client, 'node_details', { path: s3, id: d.classes[0].exampleAddedIds[0], redact: false });
    assert.equal(n.node.className, largest.name);
  }),
);

test(
  'node tools agree with the API: details, edges, retainers, children, path and chain',
  withClient([], async (client) => {
    const file = objects();
    const snap = await leakwatch.loadSnapshot(file);
    try {
      const fixtureObject = (await globalProperty(file, 'leakwatchFixture')).node;
      const d = await ok(client, 'node_details', { path: file, id: fixtureObject.id, redact: false });
      assert.equal(d.node.retainedSize, fixtureObject.retainedSize);
      assert.equal(d.edgeCount, snap.edges(fixtureObject.id).length);
      assert.equal(d.retainerCount, snap.retainers(fixtureObject.id).length);
      assert.equal(d.dominator.id, snap.dominatorChain(fixtureObject.id)[1].id);
      assert.ok(d.edges.length <= 5 && d.retainers.length <= 5, 'details preview a few edges');

      // Edges page by page, in the API's order.
      const apiEdges = snap.edges(fixtureObject.id).map((e) => [e.label, e.node.id]);
      const seen = [];
      let offset = 0;
      do {
        const page = await ok(client, 'node_edges', { path: file, id: fixtureObject.id, limit: 4, offset, redact: false });
        assert.equal(page.total, apiEdges.length);
        assert.equal(page.offset, offset);
        assert.ok(page.edges.length <= 4);
        seen.push(...page.edges.map((e) => [e.edge, e.node.id]));
        offset = page.nextOffset;
      } while (offset !== undefined);
      assert.deepEqual(seen, apiEdges);
      // Past the end: an empty page that still counts the edges.
      const beyond = await ok(client, 'node_edges', { path: file, id: fixtureObject.id, offset: apiEdges.length + 5, redact: false });
      assert.deepEqual([beyond.total, beyond.edges, beyond.nextOffset], [apiEdges.length, [], undefined]);

      // A node held from many places: retainers are paged and counted.
      // Two classes are named Foo, listed in an order that differs between
      // Node versions; the larger holds the prototype every instance points to.
      const foo = snap.summary().filter((c) => c.name === 'Foo').sort((a, b) => b.retainedSize - a.retainedSize)[0];
      const inst = await ok(client, 'class_instances', { path: file, class: foo.key, limit: 1, redact: false });
      const proto = inst.instances[0].id;
      const apiRetainers = snap.retainers(proto);
      const r = await ok(client, 'node_retainers', { path: file, id: proto, limit: 10, redact: false });
      assert.ok(apiRetainers.length > 1000, `${apiRetainers.length} retainers`);
      assert.equal(r.total, apiRetainers.length);
      assert.deepEqual(r.retainers.map((x) => x.node.id), apiRetainers.slice(0, 10).map((x) => x.node.id));
      const later = await ok(client, 'node_retainers', { path: file, id: proto, limit: 10, offset: r.nextOffset, redact: false });
      assert.deepEqual(later.retainers.map((x) => x.node.id), apiRetainers.slice(10, 20).map((x) => x.node.id));

      // Dominator children: the API's page, in its order (largest first).
      const kids = snap.children(fixtureObject.id, { limit: 100 });
      const c = await ok(client, 'node_children', { path: file, id: fixtureObject.id, limit: 100, redact: false });
      assert.equal(c.total, kids.total);
      assert.deepEqual(c.children.map((k) => k.id), kids.map((k) => k.id));
      assert.ok(c.children.every((k, i) => i === 0 || c.children[i - 1].retainedSize >= k.retainedSize));

      // A short path and chain come whole.
      const p = await ok(client, 'retainer_path', { path: file, id: fixtureObject.id, redact: false });
      assert.deepEqual(p.steps.map((s) => s.node.id), snap.retainerPath(fixtureObject.id).map((s) => s.node.id));
      assert.equal(p.length, p.steps.length);
      const chain = await ok(client, 'dominator_chain', { path: file, id: fixtureObject.id, redact: false });
      assert.deepEqual(chain.chain.map((n) => n.id), snap.dominatorChain(fixtureObject.id).map((n) => n.id));
      assert.equal(chain.nextOffset, undefined);

      // The end of a 100,000-long linked list: the path is capped as the API
      // caps it (its first third and last two thirds, the step after the
      // cut counting the skipped ones), the chain comes a page at a time.
      const deepest = deepestNode(snap);
      const apiPath = snap.retainerPath(deepest, { maxSteps: 12 });
      const fullLength = apiPath.length + apiPath.reduce((n, s) => n + (s.skipped ?? 0), 0);
      assert.ok(fullLength > 99_000, `${fullLength}-step path`);
      const capped = await ok(client, 'retainer_path', { path: file, id: deepest, redact: false });
      assert.equal(capped.length, fullLength);
      assert.equal(capped.steps.length, 12);
      assert.deepEqual(
        capped.steps.map((s) => [s.node.id, s.edge, s.skipped]),
        apiPath.map((s) => [s.node.id, s.edgeLabel, s.skipped]),
      );
      assert.equal(capped.steps[4].skipped, fullLength - 12, 'four steps, then the cut, then eight');
      const longer = await ok(client, 'retainer_path', { path: file, id: deepest, maxSteps: 30, redact: false });
      assert.deepEqual(longer.steps.map((s) => s.node.id), snap.retainerPath(deepest, { maxSteps: 30 }).map((s) => s.node.id));
      const apiChain = snap.dominatorChain(deepest, { limit: 40 });
      const deepChain = await ok(client, 'dominator_chain', { path: file, id: deepest, redact: false });
      assert.equal(deepChain.total, apiChain.total);
      assert.ok(deepChain.total > 99_000);
      assert.deepEqual(deepChain.chain.map((n) => n.id), apiChain.slice(0, 20).map((n) => n.id));
      const nextChain = await ok(client, 'dominator_chain', { path: file, id: deepest, offset: deepChain.nextOffset, redact: false });
      assert.deepEqual(nextChain.chain.map((n) => n.id), apiChain.slice(20, 40).map((n) => n.id));
    } finally {
      snap.close();
    }
  }),
);

/** The node farthest from the globals: the end of the fixture's 100,000-node linked list. */
function deepestNode(snap) {
  const { ids, distances } = snap.columns();
  let best = 0;
  let farthest = -1;
  for (let i = 0; i < ids.length; i++) {
    if (distances[i] < 100_000_000 && distances[i] > farthest) [best, farthest] = [i, distances[i]];
  }
  return ids[best];
}

test(
  'class_instances pages through a large class exactly once, in retained-size order',
  withClient([], async (client) => {
    const file = objects();
    const snap = await leakwatch.loadSnapshot(file);
    let expected;
    let bar;
    try {
      bar = snap.summary().find((c) => c.name === 'Bar');
      // Independent answer from the per-node columns (in node order, which breaks ties).
      const cols = snap.columns();
      const cls = cols.classKeys.indexOf(bar.key);
      const order = [];
      for (let i = 0; i < cols.ids.length; i++) if (cols.classIds[i] === cls && cols.selfSizes[i] > 0) order.push(i);
      order.sort((x, y) => cols.retainedSizes[y] - cols.retainedSizes[x] || x - y);
      expected = order.map((i) => [cols.retainedSizes[i], cols.ids[i]]);
    } finally {
      snap.close();
    }
    assert.equal(expected.length, bar.count);
    const got = [];
    let offset = 0;
    let pages = 0;
    do {
      const page = await ok(client, 'class_instances', { path: file, class: 'Bar', limit: 100, offset });
      assert.equal(page.total, bar.count);
      assert.ok(page.instances.length <= 100);
      got.push(...page.instances.map((n) => [n.retainedSize, n.id]));
      offset = page.nextOffset;
      pages++;
    } while (offset !== undefined);
    assert.equal(pages, Math.ceil(bar.count / 100));
    assert.deepEqual(got, expected);

    const two = await ok(client, 'class_instances', { path: file, class: 'Foo', limit: 1 });
    assert.equal(two.classes.length, 2, 'a name covers both classes called Foo');
    assert.equal(two.total, two.classes[0].count + two.classes[1].count);
    const one = await ok(client, 'class_instances', { path: file, class: two.classes[1].key, limit: 1 });
    assert.equal(one.total, two.classes[1].count, 'a key names one class');
  }),
);

test(
  'bad input comes back as a tool error and the server keeps serving',
  withClient([], async (client) => {
    const file = objects();
    const snap = await leakwatch.loadSnapshot(file);
    const absentId = snap.columns().ids.reduce((m, id) => Math.max(m, id), 0) + 2;
    snap.close();
    const cases = [
      ['analyze_snapshot', { path: path.join(DIR, 'no-such.heapsnapshot') }, 'ERR_SNAPSHOT_IO'],
      ['analyze_snapshot', { path: path.join(ROOT, 'package.json') }, /^ERR_SNAPSHOT_/],
      ['analyze_snapshot', { path: DIR }, 'ERR_SNAPSHOT_IO'],
      ['analyze_snapshot', { path: '/dev/zero' }, 'ERR_SNAPSHOT_IO'],
      ['node_details', { path: file, id: absentId }, 'ERR_UNKNOWN_NODE'],
      ['retainer_path', { path: file, id: 2 ** 40 }, 'ERR_UNKNOWN_NODE'],
      ['class_instances', { path: file, class: 'NoSuchClass' }, 'ERR_UNKNOWN_CLASS'],
    ];
    const empty = path.join(DIR, 'empty.heapsnapshot');
    fs.writeFileSync(empty, '', { mode: 0o600 });
    cases.push(['analyze_snapshot', { path: empty }, 'ERR_SNAPSHOT_EMPTY']);
    const truncated = path.join(DIR, 'truncated.heapsnapshot');
    fs.writeFileSync(truncated, fs.readFileSync(leakSeries()[0]).subarray(0, 100_000), { mode: 0o600 });
    cases.push(['analyze_snapshot', { path: truncated }, /^ERR_SNAPSHOT_/]);
    for (const [name, args, code] of cases) {
      const r = await call(client, name, args);
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} is an error`);
      if (typeof code === 'string') assert.equal(r.json.error.code, code, r.text);
      else assert.match(r.json.error.code, code, r.text);
    }
    // Arguments of the wrong type or out of range fail validation, also as tool errors.
    for (const [name, args, field] of [
      ['node_details', { path: file, id: 'x' }, 'id'],
      ['node_details', { path: file, id: -1 }, 'id'],
      ['node_edges', { path: file, id: 1, limit: 10_000 }, 'limit'],
      ['node_edges', { path: file, id: 1, offset: 'o:20' }, 'offset'],
      ['node_children', { path: file, id: 1, offset: -1 }, 'offset'],
      ['dominator_chain', { path: file, id: 1, offset: 1.5 }, 'offset'],
      ['class_instances', { path: file, class: 'Bar', offset: 2 ** 33 }, 'offset'],
      ['analyze_snapshot', {}, 'path'],
      ['find_leaks', { paths: 'a,b,c' }, 'paths'],
    ]) {
      const r = await call(client, name, args);
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} is an error`);
      assert.match(r.text, new RegExp(`Input validation error: .* at ${field}$`), 'the argument is named');
    }
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }).then((r) => (r.isError ? Promise.reject(new Error(r.content[0].text)) : r)));
    const after = await ok(client, 'node_details', { path: file, id: 1 });
    assert.equal(after.node.type, 'synthetic', 'still serving');
    assert.equal(client.stderrText(), '', 'nothing on stderr');
  }),
);

test(
  'redaction: on by default, planted secrets appear in no answer; off on request',
  withClient([], async (client) => {
    const [file] = makeMcpHeaps('secrets', path.join(DIR, 'secrets.heapsnapshot'));
    const answers = await exploreFixture(client, file, {});
    for (const text of answers) assert.ok(!text.includes('sk_live'), `a secret leaked: ${text.slice(0, 300)}`);
    assert.ok(answers.some((t) => t.includes('<key:')) && answers.some((t) => t.includes('<string:')), 'placeholders stand in');
    // The engine's placeholders, nothing else in angle brackets of that form.
    const kinds = new Set(answers.join('\n').match(/<[a-z]+:[0-9a-f]{8}>/g).map((p) => p.slice(1, p.indexOf(':'))));
    assert.deepEqual([...kinds].filter((k) => !['string', 'key', 'class', 'function', 'number', 'symbol', 'bigint', 'regexp', 'name'].includes(k)), []);
    // Code identifiers stay: a class the program declares and the property its constructor sets.
    const joined = answers.join('\n');
    assert.ok(joined.includes('"edge":".requestLog"') && joined.includes('"className":"RequestTracker"'), 'declared names are kept');
    // The control: the same walk with redaction off shows every planted place.
    const shown = (await exploreFixture(client, file, { redact: false })).join('\n');
    for (const place of ['token=sk_live', '"sk_live_SECRET123"', '-in-closure', '-in-set', '-in-array', 'sk_live_SECRET123-7', '-in-tracker', '-as-key']) {
      assert.ok(shown.includes(place), `unredacted answers show ${place}`);
    }
  }),
);

test('redacted answers name everything as the API and the CLI\'s formatter do for the same loaded snapshot', async () => {
  const mcpPath = require.resolve('@modelcontextprotocol/sdk/server/mcp.js');
  const { McpServer } = require(mcpPath);
  const { InMemoryTransport } = require('@modelcontextprotocol/sdk/inMemory.js');
  const z = createRequire(mcpPath)('zod');
  const { createServer } = require('../lib/mcp/server.js');
  const { SnapshotCache } = require('../lib/mcp/cache.js');
  const { formatPath } = require('../lib/format.js');
  const shape = require('../lib/mcp/shape.js');
  const [file] = makeMcpHeaps('secrets', path.join(DIR, 'secrets.heapsnapshot'));
  const cache = new SnapshotCache({ budgetBytes: 2 ** 31 });
  const server = createServer({ sdk: { McpServer, z }, cache, redact: 'on', version: 'test' });
  const [serverEnd, clientEnd] = InMemoryTransport.createLinkedPair();
  await server.connect(serverEnd);
  const client = new Client({ name: 'leakwatch-test', version: '1.0.0' });
  await client.connect(clientEnd);
  const handle = await cache.acquire(file);
  try {
    const snap = handle.snapshot;
    const a = await ok(client, 'analyze_snapshot', { path: file, top: 20, classes: 50 });
    assert.equal(a.cached, true, 'the answer comes from the snapshot held here');
    const report = snap.report({ top: 20, maxClasses: 50, maxSteps: 6, redact: true });
    assert.deepEqual(a.classes, report.classes.map((c) => ({ ...shape.classNames(c), count: c.count, selfSize: c.selfSize, retainedSize: c.retainedSize, distance: c.distance })));
    assert.deepEqual(a.largest.map((t) => t.path), report.top.map((t) => shape.steps(t.retainerPath)));
    // What `leakwatch analyze --redact` prints for these paths uses the same placeholders.
    const answer = JSON.stringify(a);
    const printed = report.top.map((t) => formatPath(t.retainerPath)).join('\n');
    const placeholders = new Set(printed.match(/<[a-z]+:[0-9a-f]{8}>/g));
    assert.ok(placeholders.size >= 2, printed);
    for (const p of placeholders) assert.ok(answer.includes(p), `${p} from the CLI's text is in the answer`);

    // The tracker's string: its path, the node tools, and a redacted class name passed back.
    const { node: fixture } = await globalProperty(file, 'mcpFixture');
    const tracker = snap.edges(fixture.id).find((e) => e.name === 'tracker').node;
    const log = snap.edges(tracker.id).find((e) => e.name === 'requestLog').node;
    const p = await ok(client, 'retainer_path', { path: file, id: log.id });
    assert.deepEqual(p.steps, shape.steps(snap.retainerPath(log.id, { maxSteps: 12, redact: true })));
    assert.deepEqual(p.steps.slice(-2).map((s) => [s.edge, s.node.className]), [
      [snap.retainerPath(tracker.id, { redact: true }).at(-1).edgeLabel, 'RequestTracker'],
      ['.requestLog', 'Array'],
    ]);
    assert.match(p.steps.at(-2).edge, /^\.<key:[0-9a-f]{8}>$/, 'the key of an object used as a map is hidden');
    // `keyed` holds `{sk_live_SECRET123-as-key, plain}` objects: DevTools names their class by their keys.
    const keyedClass = snap.summary().find((c) => c.name === '{sk_live_SECRET123-as-key, plain}');
    assert.equal(keyedClass?.count, 100, 'the control names the class');
    const [props] = snap.instances(keyedClass.key, { limit: 1 });
    const d = await ok(client, 'node_details', { path: file, id: props.id });
    assert.deepEqual(d.node, shape.node(snap.node(props.id, { redact: true })));
    assert.deepEqual(d.edges, snap.edges(props.id, { limit: 5, redact: true }).map(shape.link));
    assert.deepEqual(d.retainers, snap.retainers(props.id, { limit: 5, redact: true }).map(shape.link));
    assert.match(d.classKey, /^,\{<key:[0-9a-f]{8}>, <key:[0-9a-f]{8}>\}$/);
    const inst = await ok(client, 'class_instances', { path: file, class: d.node.className });
    assert.deepEqual(inst.classes.map((c) => c.key), [d.classKey], 'the placeholder class name finds the class');
    assert.equal(inst.total, 100);
    assert.equal(inst.instances[0].id, props.id);
    const guess = await call(client, 'class_instances', { path: file, class: props.className });
    assert.equal(guess.json.error.code, 'ERR_UNKNOWN_CLASS', 'the real name is no key to a redacted answer');
  } finally {
    handle.release();
    await client.close();
    cache.clear();
  }
});

test(
  'redaction modes: --no-redact turns the default off, --redact always cannot be turned off',
  async () => {
    const [file] = makeMcpHeaps('secrets', path.join(DIR, 'secrets.heapsnapshot'));
    let client = await connect(['--no-redact']);
    try {
      const shown = (await exploreFixture(client, file, {})).join('\n');
      assert.ok(shown.includes(SECRET));
      const hidden = (await exploreFixture(client, file, { redact: true })).join('\n');
      assert.ok(!hidden.includes('sk_live'));
    } finally {
      await client.close();
    }
    client = await connect(['--redact', 'always']);
    try {
      const r = await call(client, 'analyze_snapshot', { path: file, redact: false });
      assert.equal(r.isError, true);
      assert.equal(r.json.error.code, 'ERR_REDACTION_REQUIRED');
      assert.equal((await call(client, 'analyze_snapshot', { path: file })).isError, false);
    } finally {
      await client.close();
    }
  },
);

/**
 * Walks the `secrets` fixture with every node tool: from the global through
 * `mcpFixture` to each planted value and into Map, Set, closure and array
 * internals. Returns every answer's text.
 */
async function exploreFixture(client, file, extra) {
  const texts = [];
  const get = async (name, args) => {
    const r = await call(client, name, { path: file, ...args, ...extra });
    assert.equal(r.isError, false, r.text);
    texts.push(r.text);
    return r.json;
  };
  await get('analyze_snapshot', { top: 20, classes: 50 });
  const found = await globalProperty(file, 'mcpFixture');
  await get('node_edges', { id: found.global, limit: 100 });
  const holder = { id: found.node.id, distance: found.node.distance, edges: (await get('node_edges', { id: found.node.id, limit: 100 })).edges };
  for (const e of holder.edges) {
    if (e.node.className.startsWith('{')) {
      const cls = await get('class_instances', { class: e.node.className, limit: 3 });
      assert.ok(cls.total >= 1, 'a class name from an answer can be passed back');
    }
  }
  // Breadth first along shortest-path edges, three steps deep: every planted
  // value is there; each string found is asked about with every string-facing tool.
  const seen = new Set([holder.id]);
  const queue = [{ id: holder.id, distance: holder.distance, depth: 0 }];
  while (queue.length > 0) {
    const at = queue.shift();
    const { edges } = await get('node_edges', { id: at.id, limit: 100 });
    for (const e of edges) {
      if (seen.has(e.node.id) || e.edgeType === 'weak' || ['code', 'object shape'].includes(e.node.type)) continue;
      seen.add(e.node.id);
      if (['string', 'concatenated string', 'sliced string'].includes(e.node.type)) {
        await get('node_details', { id: e.node.id });
        await get('node_retainers', { id: e.node.id, limit: 5 });
        await get('retainer_path', { id: e.node.id });
      } else if (at.depth < 3 && e.node.distance === at.distance + 1) {
        queue.push({ id: e.node.id, distance: e.node.distance, depth: at.depth + 1 });
      }
    }
  }
  await get('node_children', { id: found.global, limit: 50 });
  await get('dominator_chain', { id: holder.edges[0].node.id });
  // One file three times is not one process's history: refused, and the
  // error's text is searched for secrets like every answer.
  const same = await call(client, 'find_leaks', { path: file, paths: [file, file, file], ...extra });
  assert.equal(same.isError, true, same.text);
  assert.equal(same.json.error.code, 'ERR_SNAPSHOT_ORDER');
  texts.push(same.text);
  await get('diff_snapshots', { before: file, after: file });
  await get('loaded_snapshots', {});
  return texts;
}

test(
  'bounds: clipped names, no raw control characters, capped pages',
  withClient(['--no-redact'], async (client) => {
    const [file] = makeMcpHeaps('secrets', path.join(DIR, 'secrets.heapsnapshot'));
    const texts = await exploreFixture(client, file, {});
    const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    for (const t of texts) assert.ok(!unsafe.test(t), `raw control character in ${t.slice(0, 200)}`);
    const joined = texts.join('\n');
    assert.ok(joined.includes('\\u001b]0;pwned\\u0007') && joined.includes('\\u009b31m') && joined.includes('\\u202egnp'), 'control characters arrive escaped');
    // The 10,000-character property name and the string of it are cut to 100.
    // (As `{ppp…}`, `.ppp…` or the string itself: 99 or 100 p's and the ellipsis.)
    const long = texts.flatMap((t) => t.match(/p{99}…/g) ?? []);
    assert.ok(long.length > 0, 'the long name is shown clipped');
    assert.ok(!joined.includes('p'.repeat(101)), 'never longer than 100 characters');
  }),
);

test(
  'cache: loads once per file identity, evicts the least recently used within the budget, reloads a rewritten file',
  async () => {
    const [s1, s2, s3] = leakSeries();
    const copy = path.join(DIR, 'rewritten.heapsnapshot');
    fs.copyFileSync(s1, copy);
    const link = path.join(DIR, 'link.heapsnapshot');
    fs.rmSync(link, { force: true });
    fs.symlinkSync(s2, link);
    // A budget that holds s1 and s2, but not them and s3 too, with room for
    // s3 once s2 is gone (the server guesses 1.3 bytes a file byte until loaded).
    const memory = [];
    for (const f of [s1, s2]) {
      const snap = await leakwatch.loadSnapshot(f);
      memory.push(require('../binding.js').queryMemoryBytes(snap._native));
      snap.close();
    }
    const budgetMiB = Math.ceil((memory[0] + memory[1] + 0.65 * fs.statSync(s3).size) / 2 ** 20);
    const client = await connect(['--cache-mb', String(budgetMiB)]);
    try {
      const progress = [];
      const first = await ok(client, 'analyze_snapshot', { path: s1, top: 0 }, { onprogress: (p) => progress.push(p) });
      assert.equal(first.cached, false);
      assert.ok(progress.length >= 2, `${progress.length} progress notifications`);
      assert.deepEqual([progress[0].progress, progress.at(-1).progress], [0, 100]);
      assert.ok(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress), 'progress only rises');
      const again = [];
      assert.equal((await ok(client, 'analyze_snapshot', { path: s1, top: 0 }, { onprogress: (p) => again.push(p) })).cached, true);
      assert.equal(again.length, 0, 'no progress without a load');

      assert.equal((await ok(client, 'analyze_snapshot', { path: s2, top: 0 })).cached, false);
      assert.equal((await ok(client, 'analyze_snapshot', { path: link, top: 0 })).cached, true, 'a symlink reaches the same file');
      await ok(client, 'analyze_snapshot', { path: s1, top: 0 }); // s2 is now the least recently used
      assert.equal((await ok(client, 'analyze_snapshot', { path: s3, top: 0 })).cached, false);
      const state = await ok(client, 'loaded_snapshots');
      assert.deepEqual(state.snapshots.map((s) => s.path), [s1, s3], 's2 went first; s1 was used since');
      assert.equal(state.count, 2);
      assert.ok(state.usedBytes <= state.budgetBytes && state.budgetBytes === budgetMiB * 2 ** 20);
      assert.equal((await ok(client, 'analyze_snapshot', { path: s2, top: 0 })).cached, false, 'an evicted file loads again');

      // One file asked for by several calls at once is loaded once.
      const both = await Promise.all([0, 1, 2].map(() => ok(client, 'analyze_snapshot', { path: copy, top: 0 })));
      assert.equal(both.filter((a) => !a.cached).length, 3, 'none found it loaded');
      assert.equal((await ok(client, 'loaded_snapshots')).snapshots.filter((s) => s.path === copy).length, 1);
      // A rewritten file is a new file.
      fs.copyFileSync(s3, copy);
      const rewritten = await ok(client, 'analyze_snapshot', { path: copy, top: 0 });
      assert.equal(rewritten.cached, false);
      assert.equal(rewritten.nodeCount, (await ok(client, 'analyze_snapshot', { path: s3, top: 0 })).nodeCount);
      const paths = (await ok(client, 'loaded_snapshots')).snapshots.map((s) => s.path);
      assert.equal(paths.filter((p) => p === copy).length, 1, 'the old contents are gone');
      // A deleted file is an error, and what was loaded from it is let go.
      fs.rmSync(copy);
      assert.equal((await call(client, 'analyze_snapshot', { path: copy })).json.error.code, 'ERR_SNAPSHOT_IO');
      assert.deepEqual((await ok(client, 'loaded_snapshots')).snapshots.filter((s) => s.path === copy), []);
    } finally {
      await client.close();
    }
  },
);

test(
  'cancelling a call drops the load nobody else waits for; the server carries on',
  withClient([], async (client) => {
    const copy = path.join(DIR, 'cancelled.heapsnapshot');
    fs.copyFileSync(objects(), copy);
    const controller = new AbortController();
    const pending = client.callTool({ name: 'analyze_snapshot', arguments: { path: copy } }, undefined, { signal: controller.signal });
    // The 40 MB file takes several times longer than this to load.
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending);
    const state = await ok(client, 'loaded_snapshots');
    assert.deepEqual(state.snapshots.filter((x) => x.path === copy), []);
    assert.equal((await ok(client, 'analyze_snapshot', { path: copy, top: 0 })).cached, false);
  }),
);

test('leakwatch mcp --help, bad flags, and a missing SDK', () => {
  const help = spawnSync(process.execPath, [BIN, 'mcp', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--no-redact/);
  const bad = spawnSync(process.execPath, [BIN, 'mcp', '--redact', 'sometimes'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--redact must be on, off or always/);
  // Resolve the SDK as if it were not installed.
  const hide = path.join(DIR, 'hide-sdk.cjs');
  fs.writeFileSync(
    hide,
    `const M = require('node:module'); const r = M._resolveFilename;
M._resolveFilename = function (req, ...rest) { if (req.startsWith('@modelcontextprotocol/sdk')) { const e = new Error('not found'); e.code = 'MODULE_NOT_FOUND'; throw e; } return r.call(this, req, ...rest); };`,
  );
  const missing = spawnSync(process.execPath, ['-r', hide, BIN, 'mcp'], { encoding: 'utf8', input: '' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /ERR_MCP_SDK_MISSING/);
  // Run from a checkout rather than a project's node_modules: the hint is npx with both packages.
  const { version } = require('../package.json');
  assert.ok(missing.stderr.includes(`run: npx -y -p leakwatch@${version} -p @modelcontextprotocol/sdk@1.32.2 leakwatch mcp`), missing.stderr);
  assert.equal(missing.stdout, '');
});
