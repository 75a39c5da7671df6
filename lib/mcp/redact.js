'use strict';

// Redaction of the MCP server's answers, for what the public API does not
// redact yet. This is a stopgap in the agent layer: once the engine's one
// redaction policy covers reports, leak suspects, diffs and queries, delete
// this file and the two lines in server.js that call it.
//
// Hidden: string, number, bigint, symbol and regexp contents; property and
// shortcut edge names (a property name may be a map key or a token);
// DevTools-style `{a, b}` class names, which list property names; a leak
// suspect's holder name, and its sentence (rebuilt from redacted parts).
// Kept: code identifiers (constructor, function and closure variable names),
// V8's own edge and node names, element indices, ids and sizes, so paths still
// read. Placeholders are keyed hashes: the same text gets the same placeholder
// in every answer of one server process, and nothing outside it can reverse or
// recompute one.

const crypto = require('node:crypto');

const VALUE_TYPES = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'symbol', 'regexp']);
const NAMED_EDGE_TYPES = new Set(['property', 'shortcut']);
const KEPT_SUSPECT_TEXT = new Set(['kind', 'confidence']);
// Property names every object may have, which say nothing about the data.
const LANGUAGE_PROPERTIES = new Set(['__proto__', 'constructor', 'prototype']);
const PLACEHOLDER = /^(?:\{…:[\w-]{8}\}|<[a-z]+:[\w-]{8}>)$/;

function createRedactor(key = crypto.randomBytes(32)) {
  const hash = (text) => crypto.createHmac('sha256', key).update(String(text)).digest('base64url').slice(0, 8);
  const value = (kind, text) => (PLACEHOLDER.test(text) ? text : `<${kind}:${hash(text)}>`);

  function className(name) {
    if (typeof name !== 'string' || !name.startsWith('{') || PLACEHOLDER.test(name)) return name;
    return `{…:${hash(name)}}`;
  }

  // `script,line,column,Name` or `,Name`: the name part may be a `{a, b}` list.
  function classKey(key) {
    if (typeof key !== 'string') return key;
    const m = /^((?:\d+,\d+,\d+)?,)([\s\S]*)$/.exec(key);
    return m ? `${m[1]}${className(m[2])}` : className(key);
  }

  function node(n) {
    const out = { ...n };
    if (VALUE_TYPES.has(n.type)) {
      out.name = value(n.type.split(' ').pop(), n.name);
      delete out.nameLength;
    } else if (typeof n.name === 'string' && n.name.startsWith('{')) {
      out.name = className(n.name);
      delete out.nameLength;
    }
    out.className = className(n.className);
    return out;
  }

  // An edge as the answers give it: its label (`.name`, `[3]`, `->ctx`,
  // `{internal}`) and type; only property and shortcut names are hidden.
  function edgeLabel(label, type) {
    if (!NAMED_EDGE_TYPES.has(type) || typeof label !== 'string') return label;
    const name = label.startsWith('.') ? label.slice(1) : label.replace(/^\["([\s\S]*)"\]$/, '$1');
    return LANGUAGE_PROPERTIES.has(name) ? label : `.${value('prop', name)}`;
  }

  function suspect(s) {
    const out = {};
    for (const [k, v] of Object.entries(s)) {
      if (typeof v !== 'string' || KEPT_SUSPECT_TEXT.has(k)) out[k] = walk(v);
      else if (k === 'leakedClass') out[k] = className(v);
      // The same placeholder as the property edge that holds it in the path.
      else if (k === 'holderName') out[k] = value('prop', v);
      else out[k] = value('text', v);
    }
    const holder = out.holder && typeof out.holder === 'object' ? out.holder.className : 'an object';
    const held = s.holderName ? ` ${out.holderName}` : '';
    const leaked = out.leakedClass ? ` ${out.leakedClass}` : '';
    out.explanation = `${s.kind ?? 'leak'} suspect: ${holder}${held} keeps accumulating${leaked} objects (sentence hidden by redaction)`;
    return out;
  }

  function walk(v) {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    if (typeof v.explanation === 'string' && typeof v.kind === 'string') return suspect(v);
    if ('id' in v && 'type' in v && 'className' in v) return node(v);
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    if (typeof v.edge === 'string' && typeof v.edgeType === 'string') out.edge = edgeLabel(v.edge, v.edgeType);
    // A class row: analyze_snapshot's classes, a diff's classes, class_instances' matches.
    if (typeof v.key === 'string' && typeof v.name === 'string') {
      out.key = classKey(v.key);
      out.name = className(v.name);
    }
    return out;
  }

  /**
   * The real class name or key behind a placeholder the server handed out,
   * looked up among the snapshot's classes (`rows()`, the summary); other
   * selectors pass unchanged.
   */
  function resolveClass(selector, rows) {
    if (!/\{…:[\w-]{8}\}$/.test(selector)) return selector;
    for (const row of rows()) {
      if (className(row.name) === selector) return row.name;
      if (classKey(row.key) === selector) return row.key;
    }
    return selector;
  }

  return { answer: walk, className, classKey, resolveClass };
}

module.exports = { createRedactor };
