// Sizes read as DevTools prints them, checked against DevTools' own
// bytesToString (chrome-devtools-frontend's core/i18n, bundled here with
// esbuild and run under Node's Intl), not against figures we wrote down.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const { formatBytes } = require('../lib/format.js');
const { prng } = require('./fixtures/prng.js');

async function devtoolsBytesToString() {
  const i18n = path.join(path.dirname(require.resolve('chrome-devtools-frontend/package.json')), 'front_end', 'core', 'i18n');
  const built = esbuild.buildSync({
    stdin: {
      contents: `import { DevToolsLocale } from './DevToolsLocale.js';
import { bytesToString } from './ByteUtilities.js';
DevToolsLocale.instance({ create: true, data: { navigatorLanguage: 'en-US', settingLanguage: 'en-US', lookupClosestDevToolsLocale: (l) => l } });
export { bytesToString };`,
      resolveDir: i18n,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const mod = await import(`data:text/javascript;base64,${Buffer.from(built.outputFiles[0].text).toString('base64')}`);
  return mod.bytesToString;
}

function samples() {
  const rnd = prng(1000);
  const out = [];
  for (let n = 0; n <= 2100; n++) out.push(n);
  for (const edge of [99_949, 99_950, 99_999, 100_000, 100_499, 100_500, 999_499, 999_500, 999_999, 1e6, 99_949_999, 99_950_000, 1e8, 999_499_999]) out.push(edge);
  // Log-uniform over 1 kB .. 1 GB: every digit count and unit.
  for (let i = 0; i < 20_000; i++) out.push(Math.floor(10 ** (3 + 6 * rnd())));
  return out;
}

test('formatBytes prints what DevTools prints below 1 GB (B, kB, MB; one decimal under 100)', async () => {
  const bytesToString = await devtoolsBytesToString();
  let compared = 0;
  let movedUp = 0;
  for (const n of samples()) {
    // DevTools separates number and unit with a no-break space and groups
    // thousands ("1,000 kB" just below 1 MB), where we move up a unit.
    const theirs = bytesToString(n).replace(/\u00a0/g, ' ');
    if (/^1,000 /.test(theirs)) {
      assert.match(formatBytes(n), n < 1e6 ? /^1\.0 (kB|MB)$/ : /^1\.0 (MB|GB)$/, `${n}: DevTools ${theirs}`);
      movedUp++;
      continue;
    }
    assert.equal(formatBytes(n), theirs, `${n} bytes`);
    compared++;
  }
  assert.ok(compared > 20_000, `compared ${compared}`);
  assert.ok(movedUp > 0, 'the "1,000 kB" band was sampled');
  // Control: the base-1024 formatting this replaced disagrees.
  assert.notEqual(bytesToString(177_869).replace(/\u00a0/g, ' '), '173.7 KB');
  assert.equal(bytesToString(177_869).replace(/\u00a0/g, ' '), formatBytes(177_869));
});

test('formatBytes goes on past DevTools: GB and TB, negatives and non-numbers', () => {
  assert.equal(formatBytes(5_220_000_000), '5.2 GB');
  assert.equal(formatBytes(999_600_000_000), '1.0 TB');
  assert.equal(formatBytes(4.2e12), '4.2 TB');
  assert.equal(formatBytes(-2048), '-2.0 kB');
  assert.equal(formatBytes(-512), '-512 B');
  assert.equal(formatBytes(NaN), 'NaN');
});
