// The package as users install it: `npm pack` (whose prepack builds the
// linux-x64-gnu binary with a glibc 2.17 floor), then installs into fresh
// directories with no Rust toolchain on PATH, two ways:
// - the tarball alone, which carries this machine's binary;
// - the tarball without its binary plus the npm/linux-x64-gnu package, which
//   is how the registry serves them (the binary in an optional dependency).
// In each: require, ESM named imports, `npx leakwatch --version`, and
// `npx leakwatch analyze` on a snapshot written there.
//
//   node --test .ci/package.test.mjs      (CI runs it; needs .ci/install-zigbuild)
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { glibcFloor } from './glibc.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BINARY = `${pkg.napi.binaryName}.linux-x64-gnu.node`;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-pack-'));
test.after(() => fs.rmSync(WORK, { recursive: true, force: true }));

// PATH without any directory that holds a Rust toolchain.
const RUSTLESS_PATH = process.env.PATH.split(path.delimiter)
  .filter((dir) => !['cargo', 'rustc', 'rustup'].some((tool) => fs.existsSync(path.join(dir, tool))))
  .join(path.delimiter);
const userEnv = { ...process.env, PATH: RUSTLESS_PATH, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
for (const key of Object.keys(userEnv)) if (/^(CARGO|RUSTUP|RUSTC)/.test(key)) delete userEnv[key];

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: userEnv, timeout: 180_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function pack(dir) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', WORK], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  return { file: path.join(WORK, info.filename), files: info.files.map((f) => f.path).sort() };
}

// Packed once for all tests: the main package, then the platform package
// with the binary `napi artifacts` would put in it.
const main = pack(ROOT);
const platformDir = path.join(ROOT, 'npm', 'linux-x64-gnu');
fs.copyFileSync(path.join(ROOT, BINARY), path.join(platformDir, BINARY));
let platform;
try {
  platform = pack(platformDir);
} finally {
  fs.rmSync(path.join(platformDir, BINARY));
}

function app(name, tarballs) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  const r = sh('npm', ['install', ...tarballs], dir);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // A snapshot with something recognisable in it: 2000 instances of one class.
  const write = sh(process.execPath, ['-e', `
    class PackCheckMarker { constructor(i) { this.payload = 'x'.repeat(512) + i; } }
    globalThis.markers = Array.from({ length: 2000 }, (_, i) => new PackCheckMarker(i));
    require('node:v8').writeHeapSnapshot('app.heapsnapshot');`], dir);
  assert.equal(write.status, 0, write.stderr);
  return dir;
}

test('the tarball holds the package files, the LICENSE and a binary, and nothing of the repository', () => {
  for (const f of ['LICENSE', 'README.md', 'package.json', 'index.js', 'index.d.ts', 'binding.js', 'lib/native.js', 'bin/leakwatch.js', BINARY]) {
    assert.ok(main.files.includes(f), `${f} is packed`);
  }
  for (const f of main.files) assert.doesNotMatch(f, /^(__test__|src|target|npm|\.ci|fuzz|bench|benches|examples|node_modules)\//, `${f} stays out`);
  assert.deepEqual(platform.files, [BINARY, 'package.json', 'README.md'].sort());
  assert.equal(sh('cargo', ['--version']).error?.code, 'ENOENT', 'no cargo on the users\' PATH');
});

const installs = {
  'the tarball alone': { tarballs: () => [main.file], binaryIn: 'leakwatch' },
  'the registry layout: main package and platform package': { tarballs: () => [main.file, platform.file], binaryIn: 'leakwatch-linux-x64-gnu', dropOwnBinary: true },
};

for (const [label, how] of Object.entries(installs)) {
  test(`installed as ${label}: require, ESM import, npx leakwatch --version and analyze work`, async (t) => {
    const dir = app(how.binaryIn, how.tarballs());
    const installed = path.join(dir, 'node_modules', 'leakwatch');
    if (how.dropOwnBinary) fs.rmSync(path.join(installed, BINARY));
    const binary = path.join(dir, 'node_modules', how.binaryIn, BINARY);
    assert.equal(glibcFloor(fs.readFileSync(binary)), '2.17', 'the binary asks for nothing newer than glibc 2.17');

    await t.test('require', () => {
      const r = sh(process.execPath, ['-e', `
        const lw = require('leakwatch');
        const snap = lw.loadSnapshotSync('app.heapsnapshot');
        const markers = snap.summary().find((c) => c.name === 'PackCheckMarker');
        console.log(JSON.stringify({
          main: require.resolve('leakwatch'),
          binaries: Object.keys(require.cache).filter((k) => k.endsWith('.node')),
          exports: ['findLeaks', 'loadSnapshot', 'expectNoLeak'].map((k) => typeof lw[k]),
          markers: markers && markers.count,
        }));`], dir);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.main, path.join(installed, 'index.js'));
      assert.deepEqual(out.binaries, [binary]);
      assert.deepEqual(out.exports, ['function', 'function', 'function']);
      assert.equal(out.markers, 2000);
    });

    await t.test('ESM named imports', () => {
      const r = sh(process.execPath, ['--input-type=module', '-e', `
        import { findLeaks, loadSnapshot } from 'leakwatch';
        const snap = await loadSnapshot('app.heapsnapshot');
        console.log(typeof findLeaks, snap.nodeCount > 1000);`], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'function true');
    });

    await t.test('npx leakwatch --version', () => {
      const r = sh('npx', ['leakwatch', '--version'], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), pkg.version);
    });

    await t.test('npx leakwatch analyze', () => {
      const r = sh('npx', ['leakwatch', 'analyze', 'app.heapsnapshot'], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^app\.heapsnapshot: [\d,]+ nodes, [\d,]+ edges/);
      assert.match(r.stdout, /^PackCheckMarker +2,000 /m);
    });
  });
}
