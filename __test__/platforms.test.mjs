// Platform packaging: every napi target has its npm/<platform> package and
// optional dependency, and on a platform without a binary `require` fails
// with one line naming the platform and the supported ones. Other platforms
// are simulated in a child process that overrides process.platform/arch
// before leakwatch loads.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'];

test('each napi target has a platform package with os/cpu/libc and an optional dependency at this version', () => {
  assert.equal(pkg.napi.targets.length, SUPPORTED.length);
  const expect = {
    'linux-x64-gnu': ['linux', 'x64', 'glibc'],
    'linux-arm64-gnu': ['linux', 'arm64', 'glibc'],
    'linux-x64-musl': ['linux', 'x64', 'musl'],
    'linux-arm64-musl': ['linux', 'arm64', 'musl'],
    'darwin-x64': ['darwin', 'x64'],
    'darwin-arm64': ['darwin', 'arm64'],
    'win32-x64-msvc': ['win32', 'x64'],
  };
  assert.deepEqual(fs.readdirSync(path.join(ROOT, 'npm')).sort(), SUPPORTED.toSorted());
  for (const [platform, [os, cpu, libc]] of Object.entries(expect)) {
    const sub = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', platform, 'package.json'), 'utf8'));
    assert.equal(sub.name, `leakwatch-${platform}`);
    assert.equal(sub.version, pkg.version, `${platform} is versioned with the package`);
    assert.deepEqual([sub.os, sub.cpu, sub.libc], [[os], [cpu], libc && [libc]], platform);
    assert.deepEqual(sub.files, [`leakwatch.${platform}.node`]);
    assert.equal(sub.main, `leakwatch.${platform}.node`);
    assert.equal(pkg.optionalDependencies[sub.name], pkg.version, `${sub.name} is an optional dependency`);
  }
  assert.equal(Object.keys(pkg.optionalDependencies).length, SUPPORTED.length);
});

/** Requires leakwatch in a child that claims to run on `platform`/`arch`; the error it throws, or null. */
function requireAs(platform, arch) {
  const script = `
    Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });
    Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });
    try {
      require(${JSON.stringify(ROOT)});
      console.log(JSON.stringify(null));
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, isError: err instanceof Error }));
    }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const list = SUPPORTED.join(', ');

test('on a platform with no binary, require fails with one line naming it and the supported platforms', () => {
  for (const [platform, arch, name] of [
    ['freebsd', 'x64', 'freebsd-x64'],
    ['linux', 'riscv64', 'linux-riscv64-gnu'],
    ['linux', 's390x', 'linux-s390x-gnu'],
    ['win32', 'ia32', 'win32-ia32-msvc'],
    ['android', 'arm64', 'android-arm64'],
  ]) {
    const err = requireAs(platform, arch);
    assert.deepEqual(err, {
      code: 'ERR_UNSUPPORTED_PLATFORM',
      message: `leakwatch has no native binary for ${name}; supported platforms: ${list}`,
      isError: true,
    });
  }
});

test('on a supported platform whose binary is not installed, the error names the optional dependency', () => {
  // This machine has only the linux-x64-gnu binary.
  for (const [platform, arch, name] of [['darwin', 'arm64', 'darwin-arm64'], ['win32', 'x64', 'win32-x64-msvc'], ['linux', 'arm64', 'linux-arm64-gnu']]) {
    const err = requireAs(platform, arch);
    assert.equal(err.code, 'ERR_NATIVE_LOAD', JSON.stringify(err));
    assert.doesNotMatch(err.message, /\n/, 'one line');
    assert.match(err.message, new RegExp(`^leakwatch could not load its native binary for ${name} \\(Cannot find module 'leakwatch-${name}'\\); its binary ships in the optional dependency leakwatch-${name}@${pkg.version.replace(/\./g, '\\.')}; reinstall without --omit=optional \\(or --no-optional\\)$`));
    assert.doesNotMatch(err.message, /npm has a bug/);
  }
});

test('control: on this machine the binary loads and works', () => {
  assert.equal(requireAs(process.platform, process.arch), null);
  const r = spawnSync(process.execPath, ['-e', `const lw = require(${JSON.stringify(ROOT)}); const log = new lw.BoundedLog({ maxEntries: 2 }); log.push('a'); log.push('b'); log.push('c'); console.log(log.stats().size)`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), '2', r.stderr);
});

test('the release workflow builds exactly the napi targets', () => {
  const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
  const build = workflow.slice(workflow.indexOf('\n  build:'), workflow.indexOf('\n  test-macos-windows:'));
  const targets = [...build.matchAll(/^ {12}target: (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(targets.toSorted(), pkg.napi.targets.toSorted());
  // Each glibc target is linked for the 2.17 floor.
  for (const t of targets.filter((t) => t.endsWith('-linux-gnu'))) assert.match(build, new RegExp(`--target ${t}\\.2\\.17 -x`));
});
