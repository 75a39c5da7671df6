'use strict';

// The emitters of the on()+off() table, which bench/runtime.js times and
// bench/instructions.js counts: one setup, so both measure the same thing.

const { EventEmitter } = require('node:events');

const LISTENER_COUNTS = [0, 1, 10, 100, 1000, 10_000];

// A loop of on()+off() compiled for one emitter alone. Closures made from
// one function literal share V8's feedback and optimized code, so the three
// cases of a row ran in one code, polymorphic over their emitters; a hot
// path in a program sees its own emitters. new Function() with the same
// source shares them too (V8 caches the compiled source with its feedback):
// each loop's source is its own. A per-call closure would add a call to
// every case alike and shrink the ratios.
let loops = 0;
function onOffLoop(e, fn) {
  const loop = new Function('e', 'fn', 'n', `/* loop ${++loops} */ for (let i = 0; i < n; i++) { e.on('x', fn); e.off('x', fn); }`);
  return (n) => loop(e, fn, n);
}

/**
 * Switches install() on for the table (`end()` switches it off). `row(n)`
 * makes a plain, a trackEmitter() and an install()-counted emitter, each
 * holding `n` listeners for 'x', and returns a loop for each and `done()`,
 * which untracks the row's tracked emitter.
 */
function onOffTable(lw) {
  const fn = () => {};
  const E = EventEmitter.prototype;
  // install() stays on for the table, so that the warned state survives
  // the rounds (a new install() starts every count afresh); the plain case
  // is an emitter whose methods are Node's own, unwrapped.
  class Plain extends EventEmitter {}
  const own = { on: E.on, addListener: E.addListener, off: E.off, removeListener: E.removeListener };
  lw.listeners.install();
  Object.assign(Plain.prototype, own);
  // Five steps, each observed: install() watches a key from half its
  // threshold on, so at N = 10 only the last three show it the three rising
  // floors in a row that make a warning.
  const grow = (e, n) => {
    e.setMaxListeners(0);
    for (let r = 1; r <= 5; r++) {
      while (e.listenerCount('x') < Math.ceil((n * r) / 5)) e.on('x', () => {});
      lw.listeners.observe();
    }
  };
  return {
    row(n) {
      const tracked = lw.trackEmitter(new EventEmitter(), { name: `bench-${n}` });
      const emitters = [new Plain(), tracked, new EventEmitter()];
      for (const e of emitters) grow(e, n);
      return { loops: emitters.map((e) => onOffLoop(e, fn)), done: () => lw.untrack(tracked) };
    },
    end: () => lw.listeners.uninstall(),
  };
}

module.exports = { LISTENER_COUNTS, onOffTable };
