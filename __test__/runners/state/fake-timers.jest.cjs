// timers.install() and Jest's fake timers, in either order.
const lw = require('../../..');

afterEach(() => {
  jest.useRealTimers();
  lw.timers.clearAll();
  lw.timers.uninstall();
});

test('install() then jest.useFakeTimers(): timers fire on the fake clock', () => {
  lw.timers.install();
  jest.useFakeTimers();
  let fired = 0;
  setTimeout(() => fired++, 1000);
  const every = setInterval(() => fired++, 100);
  lw.timers.setInterval(() => fired++, 250, { owner: {} });
  jest.advanceTimersByTime(1000);
  expect(fired).toBe(1 + 10 + 4);
  clearInterval(every);
  jest.useRealTimers();
  expect(lw.timers.installed).toBe(true);
  const real = setTimeout(() => {}, 60_000);
  expect(lw.timers.active().timers.map((t) => t.id)).toContain(+real);
  clearTimeout(real);
});

test('jest.useFakeTimers() then install(): timers fire on the fake clock', () => {
  jest.useFakeTimers();
  lw.timers.install();
  let fired = 0;
  setTimeout(() => fired++, 1000);
  setImmediate(() => fired++);
  lw.timers.setTimeout(() => fired++, 500, { owner: {} });
  jest.advanceTimersByTime(1000);
  expect(fired).toBe(3);
});
