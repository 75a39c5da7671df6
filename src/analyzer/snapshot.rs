//! A fully analysed snapshot and the queries it answers.

use super::classes::{
    class_indices, summarize_classes, ClassInfo, ClassSummary, ClassSummaryInput,
    InterfaceDefinition,
};
use super::ephemeron::EphemeronNames;
use super::error::{Result, SnapshotError};
use super::graph::{Graph, PackedColumns, SpareBuffers, Varints, EDGE_TYPE_MASK};
use super::parser::Parser;
use super::phases::{self, BitSet, NodeBuffers, Retainers, NO_DISTANCE};
use super::redact::{self, Kind, Names, Vocabulary};
use super::strings::{utf16_len, wtf8_to_string};
use super::types::TypeIndices;
use crate::fault::{self, Site};
use once_cell::sync::OnceCell;
use std::io::Read;
use std::path::Path;

/// Receives progress and answers whether the caller gave up.
pub trait Progress: Sync {
    fn report(&self, _phase: &str, _done: u64, _total: u64) {}
    fn aborted(&self) -> bool {
        false
    }
}

/// No progress reporting, never aborted.
pub struct Quiet;
impl Progress for Quiet {}

/// The parser reads a chunk's integer arrays on two threads, but idles one
/// of them at each chunk's end: 16 MiB keeps that under a tenth of the time
/// (4 MiB cost the bench snapshot's parse a sixth more).
const READ_CHUNK: usize = 16 << 20;
const MAX_CONS_STRING_PARTS: u32 = 1 << 16;

/// Steps a retainer path shows unless the caller asks for another number:
/// enough for every path of an ordinary program; a longer one (a linked
/// list, a deep chain) shows its first third and its last two thirds with
/// the count of steps left out between them.
pub const DEFAULT_PATH_STEPS: usize = 24;
/// The fewest steps a capped path can show: where it starts and where it ends.
pub const MIN_PATH_STEPS: usize = 2;

const NO_EDGE: u32 = u32::MAX;
/// Edges per block of the edge-to-source index (4 bytes per block).
const EDGE_BLOCK_BITS: u32 = 8;

/// One step of a retainer path, root first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathNode {
    pub node: u32,
    /// The edge from the previous step into this node (none on the first).
    pub edge_in: Option<usize>,
    /// Steps left out between the previous step and this one.
    pub skipped: u64,
}

/// How a path whose top is a NativeContext (Node 26 puts the realm's
/// context above the global object) is re-anchored at the global a user
/// recognises.
enum Anchor {
    Keep,
    /// The path goes through the global object: start there.
    Drop,
    /// The global holds the next step itself: start at the global instead.
    Replace {
        global: u32,
        edge: usize,
    },
    /// Only the context holds the next step: start at the global proxy,
    /// which holds the context.
    Prepend {
        global: u32,
        edge: usize,
    },
}

pub struct Snapshot {
    pub graph: Graph,
    pub types: TypeIndices,
    /// Built on the first retainer query: the analysis's own copy is dropped
    /// as soon as the dominators are known, to keep the peak memory down.
    retainers: OnceCell<Retainers>,
    pub dominator: Vec<u32>,
    pub retained: Vec<u64>,
    pub distance: Vec<i32>,
    pub classes: ClassSummary,
    /// DevTools' inferred `{a, b}` interfaces, reused when diffing.
    pub interface_definitions: Vec<InterfaceDefinition>,
    pub interface_strings: std::collections::HashMap<Vec<u8>, u32>,
    /// Ordinals sorted by node id, built on the first lookup by id.
    by_id: OnceCell<Vec<u32>>,
    /// Per node, the edge its retainer path arrives through (or none), built
    /// on the first path query: one pass over the edges, then every path is
    /// a walk of array lookups however long it is.
    path_parents: OnceCell<Vec<u32>>,
    /// Per block of `EDGE_BLOCK` edges, the node its first edge leaves from:
    /// finding an edge's source is then a search among a few nodes.
    edge_blocks: OnceCell<Vec<u32>>,
    /// The names in this heap that are code, built on the first redacted query.
    vocabulary: OnceCell<Vocabulary>,
    /// Keys this snapshot's redaction placeholders (see `redact`).
    redaction_nonce: u64,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("nodes", &self.graph.node_count())
            .field("edges", &self.graph.edge_count())
            .finish()
    }
}

fn check(progress: &dyn Progress) -> Result<()> {
    if progress.aborted() {
        Err(SnapshotError::Aborted)
    } else {
        Ok(())
    }
}

impl Snapshot {
    /// Reads a snapshot file in chunks (the JSON text is never held whole).
    pub fn from_path(path: &Path, progress: &dyn Progress) -> Result<Snapshot> {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        if meta.is_dir() {
            return Err(SnapshotError::Io(format!(
                "{} is a directory",
                path.display()
            )));
        }
        let total = meta.len();
        if total == 0 {
            return Err(SnapshotError::Empty);
        }
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        let mut parser = Parser::new().with_size_hint(total);
        // A second thread reads the next chunk while this one parses, so the
        // copy out of the page cache is off the parse's critical path.
        std::thread::scope(|scope| -> Result<()> {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(1);
            let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            scope.spawn(move || read_chunks(file, full_tx, empty_rx));
            let mut done = 0u64;
            for chunk in full_rx {
                check(progress)?;
                let chunk = chunk.map_err(|e| io_error(path, e))?;
                parser.feed(&chunk)?;
                done += chunk.len() as u64;
                progress.report("parse", done, total);
                // The reader may have stopped already; its buffer is then dropped.
                let _ = empty_tx.send(chunk);
            }
            Ok(())
        })?;
        Snapshot::analyze(parser.finish()?, progress)
    }

