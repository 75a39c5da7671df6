'use strict';

const path = require('node:path');

const HERE = __dirname + path.sep;
const FRAMES = 16;

function isOurs(line) {
  return line.includes(HERE) || line.includes('(node:') || line.includes(' node:');
}

/**
 * The first stack frame outside leakwatch and Node's own modules, as
 * "function (file:line:col)" or "file:line:col". Costs a few microseconds:
 * callers decide when it is worth it.
 */
function captureSite(skip) {
  const holder = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = FRAMES;
  Error.captureStackTrace(holder, skip);
  Error.stackTraceLimit = limit;
  const lines = String(holder.stack).split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.startsWith('at ') && !isOurs(line)) return line.slice(3);
  }
  return '(unknown)';
}

module.exports = { captureSite };
