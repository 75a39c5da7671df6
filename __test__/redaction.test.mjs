// Redaction holds for every byte of the program's data: a leaking program
// plants `sk_live_SECRET123…` in every position a snapshot can show it
// (string value, property name, Map key, Set member, closure variable, keys
// of an object used as a map, class names V8 takes from data, a global
// property name), and every API, command and format is searched for it with
// `redact: true` / `--redact`. Each search has its control: without
// redaction the same outputs do show the secrets, position by position.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { OUT, ROOT, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeHostileNames, PREFIX } = require('./fixtures/hostile-names.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');
const files = makeHostileNames(path.join(OUT, `hostile-names-${process.version.split('.')[0]}`));

// Every position the fixture plants, as the suffix of its secret.
const POSITIONS = [
  '_string_value',
  '_property_name',
  '_map_key',
  '_set_member',
  '_closure_value',
  '_dict_key0',
  '_to_string_tag',
  '_global_property',
  '_symbol_key',
  '_leak_holder',
  '_leak_key',
  '_map_holder',
];

function cli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  // `leaks` exits 1 when it reports suspects, as this leaking program has.
  assert.equal(r.status, args[0] === 'leaks' ? 1 : 0, `leakwatch ${args.join(' ')}: ${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
}

function missing(text) {
  return POSITIONS.filter((p) => !text.includes(`${PREFIX}${p}`));
}

/** Ids of the nodes within a few steps of the global objects: where the planted data hangs. */
function nearGlobals(snap, limit = 2500) {
  const globals = snap.topRetainers(100).filter((n) => n.className.startsWith('global'));
  assert.ok(globals.length > 0, 'a global object is among the largest');
  const seen = new Set(globals.map((g) => g.id));
  let frontier = [...seen];
  for (let depth = 0; depth < 4 && seen.size < limit; depth++) {
    const next = [];
    for (const id of frontier) {
      for (const e of snap.edges(id)) {
        if (!seen.has(e.node.id) && seen.size < limit) {
          seen.add(e.node.id);
          next.push(e.node.id);
        }
      }
    }
    frontier = next;
  }
  return [...seen];
}

/** Everything the snapshot API shows about these nodes, as one text. */
function everyQuery(snap, ids, options) {
  const parts = [
    snap.summary(options),
    snap.topRetainers(1000, options),
    snap.report({ top: 1000, maxClasses: 100_000, ...options }),
    snap.columns(options).classKeys,
    snap.columns(options).classNames,
  ];
  // The classes whose names carry data (a placeholder once redacted), asked for by the key shown.
  for (const row of snap.summary(options).filter((c) => c.key.includes(PREFIX) || c.key.includes('<'))) {
    parts.push(snap.instances(row.key, { ...options, limit: 20 }), snap.instances(row.name, { ...options, limit: 20 }).classes);
  }
  for (const id of ids) {
    parts.push(
      snap.node(id, options),
      snap.edges(id, options),
      snap.retainers(id, options),
      snap.retainerPath(id, options),
      snap.dominatorChain(id, { ...options, limit: 50 }),
      snap.children(id, { ...options, limit: 50 }),
    );
  }
  return JSON.stringify(parts);
}

test('the fixture plants every position where the API shows it (the control)', async () => {
  const snap = await leakwatch.loadSnapshot(files[2]);
  try {
    const ids = nearGlobals(snap);
    assert.deepEqual(missing(everyQuery(snap, ids, {})), [], 'every secret is visible without redaction');
  } finally {
    snap.close();
  }
});

test('no snapshot query, report or summary shows a secret with redact: true', async () => {
  const snap = await leakwatch.loadSnapshot(files[2]);
  try {
    const ids = nearGlobals(snap);
    const shown = everyQuery(snap, ids, { redact: true });
    assert.equal(shown.includes(PREFIX), false, `redacted queries show ${missing(shown).length} fewer positions than all`);
    assert.match(shown, /<key:[0-9a-f]{8}>/);
    assert.match(shown, /<string:[0-9a-f]{8}>/);
    assert.match(shown, /<class:[0-9a-f]{8}>/);
    // Code identifiers stay: a closure variable, a method, a class V8 compiled.
    for (const kept of ['->apiKey', 'useKey', '"EventEmitter"', '"Map"']) assert.ok(shown.includes(kept), `${kept} is code and is kept`);
  } finally {
    snap.close();
  }
  for (const report of [
    await leakwatch.analyzeSnapshot(files[2], { redact: true, top: 1000, maxClasses: 100_000 }),
    leakwatch.analyzeSnapshotSync(files[2], { redact: true, top: 1000, maxClasses: 100_000 }),
  ]) {
    assert.equal(JSON.stringify(report).includes(PREFIX), false);
  }
  const control = JSON.stringify(leakwatch.analyzeSnapshotSync(files[2], { top: 1000, maxClasses: 100_000 }));
  assert.ok(control.includes(PREFIX), 'the same report without redaction shows secrets');
});

test('diffSnapshots and findLeaks hide every secret, and their placeholders read as paths', async () => {
  const rows = await leakwatch.diffSnapshots(files[0], files[2], { redact: true });
  assert.equal(JSON.stringify(rows).includes(PREFIX), false);
  assert.ok(JSON.stringify(await leakwatch.diffSnapshots(files[0], files[2])).includes(PREFIX), 'control');

  const suspects = await leakwatch.findLeaks(files, { redact: true });
  assert.ok(suspects.length >= 1, 'the leak is found with redaction too');
  // Every field, and the notes and per-snapshot totals the array carries.
  const text = JSON.stringify({ suspects, notes: suspects.notes, snapshots: suspects.snapshots });
  assert.equal(text.includes(PREFIX), false, text.slice(0, 500));
  const plain = await leakwatch.findLeaks(files);
  assert.deepEqual(missing(JSON.stringify(plain)).includes('_leak_holder'), false, 'control: the holder is named');
  // Field by field where the words name things: the control shows a secret
  // in each, so a name that bypasses the policy in any of them fails here.
  for (const field of ['explanation', 'text', 'parts', 'holderName', 'holderPath', 'pathShape', 'leakedClass', 'retainerPath']) {
    assert.ok(plain.some((s) => JSON.stringify(s[field] ?? null).includes(PREFIX)), `control: ${field} shows a secret`);
    for (const s of suspects) assert.equal(JSON.stringify(s[field] ?? null).includes(PREFIX), false, `${field}: ${JSON.stringify(s[field])}`);
  }
  for (const s of [...plain, ...suspects]) {
    assert.equal(s.parts.map((p) => p.text).join(''), s.text, 'the parts are the sentence');
    for (const field of ['evidence', 'advice']) assert.equal(typeof s[field], 'string');
  }
  assert.ok(
    suspects.every((s) => s.parts.some((p) => p.kind === 'variable' && /^<key:[0-9a-f]{8}>$/.test(p.text))),
    'the global holding each leak is a variable part, shown by placeholder',
  );
  // The same verdicts, only the names differ; the holder's placeholder is
  // the name of the edge the path enters it through.
  assert.deepEqual(suspects.map((s) => s.kind), plain.map((s) => s.kind));
  assert.deepEqual(suspects.map((s) => s.growth), plain.map((s) => s.growth));
  for (const s of suspects) {
    assert.match(s.holderName, /^<key:[0-9a-f]{8}>$/);
    const into = s.retainerPath.findLast((step) => step.node.id === s.holder.id);
    assert.equal(into.edgeName, s.holderName);
    // The sentence names the holder by its path from a variable, when it has one.
    if (s.holderPath) assert.ok(s.holderPath.endsWith(`.${s.holderName}`), s.holderPath);
    assert.ok(s.explanation.includes(`\`${s.holderPath ?? s.holderName}\``), s.explanation);
  }
});

