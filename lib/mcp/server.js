'use strict';

// The leakwatch MCP server's tools. Each loads what it needs through the
// snapshot cache, answers from the public Snapshot API (plus one native query
// for a node's details), whose names the engine shows under the call's
// redaction, and returns one compact JSON text; any failure becomes a tool
// error result with a code, never a crash.

const nodePath = require('node:path');
const { findLeaks, diffSnapshots } = require('../leaks.js');
const queries = require('./queries.js');
const { clip, node, link, classNames, steps, pathLength, capSteps, bound, render, CLASS_CHARS, TEXT_CHARS } = require('./shape.js');

const PAGE = 20;
const MAX_PAGE = 100;
const MAX_TOP = 20;
const MAX_CLASSES = 50;
const MAX_SUSPECTS = 10;
const MAX_LEAK_FILES = 10;
/** Steps a retainer_path answer shows unless asked for more: its first 4 and last 8. */
const PATH_STEPS = 12;
const MAX_PATH_STEPS = 50;
/** Steps of the short paths inside other answers: the first 2 and the last 4. */
const SHORT_PATH_STEPS = 6;
/** Edges and retainers previewed by node_details. */
const PREVIEW = 5;
/** Example ids per class in a diff, to look at with the node tools. */
const DIFF_EXAMPLES = 3;

const INSTRUCTIONS = `leakwatch reads V8 heap snapshots (.heapsnapshot files, from v8.writeHeapSnapshot, Chrome DevTools or node --heapsnapshot-signal) of any size.
Start with analyze_snapshot on one file, or find_leaks on three or more snapshots of one process taken in order (baseline, after some work, after the same work again).
Nodes are named by their V8 id (the "id" fields); pass them with the same file to node_details, node_edges, node_retainers, node_children, retainer_path and dominator_chain. Ids from find_leaks and diff_snapshots belong to the last / "after" file.
Sizes are bytes. distance is the number of steps from a global (>= 100000000: reachable only from V8's internal roots; -5: unreachable).
Every answer is bounded: lists come a page at a time with their total (pass nextOffset back as offset for the next page), long names are cut with "…", a long path keeps its first third and last two thirds of steps, and the step after the cut says how many steps it skipped.
Redacted answers show placeholders such as <string:3f9a01bc> or <key:5d02e7aa> for the program's data; one name has one placeholder in every answer about one loaded file, so a class name from an answer can be passed back to class_instances.
Loaded snapshots stay cached, so later calls on the same file are fast.`;

function codedError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

/**
 * One page of a Snapshot API query (edges, retainers, children,
 * dominatorChain, instances), answered in the API's own terms: the items from
 * `offset`, the total, and the offset of the next page while there is one.
 */
function paged(offset, limit, fetch) {
  const items = fetch({ offset, limit });
  const next = offset + items.length;
  return { items, total: items.total, offset, ...(next < items.total && items.length > 0 ? { nextOffset: next } : {}) };
}

