'use strict';

// The service that bench/server.js loads and the soak test runs: node:http on
// loopback with a small, realistic handler (a per-request EventEmitter, a
// request-timeout timer and an immediate, a JSON response), with leakwatch's
// run-time primitives switched on by name. Run by fork(); it reports its port
// and answers 'stats', 'cpu' and 'exit' over IPC.
//
//   --with listeners,timers,monitor,log,snapshots,cache,track   (or 'all'; none by default)
//   --leak        every request also leaves a listener on a long-lived emitter

const http = require('node:http');
const { EventEmitter } = require('node:events');
const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ALL = ['listeners', 'timers', 'monitor', 'log', 'snapshots', 'cache', 'track'];
const { values } = parseArgs({ options: { with: { type: 'string', default: '' }, leak: { type: 'boolean', default: false } } });
const on = new Set(values.with === 'all' ? ALL : values.with.split(',').filter(Boolean));
for (const name of on) if (!ALL.includes(name)) throw new Error(`unknown primitive ${name}`);

const lw = require('..');
const warnings = [];
process.on('warning', (w) => { if (String(w.code).startsWith('LEAKWATCH_')) warnings.push({ code: w.code, message: w.message }); });

if (on.has('listeners')) {
  lw.listeners.configure({ intervalMs: 500 });
  lw.listeners.install();
}
if (on.has('timers')) lw.timers.install();
const m = on.has('monitor') ? lw.monitor({ intervalMs: 500 }) : null;
const alerts = [];
m?.on('leak-suspected', (t) => alerts.push(t));
const log = on.has('log') ? new lw.BoundedLog({ maxEntries: 10_000 }) : null;
let schedule = null;
if (on.has('snapshots')) {
  // Armed but not due: what a production service keeps on.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-soak-'));
  schedule = lw.snapshots.schedule({ dir, everyMs: 3_600_000, onLeakSuspected: true, monitor: m ?? undefined });
}
const cache = on.has('cache') ? new lw.WeakValueCache() : null;
// A long-lived bus, as services keep for cross-request events.
const bus = new EventEmitter();
bus.setMaxListeners(0);
if (on.has('track')) lw.trackEmitter(bus, { name: 'service-bus' });

const users = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user-${i}`, plan: i % 3 ? 'free' : 'pro' }));
let served = 0;

function leakyHandler() {
  bus.on('config-changed', () => {});
}

function handle(req, res) {
  const id = served++;
  const work = new EventEmitter();
  // The request's deadline; cleared when the response is sent.
  const deadline = setTimeout(() => work.emit('error', new Error('timeout')), 10_000);
  const onConfig = () => {};
  bus.on('config-changed', onConfig);
  work.once('error', (err) => {
    res.writeHead(503);
    res.end(String(err.message));
  });
  work.once('done', (body) => {
    clearTimeout(deadline);
    bus.off('config-changed', onConfig);
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    log?.push({ url: req.url, status: 200, time: Date.now() });
  });
  if (values.leak) leakyHandler();
  setImmediate(() => {
    const user = users[id % users.length];
    const profile = cache ? cache.getOrCreate(user.id, () => ({ ...user, seen: id })) : user;
    work.emit('done', { id, url: req.url, user: profile.name, plan: profile.plan, items: [id & 7, id & 15, id & 31] });
  });
}

const server = http.createServer(handle);
server.keepAliveTimeout = 60_000;

function stats() {
  globalThis.gc?.();
  const native = require('../binding.js');
  const mem = process.memoryUsage();
  const active = lw.timers.active();
  const report = lw.listeners.report().emitters;
  return {
    served,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    native: {
      emitters: native.listenerEmitterCount(),
      keys: native.listenerKeyCount(),
      timers: native.timerCount(),
      counts: native.trackerCounts(),
      log: log?.stats() ?? null,
    },
    activeTimers: active.count,
    warnedEvents: report.flatMap((e) => e.events.filter((ev) => ev.warned).map((ev) => ({ emitter: e.name, event: ev.event, count: ev.count, site: ev.sites[0]?.site ?? null }))),
    watchedKeys: report.reduce((n, e) => n + e.events.length, 0),
    warnings,
    alerts: alerts.length,
    monitorHistory: m ? m.history().length : 0,
  };
}

process.on('message', (msg) => {
  if (msg === 'stats') process.send({ stats: stats() });
  if (msg === 'cpu') process.send({ cpu: process.cpuUsage(), served });
  if (msg === 'exit') {
    schedule?.stop();
    m?.stop();
    server.close();
    server.closeAllConnections?.();
    process.disconnect();
  }
});

server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
