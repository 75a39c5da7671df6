'use strict';

// What the production agent costs, measured from outside the process:
// 1. start-up: CPU time of `node -e` against the same with -r / --import
//    leakwatch/register, interleaved, medians and the ratio of one run;
// 2. steady state: the service's CPU time per request on loopback under a
//    bounded keep-alive load, with and without the agent, rounds interleaved;
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

// CPU time of a child, user + system, from /proc: on a shared machine it
// varies far less than wall time, which includes waiting for a core.
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function startupCost() {
  const empty = path.join(os.tmpdir(), `leakwatch-bench-empty-${process.pid}.mjs`);
  fs.writeFileSync(empty, '');
  // Each program prints its own CPU time at exit. The first ends before the
  // event loop turns: only what the entry does synchronously. The second
  // keeps the loop for one timer, so the agent's deferred start (monitor,
  // addon) runs too.
  const report = "process.on('exit', () => { const u = process.cpuUsage(); console.log((u.user + u.system) / 1000); });";
  const ends = ['-e', report];
  const turns = ['-e', `${report} setTimeout(() => {}, 20);`];
  const variants = {
    'node': [...ends],
    '-r leakwatch/register': ['-r', 'leakwatch/register', ...ends],
    '--import (an empty module)': ['--import', pathToFileURL(empty).href, ...ends],
    '--import leakwatch/register': ['--import', 'leakwatch/register', ...ends],
    'node, one 20 ms timer': [...turns],
    '-r leakwatch/register, one 20 ms timer': ['-r', 'leakwatch/register', ...turns],
  };
  const cpu = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const rounds = quick ? 5 : 21;
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(variants)) {
      const r = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
      cpu[name].push(Number(r.stdout.trim().split('\n').at(-1)));
    }
  }
  fs.rmSync(empty, { force: true });
  console.log(`\nStart-up: CPU time of the whole process, user + system (${rounds} interleaved rounds, medians):`);
  const row = (name, base) => {
    const m = median(cpu[name]);
    const b = median(cpu[base]);
    console.log(`  ${name.padEnd(40)} ${m.toFixed(1).padStart(7)} ms   +${(m - b).toFixed(1)} ms   ${(m / b).toFixed(2)}x`);
  };
  for (const name of Object.keys(variants).slice(0, 4)) row(name, 'node');
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
  return requests;
}

async function steadyState() {
  const modes = {
    plain: [],
    agent: ['-r', 'leakwatch/register'],
  };
  const perRequest = { plain: [], agent: [] };
  const rates = { plain: [], agent: [] };
  const rounds = quick ? 2 : 5;
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(modes)) {
      const s = startService(args, { SERVICE_LEAK: '0' });
      const port = await s.ready;
      await drive(port, 500);
      const before = cpuMs(s.child.pid);
      const requests = await drive(port, 2000);
      perRequest[name].push(((cpuMs(s.child.pid) - before) * 1000) / requests);
      rates[name].push(requests / 2);
      s.child.kill();
    }
  }
  const p = median(perRequest.plain);
  const a = median(perRequest.agent);
  console.log(`\nSteady state, loopback HTTP service, 32 keep-alive clients, no LEAKWATCH_DIR (${rounds} interleaved rounds, medians):`);
  console.log(`  service CPU per request: plain ${p.toFixed(1)} µs, with the agent ${a.toFixed(1)} µs: ${(a / p).toFixed(2)}x`);
  console.log(`  requests/s (wall, noisier): plain ${median(rates.plain).toFixed(0)}, with the agent ${median(rates.agent).toFixed(0)}`);
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
