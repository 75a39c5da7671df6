//! A fully analysed snapshot and the queries it answers.

use super::classes::{
    class_indices, summarize_classes, ClassInfo, ClassSummary, ClassSummaryInput,
    InterfaceDefinition,
};
use super::ephemeron::EphemeronNames;
use super::error::{Result, SnapshotError};
use super::graph::{Graph, PackedColumns, SpareBuffers, Varints, EDGE_TYPE_MASK};
use super::parser::Parser;
use super::phases::{self, NodeBuffers, Retainers, NO_DISTANCE};
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
        })
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
        let name = self.edge_name(e);
        let t = &self.types;
        let ty = self.graph.edge_type(e);
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

    /// Whether DevTools' Retainers view lists this edge: not weak, not
    /// invisible, and not from the synthetic root.
    fn shown_retainer(&self, src: u32, e: usize) -> bool {
        let ty = self.graph.edge_type(e);
        ty != self.types.e_weak && ty != self.types.e_invisible && src != self.graph.root
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

    /// Shortest retaining path, as DevTools' Retainers view unfolds it: from a
    /// node, step to the retainer closest to the roots (weak and invisible
    /// edges skipped), until a root child is reached. Returned root-first as
    /// (node, edge into the next node).
    pub fn retainer_path(&self, o: u32) -> Vec<(u32, Option<usize>)> {
        let mut path: Vec<(u32, Option<usize>)> = vec![(o, None)];
        let mut current = o;
        let limit = self.graph.node_count();
        while path.len() <= limit {
            let here = self.distance[current as usize];
            if here == NO_DISTANCE {
                break;
            }
            let best = self
                .retaining_edges(current)
                .into_iter()
                .filter(|&(src, e)| self.shown_retainer(src, e))
                .filter(|&(src, _)| {
                    let d = self.distance[src as usize];
                    d != NO_DISTANCE && d < here
                })
                .min_by_key(|&(src, _)| self.distance[src as usize]);
            match best {
                Some((src, e)) => {
                    path.push((src, Some(e)));
                    current = src;
                }
                None => break,
            }
        }
        path.reverse();
        path
    }

    /// Immediate dominators from the node up to the root.
    pub fn dominator_chain(&self, o: u32) -> Vec<u32> {
        let mut chain = vec![o];
        let mut x = o;
        while x != self.graph.root && chain.len() <= self.graph.node_count() {
            x = self.dominator[x as usize];
            chain.push(x);
        }
        chain
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
