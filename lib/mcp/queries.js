'use strict';

// The bounded native queries (src/bindings/queries.rs) over a loaded
// Snapshot, with errors translated to coded JS errors.

const native = require('../native.js');
const { callNative } = require('../errors.js');

/** A node's summary, class key, edge and retainer counts and immediate dominator, as `redact` shows them. */
const nodeDetails = (snapshot, id, redact) => callNative(() => native.queryNodeDetails(snapshot._native, id, { redact: redact || snapshot.redacted }));
const memoryBytes = (snapshot) => callNative(() => native.queryMemoryBytes(snapshot._native));

module.exports = { nodeDetails, memoryBytes };
