'use strict';

// The production agent on the demo service, with no change to its code:
//
//   LEAKWATCH_DIR=... LEAKWATCH_SIGNAL=SIGUSR2 node --import leakwatch/register examples/service.js
//
// This script starts that process, sends it traffic on loopback as a load
// balancer would (keep-alive connections), sends the signal as an operator
// would, and prints what the agent wrote: its warnings, the top suspect and
// the reports.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { formatPath } = require('../lib/format.js');

const ROOT = path.join(__dirname, '..');
const WARM_UP_MS = 3000;

function startService(dir) {
  const env = { ...process.env, LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'SIGUSR2', LEAKWATCH_INTERVAL_MS: '2000' };
  const args = ['--import', 'leakwatch/register', path.join('examples', 'service.js')];
  console.log(`$ LEAKWATCH_DIR=${dir} LEAKWATCH_SIGNAL=SIGUSR2 LEAKWATCH_INTERVAL_MS=2000 node ${args.join(' ')}`);
  // From the package root, `leakwatch/register` resolves to this checkout.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const line of d.split('\n')) if (line.includes('[LEAKWATCH_')) console.log(`  service: ${line.replace(/^\(node:\d+\) /, '')}`);
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d) => resolve(JSON.parse(d).port));
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

function traffic(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let stopped = false;
  let requests = 0;
  const one = () => new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: `/start?i=${requests}`, agent }, (res) => res.resume().on('end', resolve)).on('error', resolve);
  });
  const loops = Array.from({ length: 4 }, async () => {
    while (!stopped) {
      await one();
      requests++;
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
    agent.destroy();
    return requests;
  };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-agent-demo-'));
  const service = startService(dir);
  try {
    const port = await service.ready;
    const stop = traffic(port);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    console.log(`\n$ kill -USR2 ${service.child.pid}    # after ${WARM_UP_MS / 1000} s of traffic`);
    const signalled = Date.now();
    service.child.kill('SIGUSR2');
    while (!/\[LEAKWATCH_(LEAK_FOUND|NO_LEAK_FOUND|INVESTIGATION_SKIPPED|INVESTIGATION_FAILED)\]/.test(service.stderr())) {
      if (Date.now() - signalled > 120_000) throw new Error('no report within two minutes');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const requests = await stop();
    const name = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    const report = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    console.log(`\n${requests.toLocaleString('en-US')} requests served; report after ${((Date.now() - signalled) / 1000).toFixed(1)} s (status: ${report.status})`);
    for (const [i, s] of (report.snapshots ?? []).entries()) {
      console.log(`  snapshot ${i + 1}: ${(s.bytes / 1e6).toFixed(1)} MB, event loop paused ${s.eventLoopPauseMs} ms`);
    }
    if (report.analysisMs !== undefined) {
      const p = report.analysisPhases;
      console.log(`  analysis on the libuv pool: ${report.analysisMs} ms (load ${p.loadMs}, findLeaks ${p.findLeaksMs}, diff ${p.diffMs})`);
    }
    const top = report.suspects[0];
    if (top) {
      console.log(`\nTop suspect [${top.kind}, ${top.confidence} confidence]: ${top.explanation}`);
      console.log('  retained by:');
      console.log(formatPath(top.retainerPath, { indent: '    ' }));
    }
    console.log(`\nReports (0600): ${path.join(dir, name)}\n                ${path.join(dir, name.replace(/\.json$/, '.html'))}`);
    console.log(`Snapshots left behind: ${fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length}`);
    if (!top) process.exitCode = 1;
  } finally {
    service.child.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
