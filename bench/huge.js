'use strict';
// `npm run bench:huge`: leakwatch on a synthetic snapshot larger than 4 GiB with 50 million nodes,
// where byte offsets, self sizes and their sums all pass 2^32. Wall time, peak RSS and RSS per
// phase of one load, in a child process; the totals are checked against what the generator wrote.
//
//   node bench/huge.js [--nodes N] [--pad CHARS] [--buffers K] [--buffer-size BYTES]
//                      [--dir DIR] [--keep]
//
// The file (about 5 GB at the defaults) is streamed by `examples/synth.rs` (built here with
// `cargo build --release --no-default-features --example synth`) into DIR (default bench/.out)
// and deleted afterwards unless --keep. Not a CI test: it needs ~6 GB of disk, several GB of RAM
// and minutes.
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

// ---------------------------------------------------------------------------------------------
// Child side: one load, phases sampled through the progress callback.

async function runChild(file, resultFile) {
  const { loadSnapshot } = require(ROOT);
  const rss = () => process.memoryUsage.rss();
  const t0 = performance.now();
  const phases = [];
  const sample = (phase) => {
    const now = rss();
    const last = phases.at(-1);
    if (last?.phase === phase) {
      last.peakRss = Math.max(last.peakRss, now);
    } else {
      phases.push({ phase, at: (performance.now() - t0) / 1000, startRss: now, peakRss: now });
    }
  };
  sample('(start)');
  const snap = await loadSnapshot(file, {
    progressIntervalMs: 50,
    onProgress: ({ phase }) => sample(phase || '(start)'),
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  const result = {
    loadSeconds,
    nodes: snap.nodeCount,
    edges: snap.edgeCount,
    totalSize: snap.totalSize,
    classes: snap.summary().length,
    top: snap.topRetainers(3).map(n => ({ name: n.name, retainedSize: n.retainedSize })),
    phases: phases.map((p, i) => ({ ...p, seconds: (phases[i + 1]?.at ?? loadSeconds) - p.at })),
    // The sampled figures miss peaks shorter than the interval; maxRSS does not.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  snap.close();
  fs.writeFileSync(resultFile, JSON.stringify(result));
}

// ---------------------------------------------------------------------------------------------
// Parent side.

function option(argv, name, fallback) {
  const at = argv.indexOf(name);
  if (at < 0) return fallback;
  const value = argv[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value.replace(/[_,]/g, '');
}

/** Builds the generator and returns the path cargo reports for it. */
function buildGenerator() {
  process.stderr.write('building the generator (cargo, release)…\n');
  const out = execFileSync(
    'cargo',
    ['build', '--release', '--no-default-features', '--example', 'synth', '--message-format=json'],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 },
  );
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target?.name === 'synth' && msg.executable) return msg.executable;
  }
  throw new Error('cargo built no `synth` executable');
}

const gb = bytes => `${(bytes / 1e9).toFixed(2)} GB`;

async function main(argv) {
  const nodes = option(argv, '--nodes', '50000000');
  const pad = option(argv, '--pad', '16');
  // Three backing stores of 6 GB: single self sizes and every sum above 2^32.
  const buffers = option(argv, '--buffers', '3');
  const bufferSize = option(argv, '--buffer-size', '6000000000');
  const dir = option(argv, '--dir', path.join(__dirname, '.out'));
  if (!fs.existsSync(path.join(ROOT, 'binding.js'))) throw new Error('run `npm run build` first');

  fs.mkdirSync(dir, { recursive: true });
  // About 100 bytes per node plus padding; refuse early rather than fill the disk.
  const needed = Number(nodes) * (100 + 0.3 * Number(pad)) * 1.1;
  const { bavail, bsize } = fs.statfsSync(dir);
  if (bavail * bsize < needed) throw new Error(`${dir}: ${gb(bavail * bsize)} free, about ${gb(needed)} needed`);

  const generator = buildGenerator();
  const file = path.join(dir, `huge-${nodes}.heapsnapshot`);
  try {
    process.stderr.write(`generating ${file}…\n`);
    const gen = spawnSync(generator, [
      '--nodes', nodes, '--pad', pad, '--buffers', buffers, '--buffer-size', bufferSize, '--out', file,
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (gen.status !== 0) throw new Error(`generator failed (exit ${gen.status ?? gen.signal})`);
    const made = JSON.parse(gen.stdout);

    process.stderr.write('loading it with leakwatch in a child process…\n');
    const resultFile = path.join(dir, `huge-result-${process.pid}.json`);
    const t0 = performance.now();
    const child = spawnSync(process.execPath, [__filename, '--child', file, resultFile], {
      encoding: 'utf8',
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    if (child.status !== 0) throw new Error(`the load failed (exit ${child.status ?? child.signal})`);
    const r = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    fs.rmSync(resultFile, { force: true });

    const exact = r.nodes === made.nodes && r.edges === made.edges && BigInt(r.totalSize) === BigInt(made.selfSizeTotal);
    const mb = x => `${(x / 1e6).toFixed(0)} MB`;
    console.log(`file: ${gb(made.bytes)} (${(made.bytes / 2 ** 30).toFixed(2)} GiB), ${made.nodes.toLocaleString('en-US')} nodes, ` +
      `${made.edges.toLocaleString('en-US')} edges, ${made.strings.toLocaleString('en-US')} strings`);
    console.log(`generated in ${made.seconds.toFixed(1)} s (${(made.bytes / 1e6 / made.seconds).toFixed(0)} MB/s)`);
    console.log(`self sizes: largest ${BigInt(made.maxSelfSize).toLocaleString('en-US')} B, sum ${BigInt(made.selfSizeTotal).toLocaleString('en-US')} B; ` +
      `leakwatch total ${r.totalSize.toLocaleString('en-US')} B: ${exact ? 'counts and total exact' : 'MISMATCH'}`);
    console.log(`load: ${r.loadSeconds.toFixed(1)} s (child wall ${wallSeconds.toFixed(1)} s), ` +
      `peak RSS ${mb(r.maxRssBytes)}, RSS / file ${(r.maxRssBytes / made.bytes).toFixed(2)}x\n`);
    console.log('phase               seconds   RSS at start   peak RSS seen');
    for (const p of r.phases) {
      if (p.phase === 'done') continue;
      console.log(`${p.phase.padEnd(18)} ${p.seconds.toFixed(2).padStart(8)}   ${mb(p.startRss).padStart(12)}   ${mb(p.peakRss).padStart(13)}`);
    }
    console.log(`\ntop retainers: ${r.top.map(t => `${t.name} ${gb(t.retainedSize)}`).join(', ')}; ${r.classes} classes`);
    if (!exact) process.exitCode = 1;
  } finally {
    if (!argv.includes('--keep')) fs.rmSync(file, { force: true });
  }
}

if (process.argv[2] === '--child') {
  runChild(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
