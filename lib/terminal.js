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

module.exports = { escapeTerminal, hasTerminalControls };
