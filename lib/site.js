'use strict';

const path = require('node:path');
const { findSourceMap } = require('node:module');

const HERE = __dirname + path.sep;
const FRAMES = 16;

function isOurs(file) {
  return file.startsWith(HERE) || file.startsWith('node:');
}

function rawFrames(_, frames) {
  return frames;
}

/** A frame as a stack line shows it, through the source map when Node has them on. */
function format(frame) {
  const file = frame.getFileName();
  const map = process.sourceMapsEnabled && file ? findSourceMap(file) : undefined;
  const entry = map?.findEntry(frame.getLineNumber() - 1, frame.getColumnNumber() - 1);
  if (entry?.originalSource === undefined) return frame.toString();
  const where = `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  const name = frame.getFunctionName();
  return name ? `${name} (${where})` : where;
}

/**
 * The first stack frame outside leakwatch and Node's own modules, as
 * "function (file:line:col)" or "file:line:col". Takes the frames as
 * objects and formats only that one: formatting all of them through
 * Error.prepareStackTrace cost 10 of a site's 14 µs. Callers still decide
 * when it is worth it.
 */
function captureSite(skip) {
  const holder = {};
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  let frames;
  Error.stackTraceLimit = FRAMES;
  Error.prepareStackTrace = rawFrames;
  try {
    Error.captureStackTrace(holder, skip);
    frames = holder.stack;
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
  if (!Array.isArray(frames)) return '(unknown)';
  for (const frame of frames) {
    const file = frame.getFileName() ?? '';
    if (file !== '' && isOurs(file)) continue;
    if (file === '' && frame.isNative()) continue;
    return format(frame);
  }
  return '(unknown)';
}

module.exports = { captureSite };
