// timers.install() and Vitest's fake timers, in either order.
import { afterEach, expect, test, vi } from 'vitest';
import { createRequire } from 'node:module';

const lw = createRequire(import.meta.url)('../../..');

afterEach(() => {
  vi.useRealTimers();
  lw.timers.clearAll();
  lw.timers.uninstall();
});

test('install() then vi.useFakeTimers(): timers fire on the fake clock', () => {
  lw.timers.install();
  vi.useFakeTimers();
  let fired = 0;
  setTimeout(() => fired++, 1000);
  const every = setInterval(() => fired++, 100);
  lw.timers.setInterval(() => fired++, 250, { owner: {} });
  vi.advanceTimersByTime(1000);
  expect(fired).toBe(1 + 10 + 4);
  clearInterval(every);
  vi.useRealTimers();
  expect(lw.timers.installed).toBe(true);
  const real = setTimeout(() => {}, 60_000);
  expect(lw.timers.active().timers.map((t) => t.id)).toContain(+real);
  clearTimeout(real);
});

test('vi.useFakeTimers() then install(): timers fire on the fake clock', () => {
  vi.useFakeTimers();
  lw.timers.install();
  let fired = 0;
  setTimeout(() => fired++, 1000);
  setImmediate(() => fired++);
  lw.timers.setTimeout(() => fired++, 500, { owner: {} });
  vi.advanceTimersByTime(1000);
  expect(fired).toBe(3);
});
