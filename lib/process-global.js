'use strict';

// State that must exist once per thread however many times leakwatch is
// loaded: Jest gives every test file its own module registry, and an app can
// hold two copies of the package. Two copies that each wrapped
// EventEmitter.prototype would count every listener twice, and a timer made
// through one copy's wrapper could not be cleared through the other's. So the
// first copy to load creates each tracker and leaves it on a Node core object
// (core modules are shared by every registry of a thread); later copies use
// that one. The protocol number changes only when a tracker's internals do:
// copies that speak different ones keep separate trackers.
const PROTOCOL = 1;

/** The value `create()` made the first time any copy asked on this thread. */
function processGlobal(anchor, name, create) {
  const key = Symbol.for(`leakwatch.${name}@${PROTOCOL}`);
  if (Object.hasOwn(anchor, key)) return anchor[key];
  const value = create();
  Object.defineProperty(anchor, key, { value, enumerable: false, writable: false, configurable: false });
  return value;
}

module.exports = { processGlobal };
