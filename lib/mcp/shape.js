'use strict';

// How answers are cut to size for an agent's context: compact node and edge
// records, paths that keep their ends and say how many steps were left out,
// clipped strings, capped lists, and text with no raw control characters.

/** Hard ceiling on one answer's text; the limits below keep far under it. */
const MAX_ANSWER_CHARS = 100_000;
/** Characters kept of a node name, class name or edge name. */
const NAME_CHARS = 100;
/** Characters kept of a sentence (a suspect's explanation) or an error. */
const TEXT_CHARS = 600;
/** Items kept of a list inside a value we pass through (e.g. per-snapshot counts). */
const LIST_ITEMS = 20;

function clip(text, max = NAME_CHARS) {
  const s = String(text);
  if (s.length <= max) return s;
  // Do not split a surrogate pair.
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}

/** A node as one compact record; the clipped name's full length only when it was clipped. */
function node(n) {
  const out = { id: n.id, type: n.type, name: n.name, className: n.className, selfSize: n.selfSize, retainedSize: n.retainedSize, distance: n.distance };
  if (n.nameLength > NAME_CHARS) out.nameLength = n.nameLength;
  return out;
}

/** Native `{ first, elided, last }` ends as one list with a marker where steps were left out. */
function steps(ends) {
  const step = (s) => ({ ...(s.edge ? { edge: s.edge.label, edgeType: s.edge.type } : {}), node: node(s.node) });
  const out = ends.first.map(step);
  if (ends.elided > 0) out.push({ elided: ends.elided });
  out.push(...ends.last.map(step));
  return out;
}

/**
 * The public API's path steps (`{ node, edgeType, edgeName, edgeLabel }`,
 * root first) capped to their first and last steps, in the same form as `steps`.
 */
function capPath(path, first, last) {
  if (!Array.isArray(path)) return [];
  const shape = (s) => ({
    ...(s.edgeLabel ? { edge: clip(s.edgeLabel), edgeType: s.edgeType } : {}),
    node: node({ ...s.node, name: clip(s.node?.name ?? ''), nameLength: s.node?.name?.length, className: clip(s.node?.className ?? '') }),
  });
  if (path.length <= first + last) return path.map(shape);
  return [...path.slice(0, first).map(shape), { elided: path.length - first - last }, ...path.slice(path.length - last).map(shape)];
}

/**
 * Any value from an API whose shape may grow, bounded: strings clipped,
 * lists capped with a count of what was left out, depth limited. Typed arrays
 * (id lists) become plain arrays of their first items.
 */
function bound(value, depth = 0) {
  if (typeof value === 'string') return clip(value, TEXT_CHARS);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? Number(value) : value;
  if (depth >= 4) return '…';
  if (ArrayBuffer.isView(value)) value = Array.from(value.subarray(0, LIST_ITEMS + 1));
  if (Array.isArray(value)) {
    const kept = value.slice(0, LIST_ITEMS).map((v) => bound(v, depth + 1));
    if (value.length > LIST_ITEMS) kept.push({ more: value.length - LIST_ITEMS });
    return kept;
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'function' && v !== undefined) out[k] = bound(v, depth + 1);
  }
  return out;
}

// Escaped even though JSON allows them raw: DEL and C1 controls (CSI 0x9b
// acts as ESC[ on some terminals), line/paragraph separators, and bidi
// overrides that reorder what a reader sees. JSON.stringify already escapes
// C0 controls; these escapes parse back to the same strings.
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function render(answer) {
  const text = JSON.stringify(answer).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (text.length > MAX_ANSWER_CHARS) {
    const err = new Error(`answer of ${text.length} characters exceeds the ${MAX_ANSWER_CHARS}-character cap; ask for fewer items`);
    err.code = 'ERR_ANSWER_TOO_LARGE';
    throw err;
  }
  return text;
}

module.exports = { MAX_ANSWER_CHARS, NAME_CHARS, TEXT_CHARS, clip, node, steps, capPath, bound, render };