    pub fn from_bytes(bytes: &[u8], progress: &dyn Progress) -> Result<Snapshot> {
        if bytes.is_empty() {
            return Err(SnapshotError::Empty);
        }
        let mut parser = Parser::new().with_size_hint(bytes.len() as u64);
        for chunk in bytes.chunks(READ_CHUNK) {
            check(progress)?;
            parser.feed(chunk)?;
        }
        Snapshot::analyze(parser.finish()?, progress)
    }

    /// Runs DevTools' pipeline on a parsed graph.
    pub fn analyze(mut graph: Graph, progress: &dyn Progress) -> Result<Snapshot> {
        let t = TypeIndices::new(&graph.meta);
        let steps = 7;
        let step = |k: u64, name: &str| -> Result<()> {
            check(progress)?;
            progress.report(name, k, steps);
            Ok(())
        };
        // Phases that only read the graph run two at a time (the machines
        // this must be fast on have two cores); results are identical. The
        // dominator phase, which has the most memory live, runs alone.
        step(0, "dom-state")?;
        phases::propagate_dom_state(&mut graph, &t);
        step(1, "essential-edges")?;
        let eph = EphemeronNames::build(
            &graph.strings,
            &graph.edge_name,
            &graph.edge_to_type,
            t.e_internal,
            EDGE_TYPE_MASK,
        );
        let g = &graph;
        let (essential, owners) = std::thread::scope(|scope| {
            let owners = scope.spawn(|| {
                fault::inject(Site::PhaseThread);
                phases::shallow_size_owners(g, &t)
            });
            let page_owned = phases::mark_page_owned(g, &t);
            // The edge pass is split: the flood above takes about as long
            // as the owners, so both threads are free for it.
            let mid = phases::edge_midpoint(g);
            let essential = std::thread::scope(|halves| {
                let tail = halves.spawn(|| {
                    let all = g.node_count() as u32;
                    phases::essential_edges(g, &t, &page_owned, &eph, mid..all)
                });
                let mut essential = phases::essential_edges(g, &t, &page_owned, &eph, 0..mid);
                essential.union_with(&join(tail));
                essential
            });
            (essential, join(owners))
        });
        step(2, "shallow-sizes")?;
        phases::move_shallow_sizes(&mut graph, &t, &owners);
        drop(owners);
        step(3, "retainers")?;
        // The dominator phase, which has the most memory live, never reads
        // names, ids or sizes, nor the forward edge offsets after its DFS:
        // they are packed beside the retainers' build and unpacked after it.
        // The first DFS reads only forward edges, so it runs meanwhile; the
        // other thread packs first, and the name columns' buffers become the
        // retainer lists (fresh pages cost more than the build itself in a
        // VM), which after the dominators take the names back.
        let unread = graph.take_unread();
        let g = &graph;
        let marked = &essential;
        let (dfs, (retainers, (packed, first_edge))) = std::thread::scope(|scope| {
            let other = scope.spawn(move || {
                let (packed, spare) = unread.pack();
                let first_edge = Varints::pack_deltas(&g.first_edge);
                (
                    phases::build_retainers(g, Some(marked), spare),
                    (packed, first_edge),
                )
            });
            let dfs = phases::dominator_dfs(&g.first_edge, &g.edge_to_type, g.root, marked);
            (dfs, join(other))
        });
        step(4, "dominators")?;
        let mut spare = NodeBuffers::default();
        let (dominator, order) = phases::dominators(
            std::mem::take(&mut graph.first_edge),
            &graph.edge_to_type,
            graph.root,
            &retainers,
            essential,
            dfs,
            &mut spare,
        );
        // Queries rebuild the lists on demand, without the flags; the
        // buffers take the edge and node names next.
        let Retainers {
            first: node_words,
            sources: edge_words,
        } = retainers;
        step(5, "class-names")?;
        let PackedColumns {
            edge_name,
            node_name,
            node_id,
            self_size,
        } = packed;
        // The edge names, the largest column, unpack on the other thread
        // while this one unpacks the node columns the distances need, then
        // builds the dominator tree's preorder (holding the tree's children
        // lists for a moment, while the sizes and the retained sizes are not
        // there yet) and unpacks the sizes; the offsets, the lists and the
        // sizes go into the dominator phase's arrays. Node ids are read by
        // nothing until the queries, so they stay packed through the next
        // phases' peaks.
        let (preorder, edge_name) = std::thread::scope(|scope| {
            let edge_name = scope.spawn(move || edge_name.unpack_into(edge_words));
            graph.node_name = node_name.unpack_into(node_words);
            graph.first_edge = first_edge.unpack_deltas_into(spare.take());
            let preorder = phases::dominator_preorder(&dominator, graph.root, &mut spare);
            graph.self_size = self_size.unpack_into(spare.take());
            (preorder, join(edge_name))
        });
        graph.edge_name = edge_name;
        // Distances are the longest phase left; everything else, up to the
        // class totals, runs beside them. The DFS order is only needed for
        // the retained sizes, and freed right after them.
        let g = &graph;
        let (distance, (retained, mut classes, names)) = std::thread::scope(|scope| {
            let distance = scope.spawn(|| phases::calculate_distances(g, &t, &eph));
            let retained = phases::retained_sizes(&g.self_size, &dominator, &order);
            drop(order);
            let mut names = class_indices(g, &t, spare.take());
            step(6, "class-summary")?;
            let classes = summarize_classes(
                ClassSummaryInput {
                    graph: g,
                    types: &t,
                    added_strings: &names.new_strings,
                    retained: &retained,
                    dominators: &dominator,
                    dominator_preorder: &preorder,
                },
                std::mem::take(&mut names.classes),
            );
            Ok::<_, SnapshotError>((join(distance), (retained, classes, names)))
        })?;
        drop(preorder);
        drop(eph);
        for text in &names.new_strings {
            graph.strings.push_wtf8(text);
        }
        classes.apply_distances(&graph, &distance);
        graph.node_id = node_id.unpack_deltas();
        progress.report("done", steps, steps);
        Ok(Snapshot {
            graph,
            types: t,
            retainers: OnceCell::new(),
            dominator,
            retained,
            distance,
            classes,
            interface_definitions: names.definitions,
            interface_strings: names.interface_strings,
            by_id: OnceCell::new(),
            path_parents: OnceCell::new(),
            edge_blocks: OnceCell::new(),
            vocabulary: OnceCell::new(),
            redaction_nonce: redact::new_nonce(),
        })
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        self.vocabulary.get_or_init(|| Vocabulary::build(self))
    }

