// Writes the committed seed corpus of the fuzz targets (fuzz/corpus/<target>/).
//
//   node fuzz/make-seeds.mjs
//
// A real snapshot is megabytes; the fuzzer wants inputs of a few KB that
// still reach every phase. So the seeds are: a real Node heap cut down to its
// first nodes in breadth-first order from the root, hand-built graphs that
// exercise each special rule of the analysis (detachedness, WeakMap
// ephemerons, concatenated strings, descriptor arrays, locations...), a few
// malformed files, one per kind of typed error, and for the graph target a
// few graph descriptions.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native',
  'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
const META = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
  node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
};
const NODE_WIDTH = META.node_fields.length;

// nodes: [{ type, name, id, size, detached?, edges: [[edgeType, nameOrIndex, targetNode]] }]
// Edge names are strings (interned here) except for element and hidden edges.
function build(nodes, { locations = [], extra = {} } = {}) {
  const strings = [];
  const index = new Map();
  const intern = (s) => {
    if (!index.has(s)) {
      index.set(s, strings.length);
      strings.push(s);
    }
    return index.get(s);
  };
  const flatNodes = [];
  const flatEdges = [];
  for (const n of nodes) {
    flatNodes.push(NODE_TYPES.indexOf(n.type), intern(n.name), n.id, n.size, n.edges.length, 0, n.detached ?? 0);
    for (const [type, name, to] of n.edges) {
      const numeric = type === 'element' || type === 'hidden';
      flatEdges.push(EDGE_TYPES.indexOf(type), numeric ? name : intern(name), to * NODE_WIDTH);
    }
  }
  const flatLocations = locations.flatMap(([node, script, line, col]) => [node * NODE_WIDTH, script, line, col]);
  return JSON.stringify({
    snapshot: { meta: META, node_count: nodes.length, edge_count: flatEdges.length / 3, trace_function_count: 0, ...extra },
    nodes: flatNodes,
    edges: flatEdges,
    trace_function_infos: [],
    trace_tree: [],
    samples: [],
    locations: flatLocations,
    strings,
  });
}

// The first `keep` nodes of a live heap in breadth-first order from the
// root, with only the edges among them: real names, types and shapes.
function prunedRealHeap(keep) {
  const snap = JSON.parse(readStream(v8.getHeapSnapshot()));
  const meta = snap.snapshot.meta;
  const w = meta.node_fields.length;
  const ew = meta.edge_fields.length;
  const types = meta.node_types[0];
  const etypes = meta.edge_types[0];
  const count = snap.nodes.length / w;
  const firstEdge = new Array(count + 1).fill(0);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + snap.nodes[i * w + 4];
  const order = [0];
  const seen = new Map([[0, 0]]);
  for (let k = 0; k < order.length && order.length < keep; k++) {
    const n = order[k];
    for (let e = firstEdge[n]; e < firstEdge[n + 1] && order.length < keep; e++) {
      const t = snap.edges[e * ew + 2] / w;
      if (!seen.has(t)) {
        seen.set(t, order.length);
        order.push(t);
      }
    }
  }
  return order.map((n) => {
    const edges = [];
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e++) {
      const type = etypes[snap.edges[e * ew]];
      const raw = snap.edges[e * ew + 1];
      const to = seen.get(snap.edges[e * ew + 2] / w);
      if (to === undefined) continue;
      edges.push([type, type === 'element' || type === 'hidden' ? raw : snap.strings[raw], to]);
    }
    return {
      type: types[snap.nodes[n * w]],
      name: snap.strings[snap.nodes[n * w + 1]].slice(0, 40),
      id: snap.nodes[n * w + 2],
      size: snap.nodes[n * w + 3],
      edges,
    };
  });
}

