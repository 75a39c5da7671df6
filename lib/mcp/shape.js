'use strict';

// How answers are cut to size for an agent's context: compact node and edge
// records, paths capped as the engine caps them, clipped strings, capped
// lists, and text with no raw control characters. The names in them come
// from the engine already shown under the call's redaction; clipping a
// placeholder only shortens it.

/** Hard ceiling on one answer's text; the limits below keep far under it. */
const MAX_ANSWER_CHARS = 100_000;
/** Characters kept of a node name or an edge label. */
const NAME_CHARS = 100;
/**
 * Characters kept of a class name or key: enough for any redacted `{a, b}`
 * name (DevTools stops listing properties at about 100 characters, and each
 * becomes a 14-character placeholder), so one can be passed back whole.
 */
const CLASS_CHARS = 600;
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
  const name = String(n.name ?? '');
  const out = {
    id: n.id,
    type: n.type,
    name: clip(name),
    className: clip(n.className ?? '', CLASS_CHARS),
    selfSize: n.selfSize,
    retainedSize: n.retainedSize,
    distance: n.distance,
  };
  if (name.length > NAME_CHARS) out.nameLength = name.length;
  return out;
}

/** An edge of the API's pages (`{ type, name, label, node }`): its label, type and the node at the other end. */
function link(e) {
  return { edge: clip(e.label), edgeType: e.type, node: node(e.node) };
}

/** A class row of the summary, a diff or a page of instances, without its sizes. */
function classNames(c) {
  return { key: clip(c.key, CLASS_CHARS), name: clip(c.name, CLASS_CHARS) };
}

/**
 * A retainer path as the API gives it (root first; a capped one says on the
 * step after the cut how many steps it `skipped`) as compact steps.
 */
function steps(path) {
  return path.map((s) => ({
    ...(s.edgeLabel !== undefined && s.edgeLabel !== null ? { edge: clip(s.edgeLabel), edgeType: s.edgeType } : {}),
    ...(s.skipped > 0 ? { skipped: s.skipped } : {}),
    node: node(s.node),
  }));
}

/** Steps of the whole path, shown or skipped. */
function pathLength(path) {
  return path.reduce((n, s) => n + 1 + (s.skipped > 0 ? s.skipped : 0), 0);
}

/**
 * A path the engine already capped, capped again to `maxSteps` by the
 * engine's own rule (src/analyzer/snapshot.rs, `retainer_path_capped`): its
 * first third and last two thirds, the step after the cut counting every
 * step left out before it.
 */
function capSteps(path, maxSteps) {
  if (path.length <= maxSteps) return path;
  const head = Math.max(1, Math.floor(maxSteps / 3));
  const tail = maxSteps - head;
  const resumeAt = path.length - tail;
  let skipped = path[resumeAt].skipped > 0 ? path[resumeAt].skipped : 0;
  for (const s of path.slice(head, resumeAt)) skipped += 1 + (s.skipped > 0 ? s.skipped : 0);
  return [...path.slice(0, head), { ...path[resumeAt], skipped }, ...path.slice(resumeAt + 1)];
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

module.exports = { MAX_ANSWER_CHARS, NAME_CHARS, CLASS_CHARS, TEXT_CHARS, clip, node, link, classNames, steps, pathLength, capSteps, bound, render };
