// Ground truth for exactness tests: runs Chrome DevTools' own heap snapshot worker code (bundled by
// build.mjs) on a .heapsnapshot file and returns what the Summary / Comparison views would show.
//
//   devtoolsAnalyze(path) -> per-node columns + per-class aggregates (see analyzeLoaded below)
//   devtoolsDiff(basePath, currentPath) -> Comparison view rows, keyed like DevTools keys them
//   loadDevtoolsSnapshot(path) -> the initialized JSHeapSnapshot itself, for ad-hoc queries
//
// CLI: node __test__/oracle/devtools.mjs <file.heapsnapshot> [--out dump.json]
//      node __test__/oracle/devtools.mjs --diff <base.heapsnapshot> <current.heapsnapshot> [--out diff.json]
import {createReadStream, createWriteStream} from 'node:fs';
import {once} from 'node:events';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import {buildOracle} from './build.mjs';

let devtoolsModule;
async function devtools() {
  devtoolsModule ??= import(pathToFileURL(await buildOracle()).href);
  return devtoolsModule;
}

// DevTools' UI loads files in 10 MB chunks (HeapSnapshotView: ChunkedFileReader(file, 10000000)).
// Results do not depend on chunking; this only keeps the loader's working string small.
const CHUNK_BYTES = 4 << 20;

// The primary side of the two-thread init (HeapSnapshot.initialize) listens on a MessagePort and
// console.warn()s any "unreachable nodes" problem report the secondary side posts. We route those
// reports into `problems` instead, so the oracle is quiet and callers can assert on them.
function problemCapturingPort(port, problems) {
  const wrapped = new Map();
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    start: () => port.start(),
    addEventListener(type, listener) {
      const filtered = event => (event.data?.problemReport ? problems.push(event.data.problemReport) : listener(event));
      wrapped.set(listener, filtered);
      port.addEventListener(type, filtered);
    },
    removeEventListener(type, listener) {
      port.removeEventListener(type, wrapped.get(listener));
      wrapped.delete(listener);
    },
  };
}

/**
 * Streams the file into DevTools' HeapSnapshotLoader exactly as the worker does (write(chunk)...,
 * close(), buildSnapshot(port)), with the secondary init worker (retainers, dominators, retained
 * sizes) running on the other end of a same-thread MessageChannel, as DevTools' own
 * createJSHeapSnapshotForTesting does. Returns {snapshot, problems} after the full initialize().
 */
export async function loadDevtoolsSnapshot(snapshotPath) {
  const {HeapSnapshot, HeapSnapshotLoader} = await devtools();
  // No dispatcher: HeapSnapshotProgress then drops progress events (supported, "may be undefined in tests").
  const loader = new HeapSnapshotLoader.HeapSnapshotLoader(undefined);
  // for-await yields between chunks, letting the loader's parser consume them as they arrive.
  for await (const chunk of createReadStream(snapshotPath, {encoding: 'utf8', highWaterMark: CHUNK_BYTES})) {
    loader.write(chunk);
  }
  loader.close();

  const channel = new MessageChannel();
  const rawProblems = [];
  try {
    new HeapSnapshot.SecondaryInitManager(channel.port2);
    const snapshot = await loader.buildSnapshot(problemCapturingPort(channel.port1, rawProblems));
    // Problem reports mix strings and node indexes; render indexes as DevTools does ("name @id").
    const node = snapshot.createNode(0);
    const problems = rawProblems.map(report => report.map(item => {
      if (typeof item === 'string') return item;
      node.nodeIndex = item;
      return `${node.name()} @${node.id()}`;
    }).join('\n  '));
    return {snapshot, problems};
  } finally {
    channel.port1.close();
    channel.port2.close();
  }
}

// DevTools' public (cross-snapshot) class key: ',' + className for index keys, or
// 'scriptId,line,column,className' for `object` nodes that have an allocation-site location.
// Same rule as HeapSnapshot's private #classKeyFromClassKey.
function publicClassKey(snapshot, node) {
  const key = node.classKeyInternal();
  return typeof key === 'number' ? `,${snapshot.strings[key]}` : key;
}

function analyzeLoaded(snapshot, problems) {
  const {nodes, nodeFieldCount, nodeIdOffset, nodeSelfSizeOffset, nodeCount} = snapshot;
  const ids = new Uint32Array(nodeCount);
  const selfSize = new Uint32Array(nodeCount);
  const dominatorId = new Uint32Array(nodeCount);
  const types = new Array(nodeCount);
  const names = new Array(nodeCount);
  const className = new Array(nodeCount);
  const classKey = new Array(nodeCount);
  const node = snapshot.createNode(0);
  for (let i = 0; i < nodeCount; i++) {
    node.nodeIndex = i * nodeFieldCount;
    ids[i] = nodes.getValue(node.nodeIndex + nodeIdOffset);
    // Read after initialize(): calculateShallowSizes has rewritten self sizes in `nodes` in place.
    selfSize[i] = nodes.getValue(node.nodeIndex + nodeSelfSizeOffset);
    types[i] = node.type();
    names[i] = node.name();
    className[i] = node.className();
    classKey[i] = publicClassKey(snapshot, node);
  }
  for (let i = 0; i < nodeCount; i++) dominatorId[i] = ids[snapshot.dominatorsTree[i]];

  // The Summary view with no filter is aggregatesWithFilter({}) (cache key 'allObjects').
  const aggregates = snapshot.aggregatesWithFilter({});
  const classes = Object.entries(aggregates).map(([key, a]) => ({
    key, name: a.name, count: a.count, self: a.self, retained: a.maxRet, distance: a.distance,
  }));

  const root = snapshot.rootNode();
  return {
    nodeCount,
    edgeCount: snapshot.containmentEdges.length / snapshot.edgeFieldsCount,
    rootOrdinal: root.ordinal(),
    rootId: root.id(),
    totalSize: snapshot.totalSize,
    statistics: snapshot.getStatistics(),
    interfaceDefinitions: JSON.parse(snapshot.interfaceDefinitions()),
    problems,
    ids,
    selfSize,
    retainedSize: Float64Array.from(snapshot.retainedSizes),
    dominatorId,
    dominatorOrdinal: Uint32Array.from(snapshot.dominatorsTree),
    distance: Int32Array.from(snapshot.nodeDistances),
    type: types,
    name: names,
    className,
    classKey,
    classes,
  };
}