    pub fn redaction_nonce(&self) -> u64 {
        self.redaction_nonce
    }

    pub fn retainers(&self) -> &Retainers {
        self.retainers
            .get_or_init(|| phases::build_retainers(&self.graph, None, SpareBuffers::default()))
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Total shown size: the root's retained size plus native bytes V8
    /// reports outside the graph, as DevTools' status line.
    pub fn total_size(&self) -> u64 {
        self.retained[self.graph.root as usize].saturating_add(self.graph.meta.extra_native_bytes)
    }

    pub fn ordinal_of_id(&self, id: u64) -> Option<u32> {
        let index = self.by_id.get_or_init(|| {
            let mut v: Vec<u32> = (0..self.graph.node_count() as u32).collect();
            v.sort_unstable_by_key(|&o| self.graph.node_id[o as usize]);
            v
        });
        let id32 = u32::try_from(id).ok()?;
        index
            .binary_search_by_key(&id32, |&o| self.graph.node_id[o as usize])
            .ok()
            .map(|p| index[p])
    }

    pub fn require(&self, id: u64) -> Result<u32> {
        self.ordinal_of_id(id).ok_or(SnapshotError::UnknownNode(id))
    }

    pub fn class_rows(&self) -> impl Iterator<Item = &ClassInfo> {
        self.classes.rows()
    }

    pub fn class_of(&self, o: u32) -> &ClassInfo {
        self.classes.info(self.classes.node_class[o as usize])
    }

    pub fn node_type_name(&self, o: u32) -> &str {
        &self.graph.meta.node_types[self.graph.node_type(o) as usize]
    }

    pub fn edge_type_name(&self, e: usize) -> &str {
        &self.graph.meta.edge_types[self.graph.edge_type(e) as usize]
    }

    /// The node's name as DevTools displays it: concatenated strings are
    /// flattened (to 1024 characters) and plain objects list their properties.
    pub fn node_name(&self, o: u32) -> String {
        let g = &self.graph;
        let ty = g.node_type(o);
        if ty == self.types.cons_string {
            return self.cons_string_name(o);
        }
        let raw = g.strings.wtf8(g.node_name[o as usize]);
        if ty == self.types.object && raw == b"Object" {
            return self.plain_object_name(o);
        }
        wtf8_to_string(raw).into_owned()
    }

    fn cons_string_name(&self, o: u32) -> String {
        let g = &self.graph;
        let mut out: Vec<u8> = Vec::new();
        let mut out_len = 0usize;
        let mut stack = vec![o];
        // A real cons string reaches 1024 characters within ~2048 parts; a
        // damaged snapshot can link parts in a cycle or a DAG that unfolds
        // exponentially, so the walk is bounded.
        let mut steps = 0u32;
        while let Some(x) = stack.pop() {
            steps += 1;
            if out_len >= 1024 || steps > MAX_CONS_STRING_PARTS {
                break;
            }
            if g.node_type(x) != self.types.cons_string {
                let s = g.strings.wtf8(g.node_name[x as usize]);
                out.extend_from_slice(s);
                out_len += utf16_len(s);
                continue;
            }
            let (mut first, mut second) = (None, None);
            for e in g.edges(x) {
                if g.edge_type(e) != self.types.e_internal {
                    continue;
                }
                match g.strings.wtf8(g.edge_name[e]) {
                    b"first" if first.is_none() => first = Some(g.edge_target(e)),
                    b"second" if second.is_none() => second = Some(g.edge_target(e)),
                    _ => {}
                }
            }
            // A missing part reads as node 0, exactly as DevTools falls back.
            stack.push(second.unwrap_or(0));
            stack.push(first.unwrap_or(0));
        }
        wtf8_to_string(&out).into_owned()
    }

    fn plain_object_name(&self, o: u32) -> String {
        let g = &self.graph;
        let props: Vec<&[u8]> = g
            .edges(o)
            .filter(|&e| g.edge_type(e) == self.types.e_property)
            .map(|e| g.strings.wtf8(g.edge_name[e]))
            .filter(|n| *n != b"__proto__")
            .collect();
        let fmt = |n: &[u8]| -> String {
            if n.iter()
                .any(|b| matches!(b, b',' | b'\'' | b'"' | b'{' | b'}'))
            {
                let mut q = Vec::new();
                super::strings::json_quote(n, &mut q);
                wtf8_to_string(&q).into_owned()
            } else {
                wtf8_to_string(n).into_owned()
            }
        };
        let (mut start, mut end) = ("{".to_string(), "}".to_string());
        let (mut lo, mut hi) = (0usize, props.len());
        let mut from_end = false;
        while lo < hi {
            let name = fmt(if from_end { props[hi - 1] } else { props[lo] });
            let len = |s: &str| s.encode_utf16().count();
            if len(&start) > 1 && len(&start) + len(&end) + len(&name) > 100 {
                break;
            }
            if from_end {
                hi -= 1;
                if len(&end) > 1 {
                    end = format!(", {end}");
                }
                end = format!("{name}{end}");
            } else {
                lo += 1;
                if len(&start) > 1 {
                    start.push_str(", ");
                }
                start.push_str(&name);
            }
            from_end = !from_end;
        }
        if lo < hi {
            start.push_str(", …");
        }
        if end.len() > 1 {
            start.push_str(", ");
        }
        start + &end
    }

    /// An edge's name as text: numbers for element and hidden edges.
    pub fn edge_name(&self, e: usize) -> String {
        let g = &self.graph;
        if self.types.edge_has_string_name(g.edge_type(e)) {
            g.strings.get(g.edge_name[e]).into_owned()
        } else {
            g.edge_name[e].to_string()
        }
    }

    /// An edge as DevTools prints it in a path: `.prop`, `[3]`, `->ctx`, `{internal}`.
    pub fn edge_label(&self, e: usize) -> String {
        self.label(self.graph.edge_type(e), &self.edge_name(e))
    }

    fn label(&self, ty: u8, name: &str) -> String {
        let t = &self.types;
        if ty == t.e_context {
            format!("->{name}")
        } else if ty == t.e_element {
            format!("[{name}]")
        } else if ty == t.e_weak {
            format!("[[{name}]]")
        } else if ty == t.e_property || ty == t.e_shortcut {
            if name.contains(' ') {
                format!("[\"{name}\"]")
            } else {
                format!(".{name}")
            }
        } else {
            format!("{{{name}}}")
        }
    }

    /// The node that edge `e` leaves from: the last node whose edges start
    /// at or before `e`, searched for among the nodes that share `e`'s block.
    pub fn edge_source(&self, e: usize) -> u32 {
        let first = &self.graph.first_edge;
        let blocks = self.edge_blocks.get_or_init(|| {
            let mut owners = Vec::with_capacity((self.graph.edge_count() >> EDGE_BLOCK_BITS) + 1);
            for o in 0..self.graph.node_count() {
                let (start, end) = (first[o] as usize, first[o + 1] as usize);
                while (owners.len() << EDGE_BLOCK_BITS) < end {
                    debug_assert!(owners.len() << EDGE_BLOCK_BITS >= start);
                    owners.push(o as u32);
                }
            }
            owners
        });
        let block = e >> EDGE_BLOCK_BITS;
        let lo = blocks[block] as usize;
        let hi = blocks
            .get(block + 1)
            .map_or(self.graph.node_count() - 1, |&h| h as usize);
        (lo + first[lo..=hi + 1].partition_point(|&f| f as usize <= e) - 1) as u32
    }

    /// The node's name as shown under `names`' policy (see `redact`).
    pub fn shown_node_name(&self, o: u32, names: &Names) -> String {
        let name = self.node_name(o);
        if !names.is_redacting() {
            return name;
        }
        let g = &self.graph;
        let t = &self.types;
        let ty = g.node_type(o);
        if ty == t.string || ty == t.cons_string || ty == t.sliced_string {
            return names.data(Kind::String, name);
        }
        if ty == t.regexp {
            return names.data(Kind::RegExp, name);
        }
        if ty == t.object {
            return if g.strings.wtf8(g.node_name[o as usize]) == b"Object" {
                // DevTools' `{a, b}` name of a plain object: its keys.
                names.class_name(self, &name)
            } else {
                names.code_or(Kind::Class, name)
            };
        }
        if ty == t.closure {
            return names.code_or(Kind::Function, name);
        }
        if [t.code, t.native, t.hidden, t.synthetic, t.array].contains(&ty) {
            return name;
        }
        match self.node_type_name(o) {
            "object shape" => name,
            "number" if !name.bytes().any(|b| b.is_ascii_digit()) => name,
            "number" => names.data(Kind::Number, name),
            "symbol" if name == "symbol" => name,
            "symbol" => names.data(Kind::Symbol, name),
            "bigint" if name == "bigint" => name,
            "bigint" => names.data(Kind::BigInt, name),
            _ => names.code_or(Kind::Name, name),
        }
    }

    /// The class name of a node as shown under `names`' policy.
    pub fn shown_class_name(&self, o: u32, names: &Names) -> String {
        names.class_name(self, &self.class_of(o).name)
    }

    /// Whether `o`'s own property names are declared by code (instances of
    /// a class the heap compiled, and functions) rather than data (plain
    /// objects, the global object and the built-in containers used as maps).
    pub fn declares_properties(&self, o: u32, names: &Names) -> bool {
        let g = &self.graph;
        let ty = g.node_type(o);
        if ty == self.types.closure {
            return true;
        }
        if ty != self.types.object {
            return false;
        }
        let raw = wtf8_to_string(g.strings.wtf8(g.node_name[o as usize]));
        !redact::is_map_like(&raw)
            && !raw.starts_with('{')
            && names.code_or(Kind::Class, raw.to_string()) == raw
    }

    /// An edge's name as shown under `names`' policy; `src` is the node the
    /// edge leaves from, when the caller knows it.
    pub fn shown_edge_name(&self, e: usize, src: Option<u32>, names: &Names) -> String {
        let name = self.edge_name(e);
        if !names.is_redacting() {
            return name;
        }
        let t = &self.types;
        let ty = self.graph.edge_type(e);
        if ty == t.e_property {
            // V8 names a symbol-keyed property `<symbol description>`; the
            // description is a string the program made, whoever declared
            // the property.
            if let Some(description) = name
                .strip_prefix("<symbol ")
                .and_then(|d| d.strip_suffix('>'))
            {
                return names.data(Kind::Symbol, description.to_string());
            }
            let src = src.unwrap_or_else(|| self.edge_source(e));
            return if self.declares_properties(src, names) {
                name
            } else {
                names.key(name)
            };
        }
        if ty == t.e_internal && name.contains(" / part of key (") {
            // Ephemeron edges name the key's and value's classes.
            return "part of key -> value pair in WeakMap".to_string();
        }
        if [
            t.e_context,
            t.e_element,
            t.e_hidden,
            t.e_internal,
            t.e_shortcut,
            t.e_weak,
            t.e_invisible,
        ]
        .contains(&ty)
        {
            return name;
        }
        names.key(name)
    }

    /// An edge's label (`.prop`, `[3]`, `->ctx`) as shown under `names`' policy.
    pub fn shown_edge_label(&self, e: usize, src: Option<u32>, names: &Names) -> String {
        self.label(
            self.graph.edge_type(e),
            &self.shown_edge_name(e, src, names),
        )
    }

    /// Edges into `o` as (source ordinal, edge ordinal), in source order.
    pub fn retaining_edges(&self, o: u32) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        let mut last = u32::MAX;
        for &s in self.retainers().of(o) {
            let src = s & !phases::ESSENTIAL_BIT;
            if src == last {
                continue;
            }
            last = src;
            for e in self.graph.edges(src) {
                if self.graph.edge_target(e) == o {
                    out.push((src, e));
                }
            }
        }
        out
    }

