'use strict';

// `leakwatch mcp`: a Model Context Protocol server on stdin/stdout, so a
// coding agent can open heap snapshots too large for it to read.
//
// The MCP SDK is an optional peer dependency, loaded only here: it brings
// about 90 packages (two HTTP frameworks among them) that an application
// embedding leakwatch in production should not have to install.

const os = require('node:os');
const { parseArgs } = require('node:util');
const { createRequire } = require('node:module');

const SDK = '@modelcontextprotocol/sdk';
const SDK_VERSION = '1.32.2';

const USAGE = `usage: leakwatch mcp [--no-redact | --redact on|off|always] [--cache-mb N]

Serves the leakwatch heap snapshot tools over MCP on stdin/stdout.

  --redact on       answers hide string contents, property names and {a, b}
                    class names unless a call passes redact: false (default)
  --redact always   calls cannot turn redaction off
  --no-redact       same as --redact off: answers show everything unless a
                    call passes redact: true
  --cache-mb N      memory for loaded snapshots kept between calls, in MiB
                    (default: half of this machine's or container's memory)
  -h, --help        this text

Needs ${SDK}: npm install ${SDK}@${SDK_VERSION}
(or run: npx -y -p leakwatch -p ${SDK}@${SDK_VERSION} leakwatch mcp)`;

function usageError(message) {
  const err = new Error(message);
  err.code = 'ERR_USAGE';
  return err;
}

function options(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        redact: { type: 'string' },
        'no-redact': { type: 'boolean' },
        'cache-mb': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  } catch (err) {
    throw usageError(err.message);
  }
  const v = parsed.values;
  if (v.redact !== undefined && !['on', 'off', 'always'].includes(v.redact)) throw usageError('--redact must be on, off or always');
  if (v.redact !== undefined && v['no-redact']) throw usageError('give --redact or --no-redact, not both');
  let cacheBytes = defaultCacheBytes();
  if (v['cache-mb'] !== undefined) {
    if (!/^\d{1,9}$/.test(v['cache-mb']) || Number(v['cache-mb']) === 0) throw usageError('--cache-mb must be a positive whole number of MiB');
    cacheBytes = Number(v['cache-mb']) * 1024 * 1024;
  }
  return { help: Boolean(v.help), redact: v['no-redact'] ? 'off' : v.redact ?? 'on', cacheBytes };
}

function defaultCacheBytes() {
  const total = os.totalmem();
  const limit = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return Math.floor((limit > 0 && limit < total ? limit : total) / 2);
}

/** The SDK's server classes, and the zod it validates with (its own dependency). */
function loadSdk() {
  let mcpPath;
  try {
    mcpPath = require.resolve(`${SDK}/server/mcp.js`);
  } catch {
    const err = new Error(`leakwatch mcp needs ${SDK}: npm install ${SDK}@${SDK_VERSION}, or run npx -y -p leakwatch -p ${SDK}@${SDK_VERSION} leakwatch mcp`);
    err.code = 'ERR_MCP_SDK_MISSING';
    throw err;
  }
  const { McpServer } = require(mcpPath);
  const { StdioServerTransport } = require(`${SDK}/server/stdio.js`);
  const z = createRequire(mcpPath)('zod');
  return { McpServer, StdioServerTransport, z };
}

/** Runs the server until the client closes stdin; resolves to an exit code. */
async function main(argv) {
  const opts = options(argv);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
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

module.exports = { main };
