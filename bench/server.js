'use strict';

// leakwatch in a real server: bench/server-app.js (node:http on loopback, a
// per-request EventEmitter, a deadline timer, an immediate and a JSON
// response) without leakwatch, with each primitive alone, and with all of
// them, under a bounded load from bench/load.js in another process, over
// keep-alive connections and with a new connection per request.
//
//   node bench/server.js [--rounds 5] [--requests 10000] [--close-requests 10000] [--connections 32]
//
// Every case has its own server process, started once. Each round loads
// every case in turn (in a rotated order), so drift of the machine's speed
// hits all cases alike. The table shows each case's best round (most
// requests/s, least server CPU time per request: other load on the machine
// only ever slows a round down) and median p99, and their ratios to the
// plain server's from the same run. The CPU ratio is a throughput ratio
// (plain CPU / case CPU): on a busy machine requests/s moves with
// everything else running, the CPU time spent per request less. A second
// plain server shows the noise of the run (TIMED). A round's p99 is its
// 100th slowest request in both modes: with 2,000 requests per close-mode
// round it was the 20th, and one stall of the machine that held the 32
// requests in flight decided it. The p99 ratio is the median over rounds
// of a case's p99 against the plain server's in the same round: the two
// ran seconds apart, so a ratio of medians let the machine's drift between
// rounds decide it (the monitor, which does nothing per request, read
// 0.96-1.34x that way).

const { fork, execFileSync } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');

const CASES = [
  ['plain', ''],
  ['listeners.install()', 'listeners'],
  ['timers.install()', 'timers'],
  ['monitor', 'monitor'],
  ['BoundedLog push per request', 'log'],
  ['all together', 'listeners,timers,monitor,log'],
];
/**
 * Timed only: a second server without leakwatch. Both plain servers run the
 * same code, so this row's distance from 1.00x is the noise of the run, and
 * a case's ratio means little closer to 1.00x than that. (Counting
 * instructions, bench/instructions.js, repeats within about 1% and needs no
 * such row.)
 */
const TIMED = [CASES[0], ['plain, a second server', ''], ...CASES.slice(1)];
const TARGETS = { 'listeners.install()': '  target >= 0.95x', 'all together': '  target >= 0.9x, p99 <= 1.2x' };

function start(primitives) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server-app.js'), ['--with', primitives], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', ({ port }) => resolve({ child, port }));
    child.once('error', reject);
  });
}

function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

/** One bounded load; also the server's CPU time per request, which other load on the machine barely moves. */
async function load({ child, port }, requests, connections, mode) {
  const before = await ask(child, 'cpu');
  const out = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'load.js'), '--port', String(port), '--requests', String(requests), '--connections', String(connections), '--mode', mode], { encoding: 'utf8' }));
  const after = await ask(child, 'cpu');
  const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  out.cpuUs = cpu / (after.served - before.served);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      requests: { type: 'string', default: '10000' },
      'close-requests': { type: 'string', default: '10000' },
      connections: { type: 'string', default: '32' },
    },
  });
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const modes = [['keep-alive', 'keepalive', Number(values.requests)], ['connection: close', 'close', Number(values['close-requests'])]];
  console.log(`leakwatch in a node:http server (node ${process.version}, ${connections} connections, ${rounds} interleaved rounds per mode)`);
  const servers = [];
  for (const [, primitives] of TIMED) servers.push(await start(primitives));
  const results = TIMED.map(() => ({}));
  try {
    for (const server of servers) await load(server, 2000, connections, 'keepalive'); // warm-up
    for (const [, mode, requests] of modes) {
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < TIMED.length; k++) {
          const c = (k + r) % TIMED.length;
          const out = await load(servers[c], requests, connections, mode);
          (results[c][mode] ??= []).push(out);
        }
      }
    }
  } finally {
    for (const { child } of servers) child.send('exit');
  }

  const summary = (c, mode) => {
    const runs = results[c][mode];
    const plainRuns = results[0][mode];
    return {
      rps: Math.max(...runs.map((x) => x.rps)),
      p99: median(runs.map((x) => x.p99)),
      p99Ratio: median(runs.map((x, r) => x.p99 / plainRuns[r].p99)),
      cpuUs: Math.min(...runs.map((x) => x.cpuUs)),
      errors: runs.reduce((n, x) => n + x.errors, 0),
    };
  };
  for (const [label, mode] of modes) {
    const base = summary(0, mode);
    console.log(`\n${label}: plain ${base.rps.toFixed(0)} requests/s, p99 ${base.p99.toFixed(1)} ms, server CPU ${base.cpuUs.toFixed(0)} µs per request`);
    console.log(`  ${'case'.padEnd(30)} ${'req/s'.padStart(7)} ${'ratio'.padStart(6)}  ${'p99 ms'.padStart(7)} ${'ratio'.padStart(6)}  ${'CPU µs/req'.padStart(10)} ${'ratio'.padStart(6)}  rounds (req/s)`);
    for (let c = 0; c < TIMED.length; c++) {
      const s = summary(c, mode);
      const target = TARGETS[TIMED[c][0]] ?? '';
      const rs = results[c][mode].map((x) => x.rps.toFixed(0)).join(' ');
      console.log(`  ${TIMED[c][0].padEnd(30)} ${s.rps.toFixed(0).padStart(7)} ${(s.rps / base.rps).toFixed(2).padStart(5)}x  ${s.p99.toFixed(1).padStart(7)} ${s.p99Ratio.toFixed(2).padStart(5)}x  ${s.cpuUs.toFixed(1).padStart(10)} ${(base.cpuUs / s.cpuUs).toFixed(2).padStart(5)}x  ${rs}${s.errors ? `  ${s.errors} errors` : ''}${target}`);
    }
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { CASES };
