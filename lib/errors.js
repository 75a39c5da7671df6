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

module.exports = { translate, callNative, argError, abortError };
