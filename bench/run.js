'use strict';
// `npm run bench`: leakwatch vs Chrome DevTools' heap snapshot worker vs memlab on one big, real
// heap snapshot, in the same run, each tool in its own child process so peak RSS is per tool.
//
//   node bench/run.js [--fresh] [--files N] [--only leakwatch,devtools,memlab] [--runs N]
//
// The tools take turns for N rounds (3 by default) and the table shows each one's median: a single
// load's time depends on how long ago the VM last handed out the memory it touches (see README).
// Every tool does a full load + analysis (dominator tree and retained sizes included):
//   leakwatch  loadSnapshotSync(file), then summary() and topRetainers(10)
//   devtools   the DevTools worker's full initialize() (via __test__/oracle), then its Summary view
//   memlab     memlab 2.0.5's getFullHeapFromFile (parse, shortest paths, dominators, retained sizes),
//              installed on demand into bench/.deps so it never becomes a project dependency
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const { ensureBigSnapshot, DEFAULT_FILES } = require('./make-big-snapshot.js');

const ROOT = path.join(__dirname, '..');
const OUT_DIR = path.join(__dirname, '.out');
const DEPS = path.join(__dirname, '.deps');
const MEMLAB_VERSION = '2.0.5';
const TOOLS = ['leakwatch', 'devtools', 'memlab'];

// ---------------------------------------------------------------------------------------------
// Child side: one tool, one load. The result goes to a file because the tools print to stdout.

async function runTool(tool, file) {
  const t0 = performance.now();
  let result;
  if (tool === 'leakwatch') {
    const { loadSnapshotSync } = require(ROOT);
    const snap = loadSnapshotSync(file);
    const classes = snap.summary().length;
    const top = snap.topRetainers(10);
    result = { nodes: snap.nodeCount, edges: snap.edgeCount, classes, topRetained: top[0]?.retainedSize };
  } else if (tool === 'devtools') {
    const oracle = await import(pathToFileURL(path.join(ROOT, '__test__/oracle/devtools.mjs')).href);
    const { snapshot } = await oracle.loadDevtoolsSnapshot(file);
    // The Summary view, which leakwatch computes as part of its load.
    const classes = Object.keys(snapshot.aggregatesWithFilter({})).length;
    result = {
      nodes: snapshot.nodeCount,
      edges: snapshot.containmentEdges.length / snapshot.edgeFieldsCount,
      classes,
    };
  } else if (tool === 'memlab') {
    const { getFullHeapFromFile } = require(path.join(DEPS, 'node_modules/@memlab/heap-analysis'));
    const heap = await getFullHeapFromFile(file);
    result = { nodes: heap.nodes.length, edges: heap.edges.length };
  } else {
    throw new Error(`unknown tool ${tool}`);
  }
  result.seconds = (performance.now() - t0) / 1000;
  result.maxRssKB = process.resourceUsage().maxRSS;
  return result;
}

// Phase boundaries of a leakwatch load, sampled through the async API's progress callback. A
// separate run from the timed one, so polling cannot perturb the figures in the table.
async function leakwatchPhases(file) {
  const { loadSnapshot } = require(ROOT);
  const t0 = performance.now();
  const seen = [];
  const snap = await loadSnapshot(file, {
    progressIntervalMs: 5,
    onProgress: ({ phase }) => {
      // Before the load job reports anything its phase is empty: time spent queued and opening.
      const name = phase || '(start)';
      if (seen.at(-1)?.phase !== name) seen.push({ phase: name, at: (performance.now() - t0) / 1000 });
    },
  });
  const end = (performance.now() - t0) / 1000;
  snap.close();
  return seen
    .filter(s => s.phase !== 'done')
    .map((s, i, all) => ({ phase: s.phase, seconds: (all[i + 1]?.at ?? end) - s.at }));
}

// ---------------------------------------------------------------------------------------------
// Parent side.

function hasGnuTime() {
  if (!fs.existsSync('/usr/bin/time')) return false;
  // BusyBox and BSD `time` lack -v; GNU time prints "Maximum resident set size" with it.
  const r = spawnSync('/usr/bin/time', ['-v', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /Maximum resident set size/.test(r.stderr);
}

function parseGnuTime(stderr) {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
  if (!rss || !wall) return null;
  return {
    maxRssKB: Number(rss[1]),
    wallSeconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]),
  };
}

