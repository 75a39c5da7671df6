'use strict';
// `leakwatch mcp` on big snapshots, as an agent uses it: an SDK client spawns
// the server and calls its tools on each file in turn; figures are the time
// of each call, the server's RSS (current and peak, from /proc), the size of
// each answer, and, for the first file, the peak RSS of a plain
// `loadSnapshot` in its own process (the engine's usual memory) for a ratio.
//
//   node bench/mcp.js [--cache-mb N] FILE...
//
// Make files with `node bench/make-big-snapshot.js` (~660 MB, a real heap) or
// `cargo run --release --no-default-features --example synth -- --nodes 12000000 --out FILE`
// (~1.2 GB). Not a test: it takes minutes and GBs.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const MB = (b) => `${(b / 1e6).toFixed(0)} MB`;

function procStatus(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Peak RSS of loading the file with the public API, alone in a child. */
function plainLoad(file) {
  const script = `
    const { loadSnapshot } = require(${JSON.stringify(ROOT)});
    const t = performance.now();
    loadSnapshot(${JSON.stringify(file)}).then((s) => {
      const seconds = (performance.now() - t) / 1000;
      console.log(JSON.stringify({ seconds, maxRss: process.resourceUsage().maxRSS * 1024, nodes: s.nodeCount }));
      s.close();
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plain load failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function main(argv) {
  const files = [];
  const serverArgs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cache-mb') serverArgs.push('--cache-mb', argv[++i]);
    else files.push(path.resolve(argv[i]));
  }
  if (files.length === 0) throw new Error('usage: node bench/mcp.js [--cache-mb N] FILE...');
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');

  let plainPeak = 0;
  for (const file of new Set(files)) {
    const plain = plainLoad(file);
    plainPeak = Math.max(plainPeak, plain.maxRss);
    console.log(`plain loadSnapshot of ${path.basename(file)} (${MB(fs.statSync(file).size)}): ${plain.seconds.toFixed(1)} s, peak RSS ${MB(plain.maxRss)}`);
  }

  const transport = new StdioClientTransport({ command: process.execPath, args: [path.join(ROOT, 'bin/leakwatch.js'), 'mcp', ...serverArgs], stderr: 'inherit' });
  const client = new Client({ name: 'leakwatch-bench', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  const idle = procStatus(pid);
  console.log(`server idle: RSS ${MB(idle.rss)}`);
  const rows = [];
  const call = async (label, name, args, options) => {
    const t = performance.now();
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 30 * 60_000, ...options });
    const seconds = (performance.now() - t) / 1000;
    const text = r.content[0].text;
    if (r.isError) throw new Error(`${name}: ${text}`);
    const mem = procStatus(pid);
    rows.push({ label, seconds, chars: text.length, ...mem });
    return JSON.parse(text);
  };
  try {
    for (const file of files) {
      const base = path.basename(file);
      const notes = [];
      const started = performance.now();
      const a = await call(`${base}: analyze_snapshot (load)`, 'analyze_snapshot', { path: file }, {
        onprogress: (p) => notes.push({ at: (performance.now() - started) / 1000, ...p }),
        resetTimeoutOnProgress: true,
      });
      rows.at(-1).label += ` ${notes.length} progress notes`;
      // When each phase was first reported, against the share of the bar it had reached.
      const firsts = new Map();
      for (const n of notes) {
        const phase = n.message.split(': ').pop();
        if (!firsts.has(phase)) firsts.set(phase, n);
      }
      console.log(`${base} progress: ${[...firsts].map(([phase, n]) => `${phase} ${n.progress}% at ${n.at.toFixed(1)} s`).join(', ')}`);
      await call(`${base}: analyze_snapshot (cached)`, 'analyze_snapshot', { path: file });
      const top = a.largest.find((t) => t.node.type !== 'synthetic') ?? a.largest[0];
      const id = top.node.id;
      await call(`${base}: node_details (builds the id index)`, 'node_details', { path: file, id });
      await call(`${base}: node_details again`, 'node_details', { path: file, id });
      await call(`${base}: node_retainers`, 'node_retainers', { path: file, id });
      await call(`${base}: node_children`, 'node_children', { path: file, id });
      const cls = a.classes[0];
      const page = await call(`${base}: class_instances ${cls.name.slice(0, 20)} p1`, 'class_instances', { path: file, class: cls.key, limit: 100 });
      if (page.nextOffset !== undefined) await call(`${base}: class_instances p2`, 'class_instances', { path: file, class: cls.key, limit: 100, offset: page.nextOffset });
      const deepest = page.instances.at(-1)?.id ?? id;
      await call(`${base}: retainer_path`, 'retainer_path', { path: file, id: deepest });
      await call(`${base}: dominator_chain`, 'dominator_chain', { path: file, id: deepest });
    }
    const state = await call('loaded_snapshots', 'loaded_snapshots', {});
    console.log('\ncall                                                   seconds   answer   server RSS   server peak');
    for (const r of rows) {
      console.log(`${r.label.padEnd(54)} ${r.seconds.toFixed(2).padStart(7)} ${String(r.chars).padStart(8)} ${MB(r.rss).padStart(12)} ${MB(r.peak).padStart(13)}`);
    }
    const peak = Math.max(...rows.map((r) => r.peak));
    console.log(`\ncache: budget ${MB(state.budgetBytes)}, used ${MB(state.usedBytes)}; ${state.snapshots.map((s) => `${path.basename(s.path)} ${MB(s.memoryBytes)} (loaded in ${(s.loadMs / 1000).toFixed(1)} s)`).join(', ')}`);
    console.log(`server peak RSS / largest plain load peak RSS: ${(peak / plainPeak).toFixed(2)}x`);
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
