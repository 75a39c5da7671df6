'use strict';

// Native errors arrive as "<CODE>: <message>" (the one shape that survives
// both sync throws and AsyncTask rejections); move the prefix into err.code.
const PREFIX = /^(ERR_[A-Z0-9_]+): ([\s\S]*)$/;

function translate(err) {
  if (err && typeof err.message === 'string') {
    const m = PREFIX.exec(err.message);
    if (m) {
      err.code = m[1];
      err.message = m[2];
    } else if (err.code === 'GenericFailure') {
      // Our own errors all carry a prefix; napi's catch_unwind reports a
      // caught Rust panic with this bare status instead.
      err.code = 'ERR_INTERNAL';
      err.message = `leakwatch internal error: ${err.message}`;
    }
  }
  return err;
}

function callNative(fn) {
  try {
    return fn();
  } catch (err) {
    throw translate(err);
  }
}

function argError(message, code = 'ERR_INVALID_ARG') {
  const err = new TypeError(message);
  err.code = code;
  return err;
}

function abortError(signal) {
  const err = new Error('The operation was aborted', signal && signal.reason !== undefined ? { cause: signal.reason } : undefined);
  err.name = 'AbortError';
  err.code = 'ERR_ABORTED';
  return err;
}

// ---------------------------------------------------------------------------
// Argument checks shared by every public function. Each throws an error with
// code ERR_INVALID_ARG (a TypeError for a wrong type, a RangeError for a
// number outside its documented limits) whose message names the function,
// the argument and what it got, so a caller's mistake is never silently
// ignored.

/** What a value is, for messages: never throws (Symbols cannot be interpolated). */
function describeValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined': return 'undefined';
    case 'symbol': return `a symbol (${String(value.description === undefined ? 'Symbol()' : `Symbol(${value.description.slice(0, 40)})`)})`;
    case 'bigint': return `a bigint (${String(value).slice(0, 40)}n)`;
    case 'string': return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number': return `a number (${String(value)})`;
    case 'boolean': return `a boolean (${value})`;
    case 'function': return 'a function';
    default: return 'an object';
  }
}

function where(fnName, name) {
  return fnName ? `${fnName}: ${name}` : name;
}

/**
 * An options argument: `undefined` means defaults ({}); anything but a plain
 * object (null, a primitive, a Symbol, a BigInt, an array, a function) is an
 * error. With `known`, a key outside the list is an error too, so a typo
 * (`{ tpo: 5 }`) does not silently fall back to the default.
 */
function checkOptions(options, fnName, known) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw argError(`${where(fnName, 'options')} must be an object, got ${describeValue(options)}`);
  }
  if (known) {
    for (const key of Reflect.ownKeys(options)) {
      if (typeof key === 'symbol' || !known.includes(key)) {
        throw argError(`${where(fnName, 'options')} has an unknown key ${typeof key === 'symbol' ? String(key) : JSON.stringify(key)}; known keys: ${known.join(', ')}`);
      }
    }
  }
  return options;
}

/**
 * An integer option or argument within [min, max]; `undefined` gives
 * `fallback`.
 */
function checkInteger(value, name, { fnName, min = 0, max = Number.MAX_SAFE_INTEGER, fallback } = {}) {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw argError(`${where(fnName, name)} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  if (value < min || value > max) {
    const err = new RangeError(`${where(fnName, name)} must be an integer from ${min} to ${max}, got ${value}`);
    err.code = 'ERR_INVALID_ARG';
    throw err;
  }
  return value;
}

/** A boolean option; `undefined` gives `fallback`. */
function checkBoolean(value, name, { fnName, fallback = false } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argError(`${where(fnName, name)} must be true or false, got ${describeValue(value)}`);
  return value;
}

/** A function option; `undefined` gives `fallback` (undefined by default). */
function checkFunction(value, name, { fnName, fallback } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw argError(`${where(fnName, name)} must be a function, got ${describeValue(value)}`);
  return value;
}

/** A string option; `undefined` gives `fallback`; `nonEmpty` rejects ''. */
function checkString(value, name, { fnName, fallback, nonEmpty = false } = {}) {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string') throw argError(`${where(fnName, name)} must be a string, got ${describeValue(value)}`);
  if (nonEmpty && value === '') throw argError(`${where(fnName, name)} must not be empty`);
  return value;
}

module.exports = {
  translate,
  callNative,
  argError,
  abortError,
  describeValue,
  checkOptions,
  checkInteger,
  checkBoolean,
  checkFunction,
  checkString,
};
