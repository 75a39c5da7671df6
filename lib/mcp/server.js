'use strict';

// The leakwatch MCP server's tools. Each loads what it needs through the
// snapshot cache, answers from the public API and the bounded queries, and
// returns one compact JSON text; any failure becomes a tool error result
// with a code, never a crash.

const nodePath = require('node:path');
const { findLeaks, diffSnapshots } = require('../leaks.js');
const queries = require('./queries.js');
const { clip, node, steps, capPath, bound, render, NAME_CHARS, TEXT_CHARS } = require('./shape.js');
const { createRedactor } = require('./redact.js');

const PAGE = 20;
const MAX_PAGE = 100;
const MAX_TOP = 20;
const MAX_CLASSES = 50;
const MAX_SUSPECTS = 10;
const MAX_LEAK_FILES = 10;
/** Steps kept at each end of a path or chain in the tools that show one. */
const PATH_ENDS = 5;
/** Steps kept at each end of the short paths inside other answers. */
const SHORT_PATH_ENDS = 3;
/** Edges and retainers previewed by node_details. */
const PREVIEW = 5;
/** Example ids per class in a diff, to look at with the node tools. */
const DIFF_EXAMPLES = 3;

const INSTRUCTIONS = `leakwatch reads V8 heap snapshots (.heapsnapshot files, from v8.writeHeapSnapshot, Chrome DevTools or node --heapsnapshot-signal) of any size.
Start with analyze_snapshot on one file, or find_leaks on three or more snapshots of one process taken in order (baseline, after some work, after the same work again).
Nodes are named by their V8 id (the "id" fields); pass them with the same file to node_details, node_edges, node_retainers, node_children, retainer_path and dominator_chain. Ids from find_leaks and diff_snapshots belong to the last / "after" file.
Sizes are bytes. distance is the number of steps from a global (>= 100000000: reachable only from V8's internal roots; -5: unreachable).
Every answer is bounded: lists come a page at a time (pass nextCursor back as cursor), long names are cut with "…", long paths keep their first and last steps with {"elided": N} between.
Loaded snapshots stay cached, so later calls on the same file are fast.`;

function codedError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

function linkCursor(offset) {
  return `o:${offset}`;
}

function parseLinkCursor(cursor) {
  if (cursor === undefined) return 0;
  const m = /^o:(\d{1,15})$/.exec(cursor);
  if (!m) throw codedError('ERR_INVALID_CURSOR', 'cursor is not one this tool returned');
  return Number(m[1]);
}

function nodeCursor(next) {
  return next ? `r:${next.retained}:${next.id}` : undefined;
}

function parseNodeCursor(cursor) {
  if (cursor === undefined) return null;
  const m = /^r:(\d{1,16}):(\d{1,15})$/.exec(cursor);
  if (!m) throw codedError('ERR_INVALID_CURSOR', 'cursor is not one this tool returned');
  return { retained: Number(m[1]), id: Number(m[2]) };
}

function link(l) {
  return { edge: l.edge.label, edgeType: l.edge.type, node: node(l.node) };
}

function classRow(c) {
  return { key: clip(c.key), name: clip(c.name), count: c.count, selfSize: c.selfSize, retainedSize: c.retainedSize, distance: c.distance };
}

function errorAnswer(err) {
  const code = typeof err?.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(err.code) ? err.code : 'ERR_INTERNAL';
  const message = clip(err?.message ?? String(err), TEXT_CHARS);
  return { isError: true, content: [{ type: 'text', text: render({ error: { code, message } }) }] };
}

/**
 * Sends MCP progress notifications for a call that loads `count` files, when
 * the client asked for them (sent a progressToken). Parsing is measured in
 * bytes and weighs PARSE_SHARE of a file's load, the analysis phases share
 * the rest: parsing took 29% of the load of a real 658 MB heap and 10% of a
 * synthetic 1.2 GB one (bench/mcp.js).
 */
const PARSE_SHARE = 0.3;
function progressFor(extra, count) {
  const token = extra?._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let last = -1;
  return (index, file) => (p) => {
    const part = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const fraction = p.phase === 'start' ? 0 : p.phase === 'parse' ? PARSE_SHARE * part : PARSE_SHARE + (1 - PARSE_SHARE) * part;
    const progress = Math.floor(((index + fraction) / count) * 1000) / 10;
    if (progress <= last) return;
    last = progress;
    const message = `${nodePath.basename(file)}: ${p.phase === 'start' ? 'loading' : p.phase}`;
    extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100, message } }).catch(() => {});
  };
}

