'use strict';

// The main job: a small HTTP service with one of the seed's leaks (a
// listener added per request and never removed), driven on loopback,
// snapshotted three times in-process, and explained by findLeaks. Then the
// runtime view of the same leak from a tracked emitter.

const http = require('node:http');
const v8 = require('node:v8');
const leakwatch = require('../index.js');
const { formatBytes, formatPath } = require('../lib/format.js');
const service = require('./service.js');

const REQUESTS_PER_ROUND = 300;

function createService() {
  const created = service.createService();
  leakwatch.trackEmitter(created.someEmitter, { name: 'someEmitter', threshold: 50 });
  return created;
}

function request(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
  });
}

async function drive(port, count, offset) {
  for (let i = 0; i < count; i++) {
    await request(port, `/start?i=${offset + i}`);
    // The runtime tracker samples counts; a count that keeps rising warns.
    if (i % 100 === 99) leakwatch.listeners.observe();
  }
}

async function snapshot(label) {
  const started = process.hrtime.bigint();
  const snap = await leakwatch.loadSnapshot(v8.getHeapSnapshot());
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`  snapshot ${label}: ${snap.nodeCount.toLocaleString('en-US')} nodes, ${formatBytes(snap.totalSize)}, streamed and analysed in ${ms.toFixed(0)} ms`);
  return snap;
}

async function main() {
  const { server, someEmitter } = createService();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  console.log(`leaky service on http://127.0.0.1:${port}; ${REQUESTS_PER_ROUND} requests per round\n`);

  const snaps = [];
  try {
    await drive(port, REQUESTS_PER_ROUND, 0); // warm-up
    snaps.push(await snapshot(1));
    await drive(port, REQUESTS_PER_ROUND, REQUESTS_PER_ROUND);
    snaps.push(await snapshot(2));
    await drive(port, REQUESTS_PER_ROUND, 2 * REQUESTS_PER_ROUND);
    snaps.push(await snapshot(3));

    const suspects = await leakwatch.findLeaks(snaps);
    console.log(`\nfindLeaks: ${suspects.length} suspect${suspects.length === 1 ? '' : 's'}`);
    suspects.slice(0, 3).forEach((s, i) => {
      console.log(`\n${i + 1}. [${s.kind}, ${s.confidence} confidence] ${s.explanation}`);
      console.log('   retained by:');
      console.log(formatPath(s.retainerPath, { indent: '     ' }));
    });

    const report = leakwatch.listeners.report();
    const tracked = (report.emitters || []).find((e) => e.name === 'someEmitter') || report.emitters?.[0];
    console.log('\nRuntime view (trackEmitter on the same emitter):');
    console.log(JSON.stringify(tracked, null, 2).split('\n').slice(0, 30).join('\n'));
    console.log(`\nlive 'data' listeners: ${someEmitter.listenerCount('data')}`);
  } finally {
    for (const s of snaps) s.close();
    leakwatch.untrack(someEmitter);
    server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
