// Jest gives this file its own module registry: the leakwatch it requires is
// a fresh copy, which must share the thread's listener tracker with the
// copy another test file loaded, not wrap EventEmitter.prototype again.
const { EventEmitter } = require('node:events');
const lw = require('../../..');

test('listener install state is process-global across test files (a)', () => {
  EventEmitter.leakwatchCopiesSeen ??= new Set();
  EventEmitter.leakwatchCopiesSeen.add(lw.BoundedLog);
  lw.listeners.configure({ threshold: 2, intervalMs: 0 });
  lw.listeners.install();
  expect(lw.listeners.installed).toBe(true);
  const e = new EventEmitter();
  e.on('a-event', () => {});
  e.on('a-event', () => {});
  const rows = lw.listeners.report().emitters.flatMap((x) => x.events).filter((ev) => ev.event === 'a-event');
  expect(rows.map((ev) => [ev.count, ev.adds])).toEqual([[2, 2]]);
  // Printed for the driver: how many copies this worker has loaded so far.
  console.log(`copies seen: ${EventEmitter.leakwatchCopiesSeen.size}`);
});