function classRow(c) {
  return { ...classNames(c), count: c.count, selfSize: c.selfSize, retainedSize: c.retainedSize, distance: c.distance };
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
      "Hide the program's data in the answer (string contents, keys of objects used as maps, Map and Set keys, class names V8 took from data); code identifiers stay. Defaults to the server setting (on unless started with --no-redact). Set false only when the user allows the snapshot data to be shown.",
    );
  const pathArg = z.string().min(1).max(4096).describe('Path to a .heapsnapshot file (absolute, or relative to the server\'s working directory)');
  const idArg = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Node id, from an earlier answer about this file');
  const offsetArg = z.number().int().min(0).max(2 ** 32).optional().describe('Items to skip: nextOffset from the previous page (default 0)');
  const limitArg = z.number().int().min(1).max(MAX_PAGE).optional().describe(`Items per page (default ${PAGE}, at most ${MAX_PAGE})`);

  function tool(name, description, input, run) {
    server.registerTool(
      name,
      { description, inputSchema: { ...input, redact: redactArg }, annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false } },
      async (args, extra) => {
        try {
          const answer = await run(args, extra, redactFor(args.redact));
          return { content: [{ type: 'text', text: render(answer) }] };
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
        const report = s.report({ top, maxClasses: classes, maxSteps: SHORT_PATH_STEPS, redact });
        return {
          file,
          nodeCount: report.nodeCount,
          edgeCount: report.edgeCount,
          totalSize: report.totalSize,
          classCount: s.summary().length,
          classes: report.classes.map(classRow),
          largest: report.top.map((t) => ({ node: node(t.node), path: steps(t.retainerPath) })),
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
        const suspects = await findLeaks(snaps, { maxSuspects, redact });
        return {
          files: paths,
          // Growth findLeaks explains rather than reports (Node's own queues, say).
          ...(suspects.notes?.length ? { notes: bound(suspects.notes) } : {}),
          suspects: suspects.slice(0, maxSuspects).map(({ retainerPath, holder, ...rest }) => ({
            ...bound(rest),
            ...(holder ? { holder: node(holder) } : {}),
            path: steps(capSteps(retainerPath ?? [], SHORT_PATH_STEPS)),
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
            ...classNames(r),
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
    `The path that keeps a node alive, from a global (or V8 root) to the node, as DevTools' Retainers view unfolds it: each step gives the edge into it (.property, [index], ->closure variable, {internal}). A path longer than maxSteps keeps its first third and last two thirds; the step after the cut says how many it skipped.`,
    {
      path: pathArg,
      id: idArg,
      maxSteps: z.number().int().min(2).max(MAX_PATH_STEPS).optional().describe(`Steps to show at most (default ${PATH_STEPS}, at most ${MAX_PATH_STEPS})`),
    },
    ({ path: file, id, maxSteps = PATH_STEPS }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const path = s.retainerPath(id, { maxSteps, redact });
        return { id, length: pathLength(path), steps: steps(path) };
      }),
  );

  tool(
    'node_details',
    'One node: type, name, class, shallow and retained size, distance from a global, its immediate dominator (the object whose release would free it), how many edges it has and how many hold it, with the first few of each.',
    { path: pathArg, id: idArg },
    ({ path: file, id }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const d = queries.nodeDetails(s, id, redact);
        return {
          node: node(d.node),
          classKey: clip(d.classKey, CLASS_CHARS),
          ...(d.dominator ? { dominator: node(d.dominator) } : {}),
          ...(d.detachedness === 2 ? { detached: true } : {}),
          edgeCount: d.edgeCount,
          edges: s.edges(id, { limit: PREVIEW, redact }).map(link),
          retainerCount: d.retainerCount,
          retainers: s.retainers(id, { limit: PREVIEW, redact }).map(link),
        };
      }),
  );

  tool(
    'node_edges',
    'What a node references (its outgoing edges, DevTools\' Containment view), a page at a time in the snapshot\'s order.',
    { path: pathArg, id: idArg, offset: offsetArg, limit: limitArg },
    ({ path: file, id, offset = 0, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const { items, ...page } = paged(offset, limit, (at) => s.edges(id, { ...at, redact }));
        return { id, ...page, edges: items.map(link) };
      }),
  );

  tool(
    'node_retainers',
    'What holds a node (the edges into it, weak ones included and marked by edgeType), a page at a time.',
    { path: pathArg, id: idArg, offset: offsetArg, limit: limitArg },
    ({ path: file, id, offset = 0, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const { items, ...page } = paged(offset, limit, (at) => s.retainers(id, { ...at, redact }));
        return { id, ...page, retainers: items.map(link) };
      }),
  );

  tool(
    'node_children',
    'What only this node keeps alive (its children in the dominator tree), largest retained size first, a page at a time.',
    { path: pathArg, id: idArg, offset: offsetArg, limit: limitArg },
    ({ path: file, id, offset = 0, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const { items, ...page } = paged(offset, limit, (at) => s.children(id, { ...at, redact }));
        return { id, ...page, children: items.map(node) };
      }),
  );

  tool(
    'dominator_chain',
    "A node's immediate dominators up to the root, node first, a page at a time: each entry alone keeps everything before it alive.",
    { path: pathArg, id: idArg, offset: offsetArg, limit: limitArg },
    ({ path: file, id, offset = 0, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const { items, ...page } = paged(offset, limit, (at) => s.dominatorChain(id, { ...at, redact }));
        return { id, ...page, chain: items.map(node) };
      }),
  );

  tool(
    'class_instances',
    'The objects of one class, largest retained size first, a page at a time. Name the class by its name (all classes of that name) or by the key analyze_snapshot gives (one class), as the answers show them.',
    {
      path: pathArg,
      class: z.string().min(1).max(1000).describe('Class name (e.g. "Foo", "Array", "(string)") or class key from analyze_snapshot'),
      offset: offsetArg,
      limit: limitArg,
    },
    ({ path: file, class: selector, offset = 0, limit = PAGE }, extra, redact) =>
      withSnapshots([file], extra, async ([s]) => {
        const { items, ...page } = paged(offset, limit, (at) => s.instances(selector, { ...at, redact }));
        if (items.classes.length === 0) {
          throw codedError('ERR_UNKNOWN_CLASS', `no class named ${JSON.stringify(clip(selector))} in this snapshot; analyze_snapshot lists the classes`);
        }
        return {
          classes: items.classes.map((c) => ({ ...classNames(c), count: c.count })),
          ...page,
          instances: items.map(node),
        };
      }),
  );

  tool(
    'loaded_snapshots',
    'The snapshots this server holds in memory (least recently used first, the first 20), the memory each takes, and the cache budget.',
    {},
    // Bounded like every other answer: a long-lived server under a large
    // budget can hold many entries, each with a path of up to 4 kB.
    async () => {
      const held = cache.list();
      return { budgetBytes: cache.budgetBytes, usedBytes: cache.usedBytes, count: held.length, snapshots: bound(held) };
    },
  );

  return server;
}

module.exports = { createServer };
