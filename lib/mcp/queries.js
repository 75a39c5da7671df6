'use strict';

// The bounded native queries (src/bindings/queries.rs) over a loaded
// Snapshot, with errors translated to coded JS errors.

const native = require('../native.js');
const { callNative, translate } = require('../errors.js');
const { NAME_CHARS } = require('./shape.js');

async function run(call) {
  try {
    return await callNative(call);
  } catch (err) {
    throw translate(err);
  }
}

const nodeDetails = (snapshot, id) => run(() => native.queryNodeDetails(snapshot._native, id, NAME_CHARS));
const edges = (snapshot, id, offset, limit) => run(() => native.queryEdges(snapshot._native, id, offset, limit, NAME_CHARS));
const retainers = (snapshot, id, offset, limit) => run(() => native.queryRetainers(snapshot._native, id, offset, limit, NAME_CHARS));
const dominated = (snapshot, id, after, limit) => run(() => native.queryDominated(snapshot._native, id, after, limit, NAME_CHARS));
const instances = (snapshot, selector, after, limit) => run(() => native.queryInstances(snapshot._native, selector, after, limit, NAME_CHARS));
const retainerPath = (snapshot, id, first, last) => run(() => native.queryRetainerPath(snapshot._native, id, first, last, NAME_CHARS));
const dominatorChain = (snapshot, id, first, last) => run(() => native.queryDominatorChain(snapshot._native, id, first, last, NAME_CHARS));
const topObjects = (snapshot, n, first, last) => run(() => native.queryTopObjects(snapshot._native, n, first, last, NAME_CHARS));
const memoryBytes = (snapshot) => callNative(() => native.queryMemoryBytes(snapshot._native));

module.exports = { nodeDetails, edges, retainers, dominated, instances, retainerPath, dominatorChain, topObjects, memoryBytes };
