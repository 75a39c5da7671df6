// The MCP SDK as an optional peer dependency, the way a user meets it: the
// packed tarball installed into a project of its own (outside this
// checkout, so nothing resolves from our node_modules), first without the SDK
// (`leakwatch mcp` fails with a code and the command that fixes it; the rest
// of the package works), then with the SDK installed beside it (the
// installed server answers an SDK client). npm reads its cache first, so
// after `npm install` here no network is used.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { fixture, leakwatch, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const pkg = require('../package.json');
const SDK = '@modelcontextprotocol/sdk';
const SDK_VERSION = pkg.devDependencies[SDK];

/** npm as a user runs it: none of the settings an enclosing `npm test` exports. */
function npm(args, cwd) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|NODE_PATH$)/i.test(k)));
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

test('packed leakwatch: mcp without the SDK is a coded error, with it an MCP server', { timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-mcp-package-'));
  try {
    // --ignore-scripts: the tarball carries the binary this suite was built
    // with; prepack's glibc 2.17 build is .ci/package.test.mjs's subject.
    const [tarball] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)).map((p) => path.join(dir, p.filename));
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    npm(['install', '--prefer-offline', '--prefix', app, tarball], app);

    const installed = path.join(app, 'node_modules', 'leakwatch');
    const meta = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.equal(meta.peerDependenciesMeta[SDK]?.optional, true, 'the SDK is an optional peer');
    assert.equal(meta.dependencies, undefined, 'and no dependency brings it');
    assert.equal(fs.existsSync(path.join(app, 'node_modules', SDK)), false, 'npm did not install the optional peer');
    assert.throws(() => require.resolve(`${SDK}/server/mcp.js`, { paths: [installed] }), { code: 'MODULE_NOT_FOUND' }, 'nothing outside the project supplies it');

    const bin = path.join(installed, 'bin', 'leakwatch.js');
    const file = fixture('objects');
    const missing = spawnSync(process.execPath, [bin, 'mcp'], { cwd: app, encoding: 'utf8', input: '' });
    assert.equal(missing.status, 2, missing.stderr);
    assert.equal(missing.stdout, '', 'nothing on the protocol channel');
    assert.equal(
      missing.stderr,
      `leakwatch: leakwatch mcp needs ${SDK}, an optional peer dependency that is not installed; run: npm install --save-dev ${SDK}@${SDK_VERSION} [ERR_MCP_SDK_MISSING]\n`,
    );
    // The control: everything but `mcp` works without the SDK.
    const analyze = spawnSync(process.execPath, [bin, 'analyze', file, '--json', '--top', '1'], { cwd: app, encoding: 'utf8' });
    assert.equal(analyze.status, 0, analyze.stderr);
    assert.equal(JSON.parse(analyze.stdout).nodeCount, (await leakwatch.analyzeSnapshot(file)).nodeCount);

    // The fix the error names.
    npm(['install', '--prefer-offline', '--prefix', app, '--save-dev', `${SDK}@${SDK_VERSION}`], app);
    assert.equal(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).devDependencies[SDK], `^${SDK_VERSION}`);
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp'], cwd: app, stderr: 'pipe' });
    const client = new Client({ name: 'leakwatch-package-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.equal(tools.length, 11);
      const r = await client.callTool({ name: 'analyze_snapshot', arguments: { path: file, top: 1, classes: 1 } });
      assert.equal(r.isError, undefined, r.content[0].text);
      const answer = JSON.parse(r.content[0].text);
      const snap = await leakwatch.loadSnapshot(file);
      try {
        assert.deepEqual([answer.nodeCount, answer.totalSize, answer.classes[0].retainedSize], [snap.nodeCount, snap.totalSize, Math.max(...snap.summary().map((c) => c.retainedSize))]);
      } finally {
        snap.close();
      }
    } finally {
      await client.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