    /// Per node, the edge its retainer path arrives through: from a node,
    /// DevTools' Retainers view unfolds the shown retainer (weak and
    /// invisible edges skipped, the synthetic root never) closest to the
    /// roots, the first such retainer in node order, through its first such
    /// edge. Edges are grouped by source in node order, so one pass finds
    /// each node's least retainer distance and a second pass the first edge
    /// that attains it.
    fn path_parents(&self) -> &[u32] {
        self.path_parents.get_or_init(|| {
            let g = &self.graph;
            let t = &self.types;
            let n = g.node_count();
            let shown_sources = || {
                (0..n as u32)
                    .filter(|&src| src != g.root && self.distance[src as usize] != NO_DISTANCE)
            };
            let shown = |e: usize| {
                let ty = g.edge_type(e);
                ty != t.e_weak && ty != t.e_invisible
            };
            // First the least distance per node (kept in the same array),
            // then the edge that reaches it first.
            let mut parent = vec![NO_EDGE; n];
            for src in shown_sources() {
                let ds = self.distance[src as usize] as u32;
                for e in g.edges(src) {
                    let o = g.edge_target(e) as usize;
                    let d = self.distance[o];
                    if shown(e) && d != NO_DISTANCE && ds < d as u32 && ds < parent[o] {
                        parent[o] = ds;
                    }
                }
            }
            let mut found = BitSet::new(n);
            for src in shown_sources() {
                let ds = self.distance[src as usize] as u32;
                for e in g.edges(src) {
                    let o = g.edge_target(e) as usize;
                    if !found.get(o)
                        && parent[o] == ds
                        && shown(e)
                        && self.distance[o] != NO_DISTANCE
                    {
                        parent[o] = e as u32;
                        found.set(o);
                    }
                }
            }
            parent
        })
    }

