'use strict';

// A bounded HTTP/1.1 load generator for bench/server.js and the soak test,
// run in its own process: `connections` clients send `requests` GETs in all,
// each waiting for its response before the next (keep-alive), or each
// request on a new connection that the server closes after answering
// (close). Written on raw sockets: it reads only the status line, the
// content length and the body, so the client costs the server's core as
// little as it can; latency is timed per request with hrtime.
//
//   node bench/load.js --port P [--requests 20000] [--connections 32] [--mode keepalive|close]
//
// Prints one JSON line: { requests, errors, seconds, rps, p50, p90, p99, max } (latencies in ms).

const net = require('node:net');
const { parseArgs } = require('node:util');

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Bytes of a complete response at the start of `buf`, or 0 while incomplete. */
function responseLength(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 0;
  const head = buf.toString('latin1', 0, end);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length >= total ? total : 0;
}

function run({ port, requests, connections, mode }) {
  const latencies = [];
  let sent = 0;
  let errors = 0;
  const keepalive = mode === 'keepalive';
  const started = process.hrtime.bigint();
  const request = (i) => Buffer.from(`GET /api/items/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n${keepalive ? '' : 'Connection: close\r\n'}\r\n`);

  return new Promise((resolve) => {
    let open = 0;
    const done = () => {
      if (--open > 0) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      latencies.sort((a, b) => a - b);
      resolve({
        requests: latencies.length,
        errors,
        seconds,
        rps: latencies.length / seconds,
        p50: percentile(latencies, 50),
        p90: percentile(latencies, 90),
        p99: percentile(latencies, 99),
        max: latencies.at(-1),
      });
    };

    const client = () => {
      if (sent >= requests) return done();
      const i = sent++;
      let buf = Buffer.alloc(0);
      let t0 = process.hrtime.bigint();
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write(request(i)));
      socket.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          const n = responseLength(buf);
          if (n === 0) return;
          if (buf.toString('latin1', 9, 12) !== '200') errors++;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          buf = buf.subarray(n);
          if (!keepalive) return;
          if (sent >= requests) {
            socket.end();
            return;
          }
          t0 = process.hrtime.bigint();
          socket.write(request(sent++));
        }
      });
      socket.on('error', () => {
        errors++;
      });
      socket.on('close', () => (keepalive ? done() : client()));
    };

    for (let c = 0; c < connections; c++) {
      open++;
      client();
    }
  });
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      requests: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '32' },
      mode: { type: 'string', default: 'keepalive' },
    },
  });
  if (!values.port) throw new Error('--port is required');
  if (values.mode !== 'keepalive' && values.mode !== 'close') throw new Error('--mode is keepalive or close');
  run({ port: Number(values.port), requests: Number(values.requests), connections: Number(values.connections), mode: values.mode })
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
}

module.exports = { run };
