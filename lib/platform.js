'use strict';

// Platform names as napi-rs spells them (linux-x64-gnu, darwin-arm64,
// win32-x64-msvc): the suffix of each binary and platform package.

const { napi } = require('../package.json');

const CPU = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' };
const OS = { darwin: 'darwin', windows: 'win32', linux: 'linux', freebsd: 'freebsd', android: 'android' };

/** x86_64-unknown-linux-gnu → linux-x64-gnu. */
function platformOfTriple(triple) {
  const [arch, , system, abi] = triple.split('-');
  return [OS[system] ?? system, CPU[arch] ?? arch, abi].filter(Boolean).join('-');
}

/** The platforms a binary is built for: package.json's napi.targets. */
const SUPPORTED = napi.targets.map(platformOfTriple);

function libc() {
  // glibc reports its version; musl (Alpine) does not.
  const header = process.report?.getReport?.().header;
  return header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

/** This process's platform, spelled as SUPPORTED spells them. */
function currentPlatform() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') return `${base}-${libc()}`;
  if (process.platform === 'win32') return `${base}-msvc`;
  return base;
}

module.exports = { platformOfTriple, SUPPORTED, currentPlatform };