    /// The edge `o`'s retainer path arrives through, and the node it leaves.
    pub fn path_parent(&self, o: u32) -> Option<(u32, usize)> {
        match self.path_parents()[o as usize] {
            NO_EDGE => None,
            e => Some((self.edge_source(e as usize), e as usize)),
        }
    }

    /// How to re-anchor a path whose top is `top` and next step `next`.
    fn anchor(&self, top: u32, next: Option<u32>) -> Anchor {
        let g = &self.graph;
        let t = &self.types;
        if g.node_type(top) != t.hidden
            || g.strings.wtf8(g.node_name[top as usize]) != b"system / NativeContext"
        {
            return Anchor::Keep;
        }
        // A slot naming the context itself (a crafted file) anchors nothing:
        // the path would show the context twice.
        let slot = |name: &[u8]| {
            g.edges(top)
                .find(|&e| g.edge_type(e) == t.e_internal && g.strings.wtf8(g.edge_name[e]) == name)
                .map(|e| g.edge_target(e))
                .filter(|&x| x != top)
        };
        let shown_edge = |from: u32, to: u32| {
            g.edges(from).find(|&e| {
                let ty = g.edge_type(e);
                g.edge_target(e) == to && ty != t.e_weak && ty != t.e_invisible
            })
        };
        if let Some(global) = slot(b"global_object") {
            if next == Some(global) {
                return Anchor::Drop;
            }
            if let Some(edge) = next.and_then(|x| shown_edge(global, x)) {
                return Anchor::Replace { global, edge };
            }
        }
        if let Some(proxy) = slot(b"global_proxy_object") {
            if let Some(edge) = shown_edge(proxy, top) {
                return Anchor::Prepend {
                    global: proxy,
                    edge,
                };
            }
        }
        Anchor::Keep
    }

