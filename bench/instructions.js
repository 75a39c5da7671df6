'use strict';

// leakwatch's run-time cost counted in instructions, under valgrind's
// callgrind: the same server cases as bench/server.js (main-thread
// instructions per request) and the on()+off() table of bench/runtime.js
// (instructions per on()+off()). On a shared VM a timing ratio moves by
// 0.1-0.4x between runs of the same code; an instruction count of the same
// code repeats within about 1%, so it tells whether a change made the code
// path cheaper even where a timing cannot. Compare ratios across changes:
// Node's own events.js shares its feedback with our wrappers, so a change
// to lib/listeners.js moved the plain on()+off() by up to 4% here, and
// V8's inlining can move a case whose code did not change. It is not
// time: a cache miss or a mispredicted branch costs more than an
// instruction, and code under valgrind runs ~50x slower (V8's tiers and GC
// follow counts and allocation, not the clock, so it still runs optimized
// code).
//
//   node bench/instructions.js [--only server,listeners] [--requests 1000]
//
// Needs valgrind (Debian: apt-get install valgrind). Takes about 12 minutes
// on 2 cores.

const { fork, execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { CASES: SERVER_CASES } = require('./server.js');
const { LISTENER_COUNTS, onOffTable } = require('./on-off-table.js');

const ON_OFF_ITERATIONS = 200_000;

function valgrindArgs(outFile) {
  // JIT code rewrites itself; separate threads keep V8's background
  // compiler and GC helpers (whose counts valgrind's serialised threads
  // inflate) out of the main thread's count.
  return ['--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${outFile}`];
}

/** Instructions of the main thread in each dump made by `callgrind_control -d`, in dump order. */
function mainThreadDumps(dir, base) {
  return fs.readdirSync(dir)
    .map((f) => /^(.+)\.(\d+)-01$/.exec(f))
    .filter((m) => m && m[1] === base)
    .sort((a, b) => Number(a[2]) - Number(b[2]))
    .map((m) => {
      const text = fs.readFileSync(path.join(dir, m[0]), 'utf8');
      const total = /^(?:summary|totals): (\d+)/m.exec(text);
      if (!total) throw new Error(`no instruction total in ${m[0]}`);
      return Number(total[1]);
    });
}

function callgrindControl(flag, pid) {
  execFileSync('callgrind_control', [flag, String(pid)], { stdio: 'ignore' });
}

/** Main-thread instructions per request of one server case: a warm-up load, then a counted one. */
function serverCase(dir, primitives, mode, requests) {
  const base = `server-${primitives.replace(/,/g, '+') || 'plain'}-${mode}`;
  const out = path.join(dir, base);
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server-app.js'), ['--with', primitives], {
      execPath: 'valgrind',
      execArgv: [...valgrindArgs(out), process.execPath, '--expose-gc'],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    child.once('error', reject);
    child.once('message', ({ port }) => {
      const load = () => execFileSync(process.execPath, [path.join(__dirname, 'load.js'), '--port', String(port), '--requests', String(requests), '--connections', '8', '--mode', mode]);
      load();
      callgrindControl('-z', child.pid);
      load();
      callgrindControl('-d', child.pid);
      child.send('exit');
    });
    child.once('exit', () => {
      try {
        const [counted] = mainThreadDumps(dir, base);
        resolve(counted / requests);
      } catch (err) {
        reject(err);
      }
    });
  });
}

// The child of one on()+off() row: the rows of bench/runtime.js's table
// (bench/on-off-table.js) in order up to `target` listeners, then each of
// the row's three loops counted twice (one and three times
// ON_OFF_ITERATIONS); the difference is the loop's alone, without the cost
// of asking for the counts.
function listenersChild(target) {
  const lw = require('..');
  lw.listeners.configure({ intervalMs: 0 });
  const table = onOffTable(lw);
  // Blocking the main thread lets V8's background compiler finish, as the
  // clock would in a real run.
  const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  for (const n of LISTENER_COUNTS) {
    const { loops, done } = table.row(n);
    for (let r = 0; r < 3; r++) {
      for (const loop of loops) {
        loop(20_000);
        pause();
      }
    }
    if (n === target) {
      for (const loop of loops) {
        for (const times of [1, 3]) {
          callgrindControl('-z', process.pid);
          loop(ON_OFF_ITERATIONS * times);
          callgrindControl('-d', process.pid);
        }
      }
      return;
    }
    done();
  }
}

function listenersRow(dir, n) {
  const base = `listeners-${n}`;
  const r = spawnSync('valgrind', [...valgrindArgs(path.join(dir, base)), process.execPath, __filename, '--listeners-child', String(n)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`the on()+off() child for N = ${n} exited with ${r.status ?? r.signal}`);
  const d = mainThreadDumps(dir, base);
  if (d.length !== 6) throw new Error(`expected 6 dumps for N = ${n}, found ${d.length}`);
  return [0, 1, 2].map((k) => (d[2 * k + 1] - d[2 * k]) / (2 * ON_OFF_ITERATIONS));
}

async function main() {
  const { values } = parseArgs({ options: { only: { type: 'string', default: 'server,listeners' }, requests: { type: 'string', default: '1000' } } });
  const only = new Set(values.only.split(','));
  const requests = Number(values.requests);
  if (spawnSync('valgrind', ['--version']).error) {
    console.error('bench/instructions.js needs valgrind (Debian: apt-get install valgrind)');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-instructions-'));
  try {
    console.log(`leakwatch in instructions (callgrind, node ${process.version})`);
    if (only.has('server')) {
      for (const mode of ['keepalive', 'close']) {
        console.log(`\nserver (bench/server-app.js), ${mode === 'close' ? 'connection: close' : 'keep-alive'}: main-thread instructions per request, ${requests} requests after as many to warm up`);
        let plain;
        for (const [label, primitives] of SERVER_CASES) {
          const perRequest = await serverCase(dir, primitives, mode, requests);
          plain ??= perRequest;
          console.log(`  ${label.padEnd(30)} ${(perRequest / 1000).toFixed(1).padStart(7)}k  ${(perRequest / plain).toFixed(3)}x  ${perRequest === plain ? '' : `+${((perRequest - plain) / 1000).toFixed(1)}k`}`);
        }
      }
    }
    if (only.has('listeners')) {
      console.log('\nemitter on()+off() with N listeners already on the event: instructions per on()+off() (bench/runtime.js\'s table)');
      console.log(`  ${'N'.padStart(6)}  ${'plain'.padStart(6)}  ${'trackEmitter'.padStart(12)}  ${'install()'.padStart(9)}`);
      for (const n of LISTENER_COUNTS) {
        const [plain, tracked, installed] = listenersRow(dir, n);
        console.log(`  ${String(n).padStart(6)}  ${plain.toFixed(0).padStart(6)}  ${(tracked / plain).toFixed(2).padStart(11)}x  ${(installed / plain).toFixed(2).padStart(8)}x`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--listeners-child') listenersChild(Number(process.argv[3]));
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});
