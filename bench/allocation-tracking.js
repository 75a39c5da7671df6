'use strict';
// What allocation tracking costs: the same work with V8's allocation
// tracker on and off, interleaved in one process so the machine's noise hits
// both alike. Two workloads: requests to an express app over loopback (the
// case expectNoLeak and a tracked service see), and a loop that does nothing
// but allocate (the worst case). Prints medians and the ratio per workload.
//
//   node bench/allocation-tracking.js [rounds]

const http = require('node:http');
const express = require('express');
const { trackAllocations } = require('../index.js');
const { settle } = require('../lib/gc.js');

const ROUNDS = Number(process.argv[2] || 5);

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main() {
  const app = express();
  app.use(express.json());
  const orders = [];
  app.post('/orders', (req, res) => {
    const order = { ...req.body, id: orders.length, at: new Date().toISOString(), lines: req.body.lines.map((l) => ({ ...l, total: l.qty * l.price })) };
    orders.push(order);
    if (orders.length > 200) orders.shift();
    res.json({ id: order.id, total: order.lines.reduce((a, l) => a + l.total, 0) });
  });
  const server = http.createServer(app);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const body = JSON.stringify({ customer: 'c-1', lines: Array.from({ length: 8 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1, price: 9.5 })) });
  const post = () =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.address().port, path: '/orders', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  const requests = async () => {
    for (let i = 0; i < 400; i++) await Promise.all([post(), post(), post(), post()]);
  };
  const allocations = async () => {
    let keep = null;
    for (let i = 0; i < 400_000; i++) keep = { i, s: `k${i & 1023}`, a: [i] };
    return keep;
  };

  const workloads = { 'express requests (1,600 over loopback)': requests, 'allocation loop (400,000 objects)': allocations };
  const results = {};
  for (const name of Object.keys(workloads)) results[name] = { off: [], on: [] };
  await requests(); // warm-up: JIT, sockets
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(workloads)) {
      // Alternate which runs first, so drift favours neither.
      const order = r % 2 ? ['on', 'off'] : ['off', 'on'];
      for (const mode of order) {
        await settle();
        if (mode === 'on') {
          const tracker = trackAllocations();
          try {
            results[name].on.push(await timed(fn));
          } finally {
            tracker.stop();
          }
        } else {
          results[name].off.push(await timed(fn));
        }
      }
    }
  }
  agent.destroy();
  server.close();
  console.log(`allocation tracking cost, median of ${ROUNDS} interleaved rounds (${process.version})`);
  for (const [name, { off, on }] of Object.entries(results)) {
    const a = median(off);
    const b = median(on);
    console.log(`  ${name}: ${a.toFixed(0)} ms off, ${b.toFixed(0)} ms on, ${(b / a).toFixed(2)}x`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