function child(args, { gnuTime, nodeFlags = [] }) {
  const resultFile = path.join(OUT_DIR, `result-${args[0]}-${process.pid}.json`);
  const nodeArgs = [...nodeFlags, __filename, '--child', ...args, resultFile];
  const [cmd, argv] = gnuTime ? ['/usr/bin/time', ['-v', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'ignore', 'pipe'] });
  const wallSeconds = (performance.now() - t0) / 1000;
  let result;
  try {
    result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  } catch {
    const tail = r.stderr.trim().split('\n').filter(l => !/^\t/.test(l)).slice(-3).join(' | ');
    return { error: `exit ${r.status ?? r.signal}: ${tail}` };
  } finally {
    fs.rmSync(resultFile, { force: true });
  }
  const measured = gnuTime ? parseGnuTime(r.stderr) : null;
  return { ...result, wallSeconds: measured?.wallSeconds ?? wallSeconds, maxRssKB: measured?.maxRssKB ?? result.maxRssKB };
}

function ensureMemlab() {
  const entry = path.join(DEPS, 'node_modules/@memlab/heap-analysis/package.json');
  if (fs.existsSync(entry)) return null;
  process.stderr.write(`installing memlab@${MEMLAB_VERSION} into bench/.deps…\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    ['install', '--prefix', DEPS, '--no-audit', '--no-fund', '--no-save', `memlab@${MEMLAB_VERSION}`],
    // memlab depends on puppeteer, whose install script downloads a browser; heap analysis needs none.
    { encoding: 'utf8', env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' } },
  );
  if (r.status === 0 && fs.existsSync(entry)) return null;
  const why = (r.error?.message ?? r.stderr.trim().split('\n').filter(l => /error/i.test(l)).slice(0, 2).join(' | ')) || `exit ${r.status}`;
  return `npm install memlab@${MEMLAB_VERSION} failed: ${why}`;
}

// Reads the file once so the first tool does not pay for the page cache alone.
function warmPageCache(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  fs.closeSync(fd);
}

const fmt = (x, digits = 1) => (x === undefined ? '-' : x.toFixed(digits));

async function main(argv) {
  const filesAt = argv.indexOf('--files');
  const files = filesAt >= 0 ? Number(argv[filesAt + 1]) : DEFAULT_FILES;
  const onlyAt = argv.indexOf('--only');
  const tools = onlyAt >= 0 ? argv[onlyAt + 1].split(',') : TOOLS;
  for (const t of tools) if (!TOOLS.includes(t)) throw new Error(`--only: unknown tool ${t}`);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got ${argv[runsAt + 1]}`);

  if (!fs.existsSync(path.join(ROOT, 'binding.js'))) throw new Error('run `npm run build` first');
  const file = ensureBigSnapshot({ fresh: argv.includes('--fresh'), files });
  const fileBytes = fs.statSync(file).size;
  const fileMB = fileBytes / 1e6;
  const gnuTime = hasGnuTime();
  if (tools.includes('devtools')) {
    // Bundle the DevTools worker now, so its one-time esbuild step is not timed.
    const { buildOracle } = await import(pathToFileURL(path.join(ROOT, '__test__/oracle/build.mjs')).href);
    await buildOracle();
  }
  warmPageCache(file);

  console.log(`snapshot: ${path.relative(ROOT, file)}, ${fileMB.toFixed(0)} MB`);
  console.log(`peak RSS from ${gnuTime ? '/usr/bin/time -v' : "the child's process.resourceUsage()"}; ` +
    `wall = whole child process, load = inside it (after startup)`);
  console.log(`${runs} round${runs === 1 ? '' : 's'}, tools in turn; times are the median run's, peak RSS the highest\n`);

  const skipped = new Map(tools.map(tool => [tool, tool === 'memlab' ? ensureMemlab() : null]));
  const runsByTool = new Map(tools.map(tool => [tool, []]));
  for (let round = 1; round <= runs; round++) {
    for (const tool of tools) {
      if (skipped.get(tool)) continue;
      process.stderr.write(`round ${round}/${runs}: ${tool}…\n`);
      // The JS tools keep most of the graph on the V8 heap; give them room instead of an OOM.
      runsByTool.get(tool).push(child([tool, file], { gnuTime, nodeFlags: tool === 'leakwatch' ? [] : ['--max-old-space-size=16384'] }));
    }
  }
  const rows = tools.map(tool => {
    if (skipped.get(tool)) return { tool, error: skipped.get(tool) };
    const all = runsByTool.get(tool);
    const failed = all.find(r => r.error);
    if (failed) return { tool, error: failed.error };
    const byWall = [...all].sort((a, b) => a.wallSeconds - b.wallSeconds);
    return { tool, ...byWall[(byWall.length - 1) >> 1], runs: all, maxRssKB: Math.max(...all.map(r => r.maxRssKB)) };
  });

  const base = rows.find(r => r.tool === 'leakwatch' && !r.error);
  const counted = rows.find(r => !r.error && r.nodes !== undefined);
  if (counted) console.log(`nodes ${counted.nodes.toLocaleString('en-US')}, edges ${counted.edges.toLocaleString('en-US')} (from ${counted.tool})\n`);
  const header = ['tool', 'wall s', 'load s', 'peak RSS MB', 'time x leakwatch', 'RSS / file'];
  const lines = rows.map(r => r.error
    ? [r.tool, `unavailable: ${r.error}`]
    : [
      r.tool,
      fmt(r.wallSeconds, 2),
      fmt(r.seconds, 2),
      fmt(r.maxRssKB / 1024, 0),
      base ? `${fmt(r.wallSeconds / base.wallSeconds)}x` : '-',
      `${fmt((r.maxRssKB * 1024) / fileBytes, 2)}x`,
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter(l => l.length > i + 1).map(l => String(l[i]).length)));
  const row = cells => cells.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  console.log(row(header));
  for (const l of lines) console.log(row(l));
  for (const r of rows) {
    if (!r.error && counted && (r.nodes !== counted.nodes || r.edges !== counted.edges)) {
      console.log(`note: ${r.tool} counts ${r.nodes} nodes / ${r.edges} edges`);
    }
  }
  if (runs > 1) {
    console.log('\nevery round, wall s (round 1 first):');
    for (const r of rows.filter(r => !r.error)) {
      console.log(`  ${r.tool.padEnd(10)} ${r.runs.map(x => fmt(x.wallSeconds, 2)).join('  ')}`);
    }
    if (base) {
      for (const r of rows.filter(r => !r.error && r !== base)) {
        const ratios = r.runs.map((x, i) => `${fmt(x.wallSeconds / base.runs[i].wallSeconds)}x`);
        console.log(`  ${r.tool} x leakwatch, same round: ${ratios.join('  ')}`);
      }
    }
  }

  if (tools.includes('leakwatch')) {
    const phases = child(['leakwatch-phases', file], { gnuTime: false });
    if (!phases.error) {
      console.log('\nleakwatch phases (separate async run, sampled every 5 ms):');
      for (const p of phases.phases) console.log(`  ${p.phase.padEnd(16)} ${fmt(p.seconds, 2)} s`);
    }
  }

  // The runtime primitives' overheads, the real-server case and snapshot
  // fast mode are separate scripts so each can also run alone; `npm run
  // bench` prints them all.
  for (const script of ['runtime.js', 'server.js', 'snapshot-fast.js']) {
    console.log(`\n=== bench/${script}`);
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, script)], { stdio: 'inherit' });
    if (r.status !== 0) console.log(`bench/${script} exited with status ${r.status}`);
  }
}

async function childMain([tool, file, resultFile]) {
  const result = tool === 'leakwatch-phases'
    ? { phases: await leakwatchPhases(file), maxRssKB: process.resourceUsage().maxRSS }
    : await runTool(tool, file);
  fs.writeFileSync(resultFile, JSON.stringify(result));
}

const argv = process.argv.slice(2);
(argv[0] === '--child' ? childMain(argv.slice(1)) : main(argv)).catch(e => {
  console.error(e.stack || String(e));
  process.exit(1);
});
