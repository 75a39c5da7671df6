// CLI diff/leaks and the HTML report, opened in real headless Chromium
// (Debian's package; .ci/run installs it and sets LEAKWATCH_REQUIRE_CHROMIUM).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { OUT, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

function cli(args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function chromium(args) {
  const profile = fs.mkdtempSync(path.join(OUT, 'chromium-profile-'));
  try {
    return spawnSync(
      CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args],
      { encoding: 'utf8', timeout: 60_000 },
    );
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

test('leakwatch leaks prints the suspect and --json is machine-readable', () => {
  const files = makeScenario('global-array', OUT, { reuse: true });
  const text = cli(['leaks', ...files]);
  assert.equal(text.status, 1, `suspects found: exit 1 ${text.stderr}`);
  assert.match(text.stdout, /^1\. \[collection, high confidence\] Array `requestLog` grew by 400 elements/);
  assert.match(text.stdout, /→ \.requestLog Array @\d+/);
  const json = cli(['leaks', ...files, '--json']);
  const { suspects } = JSON.parse(json.stdout);
  assert.equal(suspects[0].holderName, 'requestLog');
  const clean = cli(['leaks', ...makeScenario('bounded-cache', OUT, { reuse: true })]);
  assert.match(clean.stdout, /No leak suspects/);
  const bad = cli(['leaks', files[0], files[1]]);
  assert.equal(bad.status, 2);
});

test('leakwatch diff prints the Comparison table and JSON', () => {
  const [s1, , s3] = makeScenario('global-array', OUT, { reuse: true });
  const text = cli(['diff', s1, s3]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /\{url\}\s+800\s+0\s+\+800/);
  const { rows } = JSON.parse(cli(['diff', s1, s3, '--json']).stdout);
  const urls = rows.find((r) => r.name === '{url}');
  assert.equal(urls.addedCount, 800);
  assert.equal(urls.addedIds.length, 800);
});

test('the HTML report is self-contained and renders in headless Chromium', { skip: !CHROMIUM && !process.env.LEAKWATCH_REQUIRE_CHROMIUM && 'chromium is not installed' }, () => {
  assert.ok(CHROMIUM, 'chromium must be installed (LEAKWATCH_REQUIRE_CHROMIUM is set)');
  const files = makeScenario('unbounded-map', OUT, { reuse: true });
  const html = path.join(OUT, 'leak-report.html');
  const r = cli(['leaks', ...files, '--html', html, '--redact']);
  assert.equal(r.status, 1, r.stderr);
  const source = fs.readFileSync(html, 'utf8');
  assert.doesNotMatch(source, /\s(src|href)=/, 'no external resources');
  assert.doesNotMatch(source, /user:\d+/, '--redact hides string contents');
  assert.doesNotMatch(source, /\bcache\b/, '--redact hides global variable names (data may name them)');
  assert.equal(fs.statSync(html).mode & 0o777, 0o600);

  const dom = chromium(['--dump-dom', `file://${html}`]);
  assert.equal(dom.status, 0, dom.stderr);
  assert.match(dom.stdout, /Leak suspects \(1\)/);
  assert.match(dom.stdout, /Map <code>&lt;key:[0-9a-f]{8}&gt;<\/code>/);
  assert.match(dom.stdout, /grew by 400 entries/);
  const bars = dom.stdout.match(/<rect /g) || [];
  assert.ok(bars.length >= 2, `growth chart has bars (found ${bars.length})`);

  const png = path.join(OUT, 'leak-report.png');
  fs.rmSync(png, { force: true });
  const shot = chromium([`--screenshot=${png}`, '--window-size=1200,1000', '--hide-scrollbars', `file://${html}`]);
  assert.equal(shot.status, 0, shot.stderr);
  const bytes = fs.readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
  assert.ok(bytes.length > 20_000, `a real rendering, not a blank page (${bytes.length} bytes)`);
});
