'use strict';

// The native addon, through napi-rs's generated loader (binding.js), which
// tries this package's own .node file, then the platform package
// (leakwatch-<platform>, an optional dependency). On a platform with no
// prebuilt binary that loader ends in a hint about an npm bug; here the user
// reads instead which platform this is and which ones are supported.

const { version } = require('../package.json');
const { SUPPORTED, currentPlatform } = require('./platform.js');

function loadError(code, message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.code = code;
  return err;
}

function load() {
  const here = `${process.platform}-${process.arch}`;
  // Linux is matched without the libc first: asking glibc or musl costs a
  // process report, which only an error message needs.
  if (!SUPPORTED.some((p) => p === here || p.startsWith(`${here}-`))) {
    throw loadError('ERR_UNSUPPORTED_PLATFORM', `leakwatch has no native binary for ${currentPlatform()}; supported platforms: ${SUPPORTED.join(', ')}`);
  }
  try {
    return require('../binding.js');
  } catch (err) {
    const platform = currentPlatform();
    // The loader chains one error per place it looked; a file that exists
    // but does not load (an older glibc, say) says more than the misses.
    const messages = [];
    for (let e = err?.cause ?? err; e && messages.length < 8; e = e.cause) messages.push(String(e.message ?? e).split('\n')[0]);
    const reason =
      messages.find((m) => !m.startsWith('Cannot find module')) ??
      messages.find((m) => m.includes(`'leakwatch-${platform}'`)) ??
      messages[0];
    const hint = SUPPORTED.includes(platform)
      ? `its binary ships in the optional dependency leakwatch-${platform}@${version}; reinstall without --omit=optional (or --no-optional)`
      : `supported platforms: ${SUPPORTED.join(', ')}`;
    throw loadError('ERR_NATIVE_LOAD', `leakwatch could not load its native binary for ${platform} (${reason}); ${hint}`, err);
  }
}

module.exports = load();