function readStream(stream) {
  const chunks = [];
  let chunk;
  while ((chunk = stream.read()) !== null) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const node = (type, name, id, size, edges = [], detached = 0) => ({ type, name, id, size, edges, detached });

const minimal = build([
  node('synthetic', '', 1, 0, [['shortcut', 'global', 1], ['element', 1, 2]]),
  node('object', 'Object', 3, 24, [['property', 'self', 1]]),
  node('synthetic', '(GC roots)', 5, 0, [['element', 1, 1]]),
]);

// Each special rule of DevTools' analysis, in one small heap.
const featureNodes = [
  /* 0 */ node('synthetic', '', 1, 0, [['shortcut', 'globalThis', 1], ['element', 1, 2], ['element', 2, 14]]),
  /* 1 */ node('object', 'Window', 3, 40, [
    ['property', 'map', 3], ['property', 'cache', 4], ['property', 'text', 7], ['property', 'plain', 10],
    ['property', 'fn', 11], ['internal', 'descriptors', 12], ['weak', 'weakref', 13], ['property', 'self', 1],
    ['property', 'arr', 16], ['property', 'big', 17]]),
  /* 2 */ node('synthetic', '(GC roots)', 5, 0, [['element', 1, 15], ['element', 2, 18]]),
  /* 3 */ node('object', 'WeakMap', 7, 32, [['internal', 'table', 5]]),
  /* 4 */ node('object', 'Object', 9, 16, [['property', 'key', 6]]),
  /* 5 */ node('array', '(object elements)', 11, 64, [
    ['internal', '1 / part of key (Object @9) -> value (Object @13) pair in WeakMap (table @11)', 6],
    ['hidden', 3, 8]]),
  /* 6 */ node('object', 'Object', 13, 24, [
    ['internal', '2 / part of key (Object @9) -> value (Object @13) pair in WeakMap (table @11)', 8]]),
  /* 7 */ node('concatenated string', 'ab', 15, 32, [['internal', 'first', 8], ['internal', 'second', 9]]),
  /* 8 */ node('string', 'a\u00e9\u{1F600}"\\\n', 17, 16),
  /* 9 */ node('string', 'b\u2028\ud800', 19, 16),
  /* 10 */ node('object', 'Object', 21, 28, [['property', 'alpha', 8], ['property', 'beta, "gamma"', 9],
    ['property', '__proto__', 4]]),
  /* 11 */ node('closure', 'handler', 23, 32, [['context', 'x', 4], ['internal', 'shared', 12]]),
  /* 12 */ node('array', '(map descriptors)', 25, 48, [['element', 0, 8], ['element', 1, 9], ['element', 4, 10],
    ['property', '7', 6]]),
  /* 13 */ node('native', 'Detached HTMLDivElement', 27, 80, [['property', 'child', 19]], 2),
  /* 14 */ node('synthetic', '(Document DOM trees)', 29, 0, [['element', 1, 19]]),
  /* 15 */ node('hidden', 'system / NativeContext', 31, 100, [['internal', 'sloppy_function_map', 11],
    ['internal', 'x', 20]]),
  /* 16 */ node('array', '(internal array)', 33, 4294967296, [['element', 0, 16]]),
  /* 17 */ node('native', 'system / ExternalStringData', 35, 9007199254740991),
  /* 18 */ node('code', '(compiled code)', 37, 12, [['weak', 'w', 1]]),
  /* 19 */ node('native', 'HTMLSpanElement', 39, 40, [['property', 'parent', 13]], 1),
  /* 20 */ node('object', 'Lonely', 41, 8, [['property', 'other', 21]]),
  /* 21 */ node('object', 'Lonely', 43, 8, [['property', 'other', 20]]),
];
const features = build(featureNodes, {
  locations: [[1, 3, 10, 4], [11, 3, 20, 0]],
  extra: { root_index: 0, extra_native_bytes: 4096 },
});

const writeSeeds = (target, seeds) => {
  const dir = path.join(here, 'corpus', target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(seeds)) fs.writeFileSync(path.join(dir, name), bytes);
};

const valid = {
  minimal,
  features,
  'real-heap': build(prunedRealHeap(70)),
  'bom-minimal': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(minimal)]),
};
const malformed = {
  'truncated': features.slice(0, Math.floor(features.length * 0.6)),
  'no-meta': minimal.replace('"node_fields"', '"nodes_fields"'),
  'count-mismatch': minimal.replace('"node_count":3', '"node_count":4'),
  'negative': minimal.replace('"nodes":[9,', '"nodes":[-9,'),
  'huge-number': minimal.replace('"nodes":[9,', '"nodes":[90071992547409931,'),
  'bad-target': minimal.replace(/"edges":\[5,(\d+),7/, '"edges":[5,$1,8'),
  'strings-first': `{"strings":["a"],${minimal.slice(1)}`,
  'nodes-first': `{"nodes":[],${minimal.slice(1)}`,
};
for (const [name, text] of Object.entries(malformed)) {
  if (valid.minimal === text || features === text) throw new Error(`seed ${name} did not change`);
}

const raw = { ...valid, ...malformed };
writeSeeds('parse_whole', raw);
// The graph target also reads any input that does not open with `{` as a
// graph description (fuzz/src/lib.rs `structured_snapshot`): seed a few.
const structured = {};
let state = 0x2545f491;
for (const size of [64, 256, 1024]) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  if (bytes[0] === 0x7b) bytes[0] = 0;
  structured[`graph-${size}`] = bytes;
}
writeSeeds('graph', { ...valid, ...structured });
// parse_chunked inputs lead with chunk lengths (see fuzz/src/lib.rs `split`).
const chunked = {};
const cuts = [[1], [0, 3], [7, 1, 255], [2, 64], [255]];
Object.entries(raw).forEach(([name, text], i) => {
  const lengths = cuts[i % cuts.length];
  chunked[name] = Buffer.concat([Buffer.from([lengths.length, ...lengths]), Buffer.from(text)]);
});
writeSeeds('parse_chunked', chunked);