/**
 * Per-node (ordinal = file order) and per-class numbers as DevTools computes them.
 * @returns {Promise<{nodeCount, edgeCount, rootOrdinal, rootId, totalSize, statistics,
 *   interfaceDefinitions: {name, properties}[], problems: string[],
 *   ids: Uint32Array, selfSize: Uint32Array, retainedSize: Float64Array, dominatorId: Uint32Array,
 *   dominatorOrdinal: Uint32Array, distance: Int32Array, type: string[], name: string[],
 *   className: string[], classKey: string[],
 *   classes: {key, name, count, self, retained, distance}[]}>}
 */
export async function devtoolsAnalyze(snapshotPath) {
  const {snapshot, problems} = await loadDevtoolsSnapshot(snapshotPath);
  return analyzeLoaded(snapshot, problems);
}

/**
 * The Comparison view, computed the way HeapSnapshotDataGrids' diff grid does: the current
 * snapshot's inferred interfaces are applied to the base (aggregatesForDiff), then the current
 * snapshot merges each class's id-sorted node lists (calculateSnapshotDiff).
 * Keyed by DevTools' public class key (',Name' or 'scriptId,line,col,Name'), because two classes can
 * share a display name; `name` is the display name.
 * @returns {Promise<Record<string, {name, addedCount, removedCount, countDelta, addedSize,
 *   removedSize, sizeDelta, addedIds: number[], deletedIds: number[]}>>}
 */
export async function devtoolsDiff(basePath, currentPath) {
  const base = (await loadDevtoolsSnapshot(basePath)).snapshot;
  const current = (await loadDevtoolsSnapshot(currentPath)).snapshot;
  const baseAggregates = base.aggregatesForDiff(current.interfaceDefinitions());
  const diff = current.calculateSnapshotDiff(/* baseSnapshotId */ 1, baseAggregates);
  const result = {};
  for (const [key, d] of Object.entries(diff)) {
    result[key] = {
      name: d.name, addedCount: d.addedCount, removedCount: d.removedCount, countDelta: d.countDelta,
      addedSize: d.addedSize, removedSize: d.removedSize, sizeDelta: d.sizeDelta,
      addedIds: d.addedIds, deletedIds: d.deletedIds,
    };
  }
  return result;
}

// Streams JSON so multi-million-node dumps never build one giant string.
async function writeJson(file, value) {
  const out = createWriteStream(file);
  const write = async s => { if (!out.write(s)) await once(out, 'drain'); };
  await write('{');
  let first = true;
  for (const [key, v] of Object.entries(value)) {
    await write(`${first ? '' : ',\n'}${JSON.stringify(key)}:`);
    first = false;
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      await write('[');
      for (let i = 0; i < v.length; i += 65536) {
        const part = Array.from(v.subarray ? v.subarray(i, i + 65536) : v.slice(i, i + 65536));
        await write((i ? ',' : '') + JSON.stringify(part).slice(1, -1));
      }
      await write(']');
    } else {
      await write(JSON.stringify(value[key]));
    }
  }
  await write('}\n');
  out.end();
  await once(out, 'finish');
}

async function main(argv) {
  const outIndex = argv.indexOf('--out');
  const outFile = outIndex >= 0 ? argv.splice(outIndex, 2)[1] : undefined;
  const t0 = performance.now();
  let result;
  let summary;
  if (argv[0] === '--diff' && argv.length === 3) {
    result = await devtoolsDiff(argv[1], argv[2]);
    const rows = Object.values(result).sort((a, b) => b.sizeDelta - a.sizeDelta);
    summary = `${rows.length} classes changed; top by size delta:\n` + rows.slice(0, 10)
      .map(r => `  ${r.name.slice(0, 60).padEnd(60)} +${r.addedCount} -${r.removedCount} (${r.sizeDelta} B)`).join('\n');
  } else if (argv.length === 1) {
    result = await devtoolsAnalyze(argv[0]);
    summary = `nodes ${result.nodeCount}, edges ${result.edgeCount}, classes ${result.classes.length}, ` +
      `root retained ${result.retainedSize[result.rootOrdinal]}, problems ${result.problems.length}`;
  } else {
    console.error('usage: devtools.mjs <file.heapsnapshot> [--out dump.json]\n' +
                  '       devtools.mjs --diff <base> <current> [--out diff.json]');
    process.exit(2);
  }
  const ms = performance.now() - t0;
  const peakMB = process.resourceUsage().maxRSS / 1024;
  console.log(`${summary}\n${ms.toFixed(0)} ms, peak RSS ${peakMB.toFixed(0)} MB`);
  if (outFile) await writeJson(outFile, result);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