/**
 * @param {object} options
 * @param {object} options.sdk `{ McpServer, z }` from the MCP SDK
 * @param {import('./cache.js').SnapshotCache} options.cache
 * @param {'on'|'off'|'always'} options.redact the server's redaction mode
 * @param {string} options.version
 */
function createServer({ sdk, cache, redact: mode, version }) {
  const { McpServer, z } = sdk;
  const server = new McpServer({ name: 'leakwatch', version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const redactor = createRedactor();

  function redactFor(asked) {
    if (mode === 'always' && asked === false) {
      throw codedError('ERR_REDACTION_REQUIRED', 'this server always redacts (started with --redact=always)');
    }
    return asked ?? mode !== 'off';
  }

  /** Holds the snapshots of `files` (loaded in turn) for the duration of `fn`. */
  async function withSnapshots(files, extra, fn) {
    const progress = progressFor(extra, files.length);
    const held = [];
    try {
      for (const [i, file] of files.entries()) {
        const handle = await cache.acquire(file, { signal: extra?.signal, onProgress: progress(i, file) });
        held.push(handle);
      }
      return await fn(held.map((h) => h.snapshot), held);
    } finally {
      for (const h of held) h.release();
    }
  }

  const redactArg = z
    .boolean()
    .optional()
    .describe(
      'Hide string contents, property names, Map keys and {a, b} class names in the answer. Defaults to the server setting (on unless started with --no-redact). Set false only when the user allows the snapshot data to be shown.',
    );
  const pathArg = z.string().min(1).max(4096).describe('Path to a .heapsnapshot file (absolute, or relative to the server\'s working directory)');
  const idArg = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Node id, from an earlier answer about this file');
  const cursorArg = z.string().max(64).optional().describe('nextCursor from the previous page; omit for the first page');
  const limitArg = z.number().int().min(1).max(MAX_PAGE).optional().describe(`Items per page (default ${PAGE}, at most ${MAX_PAGE})`);

  function tool(name, description, input, run) {
    server.registerTool(
      name,
      { description, inputSchema: { ...input, redact: redactArg }, annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false } },
      async (args, extra) => {
        try {
          const redact = redactFor(args.redact);
          const answer = await run(args, extra, redact);
          // Stopgap until the engine redacts everything (see redact.js).
          const shown = redact ? redactor.answer(answer) : answer;
          return { content: [{ type: 'text', text: render(shown) }] };
        } catch (err) {
          return errorAnswer(err);
        }
      },
    );
  }

  tool(
    'analyze_snapshot',
    'Overview of one heap snapshot: totals, the classes retaining the most memory (count, shallow and retained bytes), and the largest objects with the short path that keeps each alive.',
    {
      path: pathArg,
      top: z.number().int().min(0).max(MAX_TOP).optional().describe(`Largest objects to list (default 10, at most ${MAX_TOP})`),
      classes: z.number().int().min(1).max(MAX_CLASSES).optional().describe(`Classes to list, by retained size (default 25, at most ${MAX_CLASSES})`),
    },
    ({ path: file, top = 10, classes = 25 }, extra, redact) =>
      withSnapshots([file], extra, async ([s], [h]) => {
        const report = s.report({ top: 0, maxClasses: classes, redact });
        const largest = await queries.topObjects(s, top, SHORT_PATH_ENDS, SHORT_PATH_ENDS);
        return {
          file,
          nodeCount: report.nodeCount,
          edgeCount: report.edgeCount,
          totalSize: report.totalSize,
          classCount: s.summary().length,
          classes: report.classes.map(classRow),
          largest: largest.map((t) => ({ node: node(t.node), path: steps(t.path) })),
          cached: h.cached,
        };
      }),
  );

  tool(
    'find_leaks',
    'Leak suspects from three or more snapshots of one process, oldest first: each names the object that keeps growing, what accumulates in it, by how much, and the path that holds it. Ids refer to the last file.',
    {
      paths: z.array(pathArg).min(3).max(MAX_LEAK_FILES).describe('Snapshot files of one process, oldest first (a baseline, after some work, after the same work again)'),
      maxSuspects: z.number().int().min(1).max(MAX_SUSPECTS).optional().describe(`Suspects to return at most (default 5, at most ${MAX_SUSPECTS})`),
    },
    ({ paths, maxSuspects = 5 }, extra, redact) =>
      withSnapshots(paths, extra, async (snaps) => {
        let compared = paths;
        let suspects;
        try {
          suspects = await findLeaks(snaps, { maxSuspects, redact });
        } catch (err) {
          // This build's findLeaks compares exactly three snapshots: use the
          // first, the middle and the last, and say so.
          if (err.code !== 'ERR_INVALID_ARG' || snaps.length === 3) throw err;
          const picks = [0, Math.floor((snaps.length - 1) / 2), snaps.length - 1];
          compared = picks.map((i) => paths[i]);
          suspects = await findLeaks(picks.map((i) => snaps[i]), { maxSuspects, redact });
        }
        return {
          files: paths,
          ...(compared !== paths ? { compared, note: 'this leakwatch build compares three snapshots: the first, the middle and the last were used' } : {}),
          suspects: suspects.slice(0, maxSuspects).map(({ retainerPath, holder, ...rest }) => ({
            ...bound(rest),
            ...(holder ? { holder: node({ ...holder, name: clip(holder.name ?? ''), nameLength: holder.name?.length, className: clip(holder.className ?? '') }) } : {}),
            path: capPath(retainerPath, SHORT_PATH_ENDS, SHORT_PATH_ENDS),
          })),
        };
      }),
  );

  tool(
    'diff_snapshots',
    'Per-class changes between two snapshots of one process (DevTools\' Comparison view): objects allocated since "before" that are still alive and objects of "before" that were freed, largest size change first. Example ids belong to "after" (added) or "before" (removed).',
    {
      before: pathArg,
      after: pathArg,
      classes: z.number().int().min(1).max(MAX_CLASSES).optional().describe(`Classes to list (default 25, at most ${MAX_CLASSES})`),
    },
    ({ before, after, classes = 25 }, extra, redact) =>
      withSnapshots([before, after], extra, async ([a, b]) => {
        const rows = await diffSnapshots(a, b, { redact });
        const changed = rows.filter((r) => r.addedCount > 0 || r.removedCount > 0);
        changed.sort((x, y) => Math.abs(y.sizeDelta) - Math.abs(x.sizeDelta) || Math.abs(y.countDelta) - Math.abs(x.countDelta) || (x.key < y.key ? -1 : 1));
        const sum = (k) => changed.reduce((t, r) => t + r[k], 0);
        return {
          before,
          after,
          totals: { classesChanged: changed.length, addedCount: sum('addedCount'), removedCount: sum('removedCount'), addedSize: sum('addedSize'), removedSize: sum('removedSize'), sizeDelta: sum('sizeDelta') },
          classes: changed.slice(0, classes).map((r) => ({
            key: clip(r.key),
            name: clip(r.name),
            addedCount: r.addedCount,
            removedCount: r.removedCount,
            countDelta: r.countDelta,
            addedSize: r.addedSize,
            removedSize: r.removedSize,
            sizeDelta: r.sizeDelta,
            exampleAddedIds: Array.from(r.addedIds.subarray(0, DIFF_EXAMPLES)),
            exampleRemovedIds: Array.from(r.removedIds.subarray(0, DIFF_EXAMPLES)),
          })),
        };
      }),
  );

  tool(
    'retainer_path',
    `The path that keeps a node alive, from a global (or V8 root) to the node, as DevTools' Retainers view unfolds it: each step gives the edge into it (.property, [index], ->closure variable, {internal}). Long paths keep their first and last ${PATH_ENDS} steps.`,
    { path: pathArg, id: idArg },
    ({ path: file, id }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const ends = await queries.retainerPath(s, id, PATH_ENDS, PATH_ENDS);
        return { id, length: ends.first.length + ends.elided + ends.last.length, steps: steps(ends) };
      }),
  );

  tool(
    'node_details',
    'One node: type, name, class, shallow and retained size, distance from a global, its immediate dominator (the object whose release would free it), how many edges it has and how many hold it, with the first few of each.',
    { path: pathArg, id: idArg },
    ({ path: file, id }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const d = await queries.nodeDetails(s, id);
        const [out, into] = await Promise.all([queries.edges(s, id, 0, PREVIEW), queries.retainers(s, id, 0, PREVIEW)]);
        return {
          node: node(d.node),
          classKey: d.classKey,
          ...(d.dominator ? { dominator: node(d.dominator) } : {}),
          ...(d.detachedness === 2 ? { detached: true } : {}),
          edgeCount: d.edgeCount,
          edges: out.links.map(link),
          retainerCount: d.retainerCount,
          retainers: into.links.map(link),
        };
      }),
  );

  tool(
    'node_edges',
    'What a node references (its outgoing edges, DevTools\' Containment view), a page at a time in the snapshot\'s order.',
    { path: pathArg, id: idArg, cursor: cursorArg, limit: limitArg },
    ({ path: file, id, cursor, limit = PAGE }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const offset = parseLinkCursor(cursor);
        const page = await queries.edges(s, id, offset, limit);
        const next = offset + page.links.length;
        return { id, total: page.total, edges: page.links.map(link), ...(next < page.total ? { nextCursor: linkCursor(next) } : {}) };
      }),
  );

  tool(
    'node_retainers',
    'What holds a node (the edges into it, weak ones included and marked by edgeType), a page at a time.',
    { path: pathArg, id: idArg, cursor: cursorArg, limit: limitArg },
    ({ path: file, id, cursor, limit = PAGE }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const offset = parseLinkCursor(cursor);
        const page = await queries.retainers(s, id, offset, limit);
        const next = offset + page.links.length;
        return { id, total: page.total, retainers: page.links.map(link), ...(next < page.total ? { nextCursor: linkCursor(next) } : {}) };
      }),
  );

  tool(
    'node_children',
    'What only this node keeps alive (its children in the dominator tree), largest retained size first, a page at a time.',
    { path: pathArg, id: idArg, cursor: cursorArg, limit: limitArg },
    ({ path: file, id, cursor, limit = PAGE }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const page = await queries.dominated(s, id, parseNodeCursor(cursor), limit);
        return { id, total: page.total, totalRetained: page.totalRetained, children: page.nodes.map(node), ...(page.next ? { nextCursor: nodeCursor(page.next) } : {}) };
      }),
  );

  tool(
    'dominator_chain',
    `A node's immediate dominators up to the root, node first: each entry alone keeps everything before it alive. Long chains keep their first and last ${PATH_ENDS} entries.`,
    { path: pathArg, id: idArg },
    ({ path: file, id }, extra) =>
      withSnapshots([file], extra, async ([s]) => {
        const ends = await queries.dominatorChain(s, id, PATH_ENDS, PATH_ENDS);
        return { id, length: ends.first.length + ends.elided + ends.last.length, chain: steps(ends) };
      }),
  );

  tool(
    'class_instances',
    'The objects of one class, largest retained size first, a page at a time. Name the class by its name (all classes of that name) or by the key analyze_snapshot gives (one class).',
    {
      path: pathArg,
      class: z.string().min(1).max(1000).describe('Class name (e.g. "Foo", "Array", "(string)") or class key from analyze_snapshot'),
      cursor: cursorArg,
      limit: limitArg,
    },
    ({ path: file, class: selector, cursor, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        // A redacted class name or key stands for the real one (see redact.js).
        const wanted = redact ? redactor.resolveClass(selector, () => s.summary()) : selector;
        const found = await queries.instances(s, wanted, parseNodeCursor(cursor), limit);
        if (found.classes.length === 0) {
          throw codedError('ERR_UNKNOWN_CLASS', `no class named ${JSON.stringify(clip(selector, NAME_CHARS))} in this snapshot; analyze_snapshot lists the classes`);
        }
        const { page } = found;
        return {
          classes: found.classes,
          total: page.total,
          totalRetained: page.totalRetained,
          instances: page.nodes.map(node),
          ...(page.next ? { nextCursor: nodeCursor(page.next) } : {}),
        };
      }),
  );

  tool(
    'loaded_snapshots',
    'The snapshots this server holds in memory (least recently used first), the memory each takes, and the cache budget.',
    {},
    async () => ({ budgetBytes: cache.budgetBytes, usedBytes: cache.usedBytes, snapshots: cache.list() }),
  );

  return server;
}

module.exports = { createServer };