test('every command and format hides every secret with --redact', () => {
  const html = (name) => path.join(OUT, `redacted-${name}-${process.pid}.html`);
  const runs = {
    'analyze text': ['analyze', files[2], '--top', '1000', '--classes', '100000'],
    'analyze json': ['analyze', files[2], '--top', '1000', '--classes', '100000', '--json'],
    'analyze html': ['analyze', files[2], '--top', '1000', '--classes', '100000', '--html', html('analyze')],
    'diff text': ['diff', files[0], files[2], '--top', '100000'],
    'diff json': ['diff', files[0], files[2], '--json'],
    'diff html': ['diff', files[0], files[2], '--html', html('diff')],
    'leaks text': ['leaks', ...files],
    'leaks json': ['leaks', ...files, '--json'],
    'leaks html': ['leaks', ...files, '--html', html('leaks')],
  };
  for (const [what, args] of Object.entries(runs)) {
    const htmlFile = args.includes('--html') ? args[args.indexOf('--html') + 1] : null;
    const read = () => {
      let out = cli(args);
      if (htmlFile) out += fs.readFileSync(htmlFile, 'utf8');
      return out;
    };
    const plain = read();
    assert.ok(plain.includes(PREFIX), `${what}: the control shows secrets`);
    args.push('--redact');
    const redacted = read();
    assert.equal(redacted.includes(PREFIX), false, `${what} --redact shows a secret`);
    assert.match(redacted, /<(key|string|class):[0-9a-f]{8}>/, `${what}: placeholders stand in`);
  }
  // The commands print class names, holder names and paths (string contents
  // only of strings among the largest objects): without redaction they show
  // every position that reaches those, which redaction then hid above.
  const all = Object.values(runs).map((args) => cli(args.filter((a) => a !== '--redact'))).join('');
  const shownByCommands = ['_property_name', '_dict_key0', '_to_string_tag', '_leak_holder', '_leak_key', '_map_holder'];
  assert.deepEqual(missing(all).filter((p) => shownByCommands.includes(p)), []);
});

test('one report keeps one placeholder per name: the HTML file and the JSON of the same run agree', () => {
  const file = path.join(OUT, `redacted-same-run-${process.pid}.html`);
  const out = spawnSync(process.execPath, [CLI, 'leaks', ...files, '--json', '--redact', '--html', file], { encoding: 'utf8' });
  assert.equal(out.status, 1, out.stderr);
  const { suspects } = JSON.parse(out.stdout);
  const html = fs.readFileSync(file, 'utf8');
  for (const s of suspects) {
    const escaped = s.holderName.replace(/</g, '&lt;').replace(/>/g, '&gt;');
    assert.ok(html.includes(`<code>${escaped}</code>`), `the HTML names the holder ${s.holderName} as the JSON does`);
  }
});

