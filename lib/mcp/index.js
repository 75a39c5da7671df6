'use strict';

// `leakwatch mcp`: a Model Context Protocol server on stdin/stdout, so a
// coding agent can open heap snapshots too large for it to read.
//
// The MCP SDK is an optional peer dependency, loaded only here: it brings 98
// packages (29 MB, two HTTP frameworks among them) that an application
// embedding leakwatch in production should not have to install. Where it is
// missing the command fails with ERR_MCP_SDK_MISSING and the one command that
// adds it; it never fetches code on its own, so what runs beside snapshot
// data is only what the user installed.

const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');

const SDK = '@modelcontextprotocol/sdk';
/** The version tested; package.json's peer range accepts later 1.x. */
const SDK_VERSION = '1.32.2';

function usageError(message) {
  const err = new Error(message);
  err.code = 'ERR_USAGE';
  return err;
}

/** The server's settings from the command's options (bin/leakwatch.js parses them). */
function settings({ redact, noRedact, cacheMb }) {
  if (redact !== undefined && !['on', 'off', 'always'].includes(redact)) throw usageError('--redact must be on, off or always');
  if (redact !== undefined && noRedact) throw usageError('give --redact or --no-redact, not both');
  return {
    redact: noRedact ? 'off' : redact ?? 'on',
    cacheBytes: cacheMb === undefined ? defaultCacheBytes() : cacheMb * 1024 * 1024,
  };
}

function defaultCacheBytes() {
  const total = os.totalmem();
  const limit = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return Math.floor((limit > 0 && limit < total ? limit : total) / 2);
}

/**
 * The one command that gets the SDK where this copy of leakwatch runs: into
 * the project that depends on it, or beside it in npx's cache.
 */
function installHint() {
  const here = __dirname.split(path.sep);
  const inProject = here.includes('node_modules') && !here.includes('_npx');
  return inProject
    ? `npm install --save-dev ${SDK}@${SDK_VERSION}`
    : `npx -y -p leakwatch@${require('../../package.json').version} -p ${SDK}@${SDK_VERSION} leakwatch mcp`;
}

/** The SDK's server classes, and the zod it validates with (its own dependency). */
function loadSdk() {
  let entry;
  try {
    entry = require.resolve(`${SDK}/server/mcp.js`);
  } catch {
    const err = new Error(`leakwatch mcp needs ${SDK}, an optional peer dependency that is not installed; run: ${installHint()}`);
    err.code = 'ERR_MCP_SDK_MISSING';
    throw err;
  }
  const { McpServer } = require(entry);
  const { StdioServerTransport } = require(`${SDK}/server/stdio.js`);
  const z = createRequire(entry)('zod');
  return { McpServer, StdioServerTransport, z };
}

/**
 * Runs the server until the client closes stdin; resolves to an exit code.
 * @param {{ redact?: string, noRedact?: boolean, cacheMb?: number }} options
 */
async function serve(options) {
  const opts = settings(options);
  const sdk = loadSdk();
  // stdout carries the protocol alone.
  console.log = console.error;
  console.info = console.error;
  const { SnapshotCache } = require('./cache.js');
  const { createServer } = require('./server.js');
  const { version } = require('../../package.json');
  const cache = new SnapshotCache({ budgetBytes: opts.cacheBytes });
  const server = createServer({ sdk, cache, redact: opts.redact, version });
  const closed = new Promise((resolve) => {
    server.server.onclose = resolve;
  });
  await server.connect(new sdk.StdioServerTransport());
  const stop = () => server.close().catch(() => {});
  process.stdin.once('end', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await closed;
  cache.clear();
  return 0;
}

module.exports = { serve };
