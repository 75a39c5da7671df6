'use strict';

// The demo service: a small HTTP service with one of the seed's leaks (a
// listener added per request and never removed). It does not import
// leakwatch. examples/demo.js drives it in-process; examples/agent-demo.js
// runs it unchanged under `node --import leakwatch/register`.

const http = require('node:http');
const { EventEmitter } = require('node:events');

function createService() {
  const someEmitter = new EventEmitter();
  someEmitter.setMaxListeners(0);
  globalThis.someEmitter = someEmitter;
  const server = http.createServer((req, res) => {
    // The leak: every request subscribes and never unsubscribes.
    const started = { url: req.url, at: Date.now() };
    someEmitter.on('data', (data) => `${started.url}:${data}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ started: true }));
  });
  return { server, someEmitter };
}

module.exports = { createService };

if (require.main === module) {
  const { server } = createService();
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    console.log(JSON.stringify({ port: server.address().port, pid: process.pid }));
  });
}
