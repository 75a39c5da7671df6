'use strict';

// What the production agent costs, measured from outside the process:
// 1. start-up: `node -e 0` against the same with -r / --import
//    leakwatch/register, interleaved, medians and the ratio of one run;
// 2. steady state: requests/s of a loopback HTTP service under a bounded
//    keep-alive load, with and without the agent, rounds interleaved;
// 3. an investigation: the event-loop pause per snapshot and the analysis
//    time, on the service with a small and a large heap.
// Usage: node bench/agent.js [--quick]

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const ROOT = path.join(__dirname, '..');
const SERVICE = path.join(ROOT, '__test__', 'fixtures', 'agent-service.js');
const quick = process.argv.includes('--quick');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startupCost() {
  const empty = path.join(os.tmpdir(), `leakwatch-bench-empty-${process.pid}.mjs`);
  fs.writeFileSync(empty, '');
  // `-e 0` ends before the event loop turns: only what the entry does
  // synchronously. The second script keeps the loop for one timer, so the
  // agent's deferred start (monitor, addon) runs too.
  const ends = ['-e', '0'];
  const turns = ['-e', 'setTimeout(() => {}, 20)'];
  const variants = {
    'node -e 0': [...ends],
    '-r leakwatch/register -e 0': ['-r', 'leakwatch/register', ...ends],
    '--import (empty module) -e 0': ['--import', pathToFileURL(empty).href, ...ends],
    '--import leakwatch/register -e 0': ['--import', 'leakwatch/register', ...ends],
    'node, one 20 ms timer': [...turns],
    '-r leakwatch/register, one 20 ms timer': ['-r', 'leakwatch/register', ...turns],
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const rounds = quick ? 5 : 15;
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(variants)) {
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
      times[name].push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  fs.rmSync(empty, { force: true });
  console.log(`\nStart-up, wall time of the whole process (${rounds} interleaved rounds, medians):`);
  const row = (name, base) => {
    const m = median(times[name]);
    console.log(`  ${name.padEnd(40)} ${m.toFixed(1).padStart(7)} ms   ${(m / median(times[base])).toFixed(2)}x`);
  };
  for (const name of Object.keys(variants).slice(0, 4)) row(name, 'node -e 0');
  for (const name of Object.keys(variants).slice(4)) row(name, 'node, one 20 ms timer');
}

function startService(args, env) {
  const child = spawn(process.execPath, [...args, SERVICE], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const ready = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d) => resolve(JSON.parse(d).port));
    child.once('exit', (code) => reject(new Error(`service exited ${code}: ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

async function drive(port, ms, sockets = 32) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const end = Date.now() + ms;
  let requests = 0;
  const one = () => new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/order', agent }, (res) => res.resume().on('end', resolve)).on('error', resolve);
  });
  await Promise.all(Array.from({ length: sockets }, async () => {
    while (Date.now() < end) {
      await one();
      requests++;
    }
  }));
  agent.destroy();
  return requests / (ms / 1000);
}

async function steadyState() {
  const modes = {
    plain: [],
    agent: ['-r', 'leakwatch/register'],
  };
  const rates = { plain: [], agent: [] };
  const rounds = quick ? 2 : 5;
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(modes)) {
      const s = startService(args, { SERVICE_LEAK: '0' });
      const port = await s.ready;
      await drive(port, 500);
      rates[name].push(await drive(port, 2000));
      s.child.kill();
    }
  }
  const p = median(rates.plain);
  const a = median(rates.agent);
  console.log(`\nSteady state, loopback HTTP, 32 keep-alive clients (${rounds} interleaved rounds, medians):`);
  console.log(`  plain ${p.toFixed(0)} req/s, with the agent (no LEAKWATCH_DIR) ${a.toFixed(0)} req/s: ${(a / p).toFixed(2)}x`);
}

async function investigation(ballastMb) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-bench-agent-'));
  const s = startService(['-r', 'leakwatch/register'], {
    SERVICE_LEAK: '1',
    SERVICE_BALLAST_MB: String(ballastMb),
    LEAKWATCH_DIR: dir,
    LEAKWATCH_SIGNAL: 'SIGUSR2',
    LEAKWATCH_INTERVAL_MS: '2000',
  });
  try {
    const port = await s.ready;
    const load = drive(port, 60_000, 4);
    await sleep(2000);
    s.child.kill('SIGUSR2');
    const deadline = Date.now() + 300_000;
    while (!/\[LEAKWATCH_(LEAK_FOUND|NO_LEAK_FOUND|INVESTIGATION_SKIPPED|INVESTIGATION_FAILED)\]/.test(s.stderr())) {
      if (Date.now() > deadline) throw new Error(`no report within 5 minutes (heap ballast ${ballastMb} MB)`);
      await sleep(100);
    }
    s.child.kill();
    await load.catch(() => {});
    const name = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    const heap = (r.snapshots[0].heapUsed / 1e6).toFixed(0);
    const pauses = r.snapshots.map((x) => x.eventLoopPauseMs.toFixed(0)).join(' / ');
    const sizes = r.snapshots.map((x) => (x.bytes / 1e6).toFixed(0)).join(' / ');
    const p = r.analysisPhases;
    console.log(`  heap ${heap} MB: files ${sizes} MB; pause ${pauses} ms; analysis ${r.analysisMs.toFixed(0)} ms (load ${p.loadMs.toFixed(0)}, findLeaks ${p.findLeaksMs.toFixed(0)}, diff ${p.diffMs.toFixed(0)}); whole investigation ${r.durationMs} ms (2 s intervals); status ${r.status}`);
  } finally {
    s.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`Node ${process.version}, ${os.cpus().length} cores`);
  startupCost();
  await steadyState();
  console.log('\nOne investigation under 4 keep-alive clients (signal, three snapshots 2 s apart):');
  // A larger heap: 80,000 more records in one array.
  for (const mb of quick ? [0] : [0, 10]) await investigation(mb);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