    /// The retainer path of `o`, root first, showing at most `max_steps`
    /// steps: a longer path keeps its first third and last two thirds, and
    /// the first step after the cut says how many were left out. Time is
    /// one walk along the path (two array lookups per step) plus a scan of
    /// the top's edges; memory is the steps shown.
    ///
    /// The distances on the path are DevTools' own; where Node 26 puts the
    /// realm's NativeContext above the global object, the path is shown from
    /// the global object (or the global proxy holding the context) instead.
    pub fn retainer_path_capped(&self, o: u32, max_steps: usize) -> Vec<PathNode> {
        let max_steps = max_steps.max(MIN_PATH_STEPS);
        let head = (max_steps / 3).max(1);
        let tail = max_steps - head;
        // One walk up from `o` (position 0) keeps the first `tail` steps and
        // a window of the last `head + 2` (the top two for the re-anchoring);
        // together they are the whole path whenever it fits.
        let mut bottom: Vec<(u64, u32, Option<usize>)> = Vec::with_capacity(tail.min(64));
        let mut top: std::collections::VecDeque<(u64, u32, Option<usize>)> =
            std::collections::VecDeque::with_capacity((head + 2).min(64));
        let mut x = o;
        let mut pos = 0u64;
        loop {
            let parent = self.path_parent(x);
            let step = (pos, x, parent.map(|p| p.1));
            if bottom.len() < tail {
                bottom.push(step);
            } else {
                if top.len() == head + 2 {
                    top.pop_front();
                }
                top.push_back(step);
            }
            match parent {
                Some((src, _)) => x = src,
                None => break,
            }
            pos += 1;
        }
        let length = pos + 1;
        let mut walked = bottom;
        walked.extend(top);
        let mut steps: Vec<PathNode> = Vec::with_capacity(walked.len() + 1);
        let mut previous: Option<u64> = None;
        for &(pos, node, edge_in) in walked.iter().rev() {
            let skipped = previous.map_or(0, |p| p - pos - 1);
            steps.push(PathNode {
                node,
                edge_in,
                skipped,
            });
            previous = Some(pos);
        }
        let mut total = length;
        let next = steps.get(1).filter(|s| s.skipped == 0).map(|s| s.node);
        match self.anchor(steps[0].node, next) {
            Anchor::Keep => {}
            Anchor::Drop => {
                steps.remove(0);
                steps[0].edge_in = None;
                total -= 1;
            }
            Anchor::Replace { global, edge } => {
                steps[0] = PathNode {
                    node: global,
                    edge_in: None,
                    skipped: 0,
                };
                steps[1].edge_in = Some(edge);
            }
            Anchor::Prepend { global, edge } => {
                steps[0].edge_in = Some(edge);
                steps.insert(
                    0,
                    PathNode {
                        node: global,
                        edge_in: None,
                        skipped: 0,
                    },
                );
                total += 1;
            }
        }
        if total > max_steps as u64 {
            let mut capped: Vec<PathNode> = steps[..head].to_vec();
            let mut rest = steps[steps.len() - tail..].to_vec();
            rest[0].skipped = total - (head + tail) as u64;
            capped.append(&mut rest);
            return capped;
        }
        steps
    }

    /// The whole retainer path of `o`, root first, as (node, edge into the
    /// next node): for analyses that need every step (its length is the
    /// node's distance, up to the node count). Shown paths use
    /// [`Snapshot::retainer_path_capped`].
    pub fn retainer_path(&self, o: u32) -> Vec<(u32, Option<usize>)> {
        let steps = self.retainer_path_capped(o, usize::MAX / 2);
        let mut out: Vec<(u32, Option<usize>)> = steps.iter().map(|s| (s.node, None)).collect();
        for k in 1..steps.len() {
            out[k - 1].1 = steps[k].edge_in;
        }
        out
    }