// The verdicts' own sentences: listener events, emitters, holders reached
// through keys of objects used as maps, timers' owners, closures. Each leak
// of this program keeps a secret where its verdict reads names.
const { makeHostileLeaks } = require('./fixtures/hostile-leaks.js');
const leakFiles = makeHostileLeaks(path.join(OUT, `hostile-leaks-${process.version.split('.')[0]}`));
// Positions the unredacted verdicts show: a global holding an emitter, its
// event, a global holding an array of closures, a key of an object used as a map.
const VERDICT_POSITIONS = ['_emitter_global', '_event_name', '_closures_global', '_dict_key'];

test('leak verdicts name no secret with redact: a listener event, an emitter, map keys, timers, closures', async () => {
  const plain = await leakwatch.findLeaks(leakFiles);
  const redacted = await leakwatch.findLeaks(leakFiles, { redact: true });
  const kinds = (list) => list.map((s) => s.kind).sort();
  for (const kind of ['collection', 'listeners', 'timers']) assert.ok(kinds(plain).includes(kind), `a ${kind} verdict: ${kinds(plain)}`);
  assert.deepEqual(kinds(redacted), kinds(plain), 'redaction changes no verdict');
  const sentences = plain.map((s) => s.text).join('\n');
  for (const p of VERDICT_POSITIONS) assert.ok(sentences.includes(`${PREFIX}${p}`), `control: the sentences show ${p}`);

  const all = JSON.stringify({ redacted, notes: redacted.notes, snapshots: redacted.snapshots });
  assert.equal(all.includes(PREFIX), false, all.slice(0, 500));
  const listeners = redacted.find((s) => s.kind === 'listeners');
  assert.match(listeners.text, /^EventEmitter `<key:[0-9a-f]{8}>` keeps gaining '<key:[0-9a-f]{8}>' listeners/, listeners.text);
  const keyed = redacted.find((s) => /^<key:[0-9a-f]{8}>\.<key:[0-9a-f]{8}>$/.test(s.holderPath ?? ''));
  assert.ok(keyed, 'the array under a key of an object used as a map reads as a path of placeholders');
  // Code stays: the closures' function and the timers' owner class.
  assert.ok(redacted.some((s) => s.text.includes('`onRequest`')));
  assert.ok(redacted.some((s) => s.kind === 'timers' && s.text.includes('Poller')));

  for (const format of [[], ['--json'], ['--html', path.join(OUT, `redacted-verdicts-${process.pid}.html`)]]) {
    const read = (extra) => {
      let out = cli(['leaks', ...leakFiles, ...format, ...extra]);
      if (format[0] === '--html') out += fs.readFileSync(format[1], 'utf8');
      return out;
    };
    const shown = read([]);
    for (const p of VERDICT_POSITIONS) assert.ok(shown.includes(`${PREFIX}${p}`), `control: leaks ${format[0] ?? 'text'} shows ${p}`);
    const hidden = read(['--redact']);
    assert.equal(hidden.includes(PREFIX), false, `leaks ${format[0] ?? 'text'} --redact shows a secret`);
    assert.match(hidden, /'<key:[0-9a-f]{8}>' listeners/);
  }
});

test('expectNoLeak and expectCollected keep the data out of their messages with redact', async () => {
  // A global named by data holds an object used as a map: both names are data.
  const globalName = `${PREFIX}_assert_global`;
  const held = (globalThis[globalName] = {});
  try {
    let serial = 0;
    const leak = () => {
      held[`${PREFIX}_entry${serial++}`] = { serial };
    };
    const options = { iterations: 20, allocationSites: false };
    const shown = (err) => `${err.message}\n${JSON.stringify(err.suspects ?? err.retainerPath)}`;
    await assert.rejects(leakwatch.expectNoLeak(leak, options), (err) => {
      assert.ok(shown(err).includes(PREFIX), `control: ${err.message}`);
      return true;
    });
    await assert.rejects(leakwatch.expectNoLeak(leak, { ...options, redact: true }), (err) => {
      assert.equal(shown(err).includes(PREFIX), false, shown(err));
      assert.match(err.message, /<key:[0-9a-f]{8}>/);
      return true;
    });
    const keep = (k) => () => {
      const conn = { open: false };
      held[`${PREFIX}_kept${k}`] = conn;
      return conn;
    };
    await assert.rejects(leakwatch.expectCollected(keep(1)), (err) => {
      assert.ok(shown(err).includes(PREFIX), `control: ${err.message}`);
      return true;
    });
    await assert.rejects(leakwatch.expectCollected(keep(2), { redact: true }), (err) => {
      assert.equal(shown(err).includes(PREFIX), false, shown(err));
      assert.match(err.message, /<key:[0-9a-f]{8}>/);
      return true;
    });
  } finally {
    delete globalThis[globalName];
  }
});
