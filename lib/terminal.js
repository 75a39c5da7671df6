'use strict';

// Text from a heap snapshot is attacker-controlled: any string the process
// held, any property name. Written raw to a terminal, an ESC or CSI starts a
// control sequence (title, colours, cursor moves, OSC 52 writes the
// clipboard), a CR or newline forges lines, and bidirectional overrides make
// text read differently from its bytes. Every text line leakwatch prints
// passes through escapeTerminal, which shows such characters as visible
// escapes instead.

// C0 controls, DEL, C1 controls (including the 8-bit CSI and OSC), the
// Arabic letter mark, LRM/RLM, line and paragraph separators, and the
// embedding, override and isolate controls (Trojan Source).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c) {
  if (NAMED[c]) return NAMED[c];
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every terminal control character shown as a visible escape. */
function escapeTerminal(text) {
  return String(text).replace(UNSAFE, escapeChar);
}

/** Whether `text` holds a character escapeTerminal would rewrite. */
function hasTerminalControls(text) {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(String(text));
  UNSAFE.lastIndex = 0;
  return found;
}

/**
 * A copy of `value` (a report, diff rows, suspects) with every string in it
 * escaped, for text formatting: whatever the formatter does with a field, no
 * control character from the snapshot reaches the terminal.
 */
function escapeTerminalDeep(value) {
  if (typeof value === 'string') return escapeTerminal(value);
  if (Array.isArray(value)) return value.map(escapeTerminalDeep);
  if (ArrayBuffer.isView(value) || value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = escapeTerminalDeep(v);
  return out;
}

// JSON.stringify escapes C0 controls but passes C1 controls (U+009B is an
// 8-bit CSI), DEL and bidirectional overrides through as they are.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text for a terminal or a file: exactly the data (JSON.parse gives
 * back the same strings), with every control character written as a \u
 * escape so that printing it cannot drive the terminal.
 */
function jsonForTerminal(value, space = 2) {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * process.emitWarning with every control character escaped. Node writes a
 * warning to stderr as it is, and leakwatch's warnings name what the
 * application chose: event and class names, file paths, directories. An
 * event name can come from a client (a socket.io event), a path from a
 * request. An Error keeps its name and code, and its original goes along as
 * the cause.
 */
function emitWarningEscaped(warning, options) {
  if (warning instanceof Error) {
    if (hasTerminalControls(warning.message)) {
      const escaped = new Error(escapeTerminal(warning.message), { cause: warning });
      escaped.name = escapeTerminal(warning.name);
      if (warning.code !== undefined) escaped.code = warning.code;
      warning = escaped;
    }
    process.emitWarning(warning);
    return;
  }
  const detail = options?.detail;
  process.emitWarning(escapeTerminal(warning), detail === undefined ? options : { ...options, detail: escapeTerminal(detail) });
}

module.exports = { escapeTerminal, escapeTerminalDeep, hasTerminalControls, jsonForTerminal, emitWarningEscaped };