    /// Immediate dominators from the node up to the root, `limit` of them
    /// from the `offset`-th, and how many there are in all.
    pub fn dominator_chain_page(&self, o: u32, offset: u64, limit: usize) -> (Vec<u32>, u64) {
        let mut page = Vec::new();
        let mut x = o;
        let mut pos = 0u64;
        loop {
            if pos >= offset && page.len() < limit {
                page.push(x);
            }
            pos += 1;
            if x == self.graph.root || pos > self.graph.node_count() as u64 {
                break;
            }
            x = self.dominator[x as usize];
        }
        (page, pos)
    }

    /// Immediate dominators from the node up to the root (the whole chain).
    pub fn dominator_chain(&self, o: u32) -> Vec<u32> {
        self.dominator_chain_page(o, 0, usize::MAX).0
    }

    /// Ordinals of nodes sorted by retained size, largest first, skipping the
    /// synthetic roots (they retain everything and explain nothing).
    ///
    /// Only the best `n` so far are held (a heap whose top is the worst of
    /// them), not every candidate: on a heap of tens of millions of nodes the
    /// full list would add more to the process's peak than the analysis left.
    pub fn top_retainers(&self, n: usize) -> Vec<u32> {
        use std::cmp::Reverse;
        let g = &self.graph;
        // Ordered best first: larger retained size, then lower ordinal.
        let key = |o: u32| (Reverse(self.retained[o as usize]), o);
        let mut best: std::collections::BinaryHeap<(Reverse<u64>, u32)> =
            std::collections::BinaryHeap::with_capacity(n.min(g.node_count()));
        for o in 0..g.node_count() as u32 {
            if n == 0 || g.node_type(o) == self.types.synthetic || o == g.root {
                continue;
            }
            if best.len() < n {
                best.push(key(o));
            } else if best.peek().is_some_and(|worst| key(o) < *worst) {
                best.pop();
                best.push(key(o));
            }
        }
        best.into_sorted_vec().into_iter().map(|(_, o)| o).collect()
    }

    /// Children of a node in the dominator tree (what it alone keeps alive).
    pub fn dominated_by(&self, o: u32) -> Vec<u32> {
        (0..self.graph.node_count() as u32)
            .filter(|&x| x != self.graph.root && self.dominator[x as usize] == o)
            .collect()
    }

    /// Dominator-tree children, largest retained size first (ties in node
    /// order), `limit` of them from the `offset`-th, and how many in all.
    /// One scan of the dominator column.
    pub fn children_page(&self, o: u32, offset: u64, limit: usize) -> (Vec<u32>, u64) {
        self.largest_first_page(self.dominated_by(o), offset, limit)
    }

    /// Objects of the summary's internal classes `classes` as the summary
    /// counts them (those with a size), largest retained size first (ties in
    /// node order), `limit` of them from the `offset`-th, and how many in all.
    /// One scan of the class column.
    pub fn instances_page(&self, classes: &[u32], offset: u64, limit: usize) -> (Vec<u32>, u64) {
        let mut wanted = vec![false; self.classes.class_count()];
        for &c in classes {
            if let Some(w) = wanted.get_mut(c as usize) {
                *w = true;
            }
        }
        let node_class = &self.classes.node_class;
        let nodes = (0..self.graph.node_count() as u32)
            .filter(|&o| {
                wanted[node_class[o as usize] as usize] && self.graph.self_size.get(o) != 0
            })
            .collect();
        self.largest_first_page(nodes, offset, limit)
    }

    /// One page of `nodes` by retained size, largest first, ties in node
    /// order; only the page is sorted in full.
    fn largest_first_page(
        &self,
        mut nodes: Vec<u32>,
        offset: u64,
        limit: usize,
    ) -> (Vec<u32>, u64) {
        let total = nodes.len() as u64;
        let key = |&k: &u32| (std::cmp::Reverse(self.retained[k as usize]), k);
        let end = (offset.saturating_add(limit as u64)).min(total) as usize;
        let start = (offset.min(total)) as usize;
        if start >= end {
            return (Vec::new(), total);
        }
        if end < nodes.len() {
            nodes.select_nth_unstable_by_key(end - 1, key);
            nodes.truncate(end);
        }
        nodes.sort_unstable_by_key(key);
        (
            nodes
                .get(start..end)
                .map(<[u32]>::to_vec)
                .unwrap_or_default(),
            total,
        )
    }

    /// Edges out of `o`, `limit` of them from the `offset`-th, and how many.
    pub fn edges_slice(&self, o: u32, offset: u64, limit: usize) -> (std::ops::Range<usize>, u64) {
        let all = self.graph.edges(o);
        let total = all.len() as u64;
        let start = all.start + offset.min(total) as usize;
        let end = start + limit.min(all.end - start);
        (start..end, total)
    }

    /// Edges into `o` as (source, edge), in source order, `limit` of them
    /// from the `offset`-th, and how many in all.
    pub fn retaining_edges_page(
        &self,
        o: u32,
        offset: u64,
        limit: usize,
    ) -> (Vec<(u32, usize)>, u64) {
        let sources = self.retainers().of(o);
        let total = sources.len() as u64;
        let mut page = Vec::new();
        let mut pos = 0u64;
        let mut last = u32::MAX;
        for &s in sources {
            let src = s & !phases::ESSENTIAL_BIT;
            if src == last {
                continue;
            }
            last = src;
            for e in self.graph.edges(src) {
                if self.graph.edge_target(e) != o {
                    continue;
                }
                if pos >= offset {
                    if page.len() == limit {
                        return (page, total);
                    }
                    page.push((src, e));
                }
                pos += 1;
            }
        }
        (page, total)
    }
}

/// Reads the file in chunks, recycling the buffers the parser has finished
/// with; stops at the end, on an error (passed on), or when the parser stops
/// listening.
fn read_chunks(
    mut file: std::fs::File,
    full: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut spare: Vec<Vec<u8>> = vec![vec![0; READ_CHUNK], vec![0; READ_CHUNK]];
    loop {
        let mut buf = match spare.pop() {
            Some(buf) => buf,
            None => match empty.recv() {
                Ok(buf) => buf,
                Err(_) => return,
            },
        };
        buf.resize(READ_CHUNK, 0);
        let read = loop {
            match file.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(0) => return,
            Ok(k) => {
                buf.truncate(k);
                if full.send(Ok(buf)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = full.send(Err(e));
                return;
            }
        }
    }
}

/// Joins a phase thread; a panic in it resumes on the caller, where the
/// bindings turn it into a JS error as for any other panic.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(v) => v,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> SnapshotError {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            SnapshotError::Io(format!("{}: no such file", path.display()))
        }
        std::io::ErrorKind::PermissionDenied => {
            SnapshotError::Io(format!("{}: permission denied", path.display()))
        }
        _ => SnapshotError::Io(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
pub(crate) mod path_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::parser::hostile_tests::snapshot_text;

    #[test]
    fn top_retainers_are_the_largest_by_size_then_ordinal() {
        // root --shortcut--> global --elements--> objects of these sizes
        // (ties on purpose), then a second synthetic node nobody holds.
        let sizes = [5u64, 9, 5, 0, 9, 7, 5, 1, 9];
        let mut nodes = vec![9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, sizes.len() as u64, 0, 0];
        let mut edges = vec![5, 3, 7];
        for (k, &size) in sizes.iter().enumerate() {
            let k = k as u64;
            nodes.extend_from_slice(&[3, 3, 5 + 2 * k, size, 0, 0, 0]);
            edges.extend_from_slice(&[1, k, 7 * (k + 2)]);
        }
        nodes.extend_from_slice(&[9, 1, 999, 50, 0, 0, 0]);
        let strings = ["", "(root)", "global", "Obj"];
        let s = Snapshot::from_bytes(
            snapshot_text(&nodes, &edges, &strings, None).as_bytes(),
            &Quiet,
        )
        .unwrap();
        // What the ranking means: every non-synthetic node but the root,
        // sorted by retained size descending, ties by ordinal.
        let mut all: Vec<u32> = (0..s.node_count() as u32)
            .filter(|&o| o != s.graph.root && s.graph.node_type(o) != s.types.synthetic)
            .collect();
        all.sort_by_key(|&o| (std::cmp::Reverse(s.retained[o as usize]), o));
        assert_eq!(all.len(), sizes.len() + 1, "global and the objects");
        assert_eq!(all[0], 1, "global holds them all");
        assert_eq!(
            &all[1..4],
            [3, 6, 10],
            "the three of size 9, in ordinal order"
        );
        for n in 0..all.len() + 3 {
            assert_eq!(s.top_retainers(n), all[..n.min(all.len())], "n = {n}");
        }
    }

    #[test]
    fn retainer_lists_do_not_depend_on_the_buffers_they_reuse() {
        // A chain with a fan-in, so that lists have several entries.
        let mut nodes = vec![9, 1, 1, 0, 1, 0, 0];
        let mut edges = vec![1, 0, 7];
        for k in 0..20u64 {
            nodes.extend_from_slice(&[3, 2, 3 + 2 * k, 8, 2, 0, 0]);
            edges.extend_from_slice(&[1, k, 7 * (k + 2) % (7 * 21), 1, k + 100, 7 * (1 + k / 4)]);
        }
        let s = Snapshot::from_bytes(
            snapshot_text(&nodes, &edges, &["", "(root)", "Obj"], None).as_bytes(),
            &Quiet,
        )
        .unwrap();
        let fresh = phases::build_retainers(&s.graph, None, SpareBuffers::default());
        assert!(fresh.sources.len() > s.node_count());
        for (edges, nodes) in [(1, 1), (s.edge_count(), s.node_count()), (999, 999)] {
            let spare = SpareBuffers {
                edges: vec![0xDEAD_BEEF; edges],
                nodes: vec![0xFEED; nodes],
            };
            let reused = phases::build_retainers(&s.graph, None, spare);
            assert_eq!(reused.first, fresh.first);
            assert_eq!(reused.sources, fresh.sources);
        }
    }
}
