//! The analysis phases, one function each, in the order Chrome DevTools' heap
//! snapshot worker runs them, so that a disagreement with DevTools points at
//! one phase. Every phase works on flat slices indexed by node or edge ordinal.

use super::ephemeron::EphemeronNames;
use super::graph::{Graph, SizeColumn, SpareBuffers, MAX_NODES};
use super::types::TypeIndices;
use std::collections::{HashMap, VecDeque};

/// DevTools' "no distance" marker for nodes no traversal reached.
pub const NO_DISTANCE: i32 = -5;
/// Distance given to the root when user roots exist, so that objects only
/// reachable through system roots sort after every user object.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;

/// High bit of a reverse-CSR entry: the edge counts for dominators.
pub const ESSENTIAL_BIT: u32 = 1 << 31;

// Ordinals never reach the flag bit, and the largest distance (the system
// base plus one step per node) stays an i32.
const _: () = assert!(MAX_NODES <= ESSENTIAL_BIT as u64);
const _: () = assert!(BASE_SYSTEM_DISTANCE as u64 + MAX_NODES <= i32::MAX as u64);

/// A fixed-size bit set over node or edge ordinals.
#[derive(Clone, Debug)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn new(len: usize) -> Self {
        BitSet {
            words: vec![0; len.div_ceil(64)],
        }
    }
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.words[i >> 6] & (1 << (i & 63)) != 0
    }
    #[inline]
    pub fn set(&mut self, i: usize) {
        self.words[i >> 6] |= 1 << (i & 63);
    }
    /// Adds every member of `other`, a set of the same length.
    pub fn union_with(&mut self, other: &BitSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }
}

/// Buffers of about one word per node that a phase has finished with, kept
/// for the next phases instead of fresh memory: their pages are already
/// faulted in, and in a VM first-touch faults cost more than the work that
/// fills the buffers. Each is handed out empty.
#[derive(Default)]
pub struct NodeBuffers(Vec<Vec<u32>>);

impl NodeBuffers {
    pub fn put(&mut self, mut buffer: Vec<u32>) {
        buffer.clear();
        self.0.push(buffer);
    }

    /// An empty Vec, with a used buffer's memory while any is left.
    pub fn take(&mut self) -> Vec<u32> {
        self.0.pop().unwrap_or_default()
    }

    /// A buffer of `len` zeros. A used buffer is written over; a fresh one
    /// has each page written first (see `memory::zeroed_prewritten`), as the
    /// callers read their zeros at random before writing.
    fn zeroed(&mut self, len: usize) -> Vec<u32> {
        match self.0.pop() {
            Some(mut buffer) => {
                buffer.resize(len, 0);
                buffer
            }
            None => crate::memory::zeroed_prewritten(len),
        }
    }
}

/// Reverse CSR: for each node, the nodes holding an edge to it. The source
/// ordinal is stored (the edge itself is found again by scanning the source's
/// few edges when a path is displayed), with the essential flag in the high bit.
pub struct Retainers {
    pub first: Vec<u32>,
    pub sources: Vec<u32>,
}

/// Builds the reverse CSR in one pass over the edges. With `essential`, each
/// source also carries `ESSENTIAL_BIT` when its edge may dominate (what the
/// dominator phase reads); without it the lists serve retainer queries only.
pub fn build_retainers(g: &Graph, essential: Option<&BitSet>, spare: SpareBuffers) -> Retainers {
    let n = g.node_count();
    // Counts land at each target's own slot and become inclusive prefix sums
    // (the end of its list); filling from the last edge backwards then walks
    // every slot down to the start of its list, so no cursor array is needed
    // and each list ends up in source order.
    let mut first = spare.nodes;
    first.clear();
    first.resize(n + 1, 0);
    for &tt in &g.edge_to_type {
        first[(tt >> super::graph::EDGE_TYPE_BITS) as usize] += 1;
    }
    for i in 1..n {
        first[i] += first[i - 1];
    }
    first[n] = g.edge_count() as u32;
    // Every slot is written below, so the spare's old values may stay.
    let mut sources = spare.edges;
    sources.resize(g.edge_count(), 0);
    for src in (0..n as u32).rev() {
        for e in g.edges(src).rev() {
            let t = g.edge_target(e) as usize;
            first[t] -= 1;
            let flag = match essential {
                Some(bits) if bits.get(e) => ESSENTIAL_BIT,
                _ => 0,
            };
            sources[first[t] as usize] = src | flag;
        }
    }
    Retainers { first, sources }
}

impl Retainers {
    #[inline]
    pub fn of(&self, n: u32) -> &[u32] {
        &self.sources[self.first[n as usize] as usize..self.first[n as usize + 1] as usize]
    }
}

/// Embedder nodes' attached/detached state spreads through native nodes; the
/// detached ones are renamed `Detached <name>` (new strings, as DevTools adds).
pub fn propagate_dom_state(g: &mut Graph, t: &TypeIndices) {
    if !g.meta.has_detachedness {
        // Older snapshots: natives named "Detached …" are detached, nothing spreads.
        for o in 0..g.node_count() {
            if g.node_kind[o] & 0x3F == t.native
                && g.strings.wtf8(g.node_name[o]).starts_with(b"Detached ")
            {
                g.node_kind[o] = (g.node_kind[o] & 0x3F) | (2 << 6);
            }
        }
        return;
    }
    let n = g.node_count();
    let mut visited = BitSet::new(n);
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let mut renamed: HashMap<u32, u32> = HashMap::new();

    let process = |g: &mut Graph,
                   visited: &mut BitSet,
                   attached: &mut Vec<u32>,
                   detached: &mut Vec<u32>,
                   renamed: &mut HashMap<u32, u32>,
                   o: u32,
                   state: u8| {
        if visited.get(o as usize) {
            return;
        }
        visited.set(o as usize);
        if g.node_type(o) != t.native {
            return;
        }
        g.node_kind[o as usize] = (g.node_kind[o as usize] & 0x3F) | (state << 6);
        if state == 1 {
            attached.push(o);
        } else if state == 2 {
            let old = g.node_name[o as usize];
            let new = match renamed.get(&old) {
                Some(&s) => s,
                None => {
                    let mut text = b"Detached ".to_vec();
                    text.extend_from_slice(g.strings.wtf8(old));
                    let s = g.strings.push_wtf8(&text);
                    renamed.insert(old, s);
                    s
                }
            };
            g.node_name[o as usize] = new;
            detached.push(o);
        }
    };

    for o in 0..n as u32 {
        let state = g.detachedness(o);
        if state != 0 {
            process(
                g,
                &mut visited,
                &mut attached,
                &mut detached,
                &mut renamed,
                o,
                state,
            );
        }
    }
    let follows = |ty: u8| ty != t.e_hidden && ty != t.e_invisible && ty != t.e_weak;
    while let Some(o) = attached.pop() {
        for e in g.edges(o) {
            if follows(g.edge_type(e)) {
                let target = g.edge_target(e);
                process(
                    g,
                    &mut visited,
                    &mut attached,
                    &mut detached,
                    &mut renamed,
                    target,
                    1,
                );
            }
        }
    }
    while let Some(o) = detached.pop() {
        if g.detachedness(o) == 1 {
            continue;
        }
        for e in g.edges(o) {
            if follows(g.edge_type(e)) {
                let target = g.edge_target(e);
                process(
                    g,
                    &mut visited,
                    &mut attached,
                    &mut detached,
                    &mut renamed,
                    target,
                    2,
                );
            }
        }
    }
}

fn is_document_dom_trees_root(g: &Graph, t: &TypeIndices, o: u32) -> bool {
    g.node_type(o) == t.synthetic
        && g.strings.wtf8(g.node_name[o as usize]) == b"(Document DOM trees)"
}

/// DevTools' user roots: the root's non-synthetic children (the globals) and
/// the `(Document DOM trees)` root.
fn is_user_root(g: &Graph, t: &TypeIndices, o: u32) -> bool {
    g.node_type(o) != t.synthetic || is_document_dom_trees_root(g, t, o)
}

/// Flood from the page's entry points (the root's shortcut targets and DOM
/// tree roots) over non-weak edges: what the page owns, as opposed to what
/// only the debugger or the engine holds.
pub fn mark_page_owned(g: &Graph, t: &TypeIndices) -> BitSet {
    let n = g.node_count();
    let mut owned = BitSet::new(n);
    let mut stack: Vec<u32> = Vec::new();
    for e in g.edges(g.root) {
        let ty = g.edge_type(e);
        let target = g.edge_target(e);
        if ty == t.e_element {
            if !is_document_dom_trees_root(g, t, target) {
                continue;
            }
        } else if ty != t.e_shortcut {
            continue;
        }
        owned.set(target as usize);
        stack.push(target);
    }
    while let Some(o) = stack.pop() {
        for e in g.edges(o) {
            let target = g.edge_target(e) as usize;
            if owned.get(target) || g.edge_type(e) == t.e_weak {
                continue;
            }
            owned.set(target);
            stack.push(target as u32);
        }
    }
    owned
}

/// The first node of the second half of the edges, so two threads can each
/// mark one half.
pub fn edge_midpoint(g: &Graph) -> u32 {
    let half = g.edge_count() / 2;
    let after = g.first_edge.partition_point(|&f| (f as usize) < half);
    after.min(g.node_count()) as u32
}

/// Which edges retain for dominator purposes: not weak, not self edges, not a
/// WeakMap table's edge to a value (the key's edge keeps it), and away from
/// the root neither shortcuts nor edges from non-page-owned to page-owned
/// nodes. Only the edges of `sources` are marked, in a set over all edges
/// whose other words stay zero (and, mapped fresh, uncommitted).
pub fn essential_edges(
    g: &Graph,
    t: &TypeIndices,
    page_owned: &BitSet,
    eph: &EphemeronNames,
    sources: std::ops::Range<u32>,
) -> BitSet {
    let mut essential = BitSet::new(g.edge_count());
    for src in sources {
        let src_owned = page_owned.get(src as usize);
        for e in g.edges(src) {
            let ty = g.edge_type(e);
            if ty == t.e_internal {
                if let Some(name) = eph.get(g.edge_name[e]) {
                    if name.table_id == g.node_id[src as usize] as u64 {
                        continue;
                    }
                }
            }
            if ty == t.e_weak {
                continue;
            }
            let target = g.edge_target(e);
            if target == src {
                continue;
            }
            if src != g.root {
                if ty == t.e_shortcut {
                    continue;
                }
                if page_owned.get(target as usize) && !src_owned {
                    continue;
                }
            }
            essential.set(e);
        }
    }
    essential
}

// Owner states in the shallow-size flood, besides an owner's own ordinal.
const UNVISITED: u32 = u32::MAX;
const MULTIPLE: u32 = u32::MAX - 1;

/// Moves the size of hidden and array nodes (and external string data) that
/// have exactly one owning object to that owner, as DevTools shows sizes.
/// Skipped for snapshots without user roots ("expose internals" mode).
/// The flood that finds the owners only reads the graph, so it can run beside
/// another phase; `move_shallow_sizes` then applies it.
pub fn shallow_size_owners(g: &Graph, t: &TypeIndices) -> Vec<u32> {
    if !g
        .edges(g.root)
        .any(|e| is_user_root(g, t, g.edge_target(e)))
    {
        return Vec::new();
    }
    let n = g.node_count();
    let mut owners = vec![0u32; n];
    let mut worklist: Vec<u32> = Vec::with_capacity(n);
    for o in 0..n as u32 {
        let ty = g.node_type(o);
        let unowned = ty == t.hidden
            || ty == t.array
            || (ty == t.native
                && g.strings.wtf8(g.node_name[o as usize]) == b"system / ExternalStringData");
        if unowned {
            owners[o as usize] = UNVISITED;
        } else {
            owners[o as usize] = o;
            worklist.push(o);
        }
    }
    // A monotone flood over {unvisited < one owner < several}; the fixpoint
    // does not depend on visiting order.
    while let Some(o) = worklist.pop() {
        let owner = owners[o as usize];
        for e in g.edges(o) {
            if g.edge_type(e) == t.e_weak {
                continue;
            }
            let target = g.edge_target(e);
            let current = owners[target as usize];
            if current == UNVISITED {
                owners[target as usize] = owner;
                worklist.push(target);
            } else if current != target && current != owner && current != MULTIPLE {
                owners[target as usize] = MULTIPLE;
                worklist.push(target);
            }
        }
    }
    owners
}

pub fn move_shallow_sizes(g: &mut Graph, t: &TypeIndices, owners: &[u32]) {
    for (o, &owner) in owners.iter().enumerate() {
        let o = o as u32;
        if owner == UNVISITED || owner == MULTIPLE || owner == o {
            continue;
        }
        if g.node_type(owner) == t.synthetic || owner == g.root {
            continue;
        }
        let moved = g.self_size.get(o);
        g.self_size.set(o, 0);
        let sum = g.self_size.get(owner).saturating_add(moved);
        g.self_size.set(owner, sum);
    }
}

/// JavaScript's `parseInt(s, 10)` on an edge name, as far as DevTools' filter
/// needs it: `None` stands for NaN.
fn js_parse_int(s: &[u8]) -> Option<f64> {
    let s = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&s[s.len()..], |p| &s[p..]);
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v = 0f64;
    for &d in &s[..digits] {
        v = v * 10.0 + (d - b'0') as f64;
    }
    Some(if neg { -v } else { v })
}

/// Breadth-first distances: user roots at 1, then everything else from the
/// root at `BASE_SYSTEM_DISTANCE`, over non-weak edges with DevTools' filter
/// (descriptor-array slots, the sloppy function map, and the first-seen edge
/// of each WeakMap ephemeron pair, so a value sits behind both table and key).
pub fn calculate_distances(g: &Graph, t: &TypeIndices, eph: &EphemeronNames) -> Vec<i32> {
    let n = g.node_count();
    let mut dist = vec![NO_DISTANCE; n];
    // Only the frontier is held: a queue of every node reached would be n
    // words at the peak of the phase this runs in.
    let mut queue: VecDeque<u32> = VecDeque::new();
    let mut pending_pairs = BitSet::new(eph.pair_count().max(1));
    let sloppy = b"sloppy_function_map".as_slice();

    let filter = |src: u32, e: usize, pending: &mut BitSet| -> bool {
        let ty = g.edge_type(e);
        let st = g.node_type(src);
        let name = g.edge_name[e];
        if st == t.hidden
            && t.edge_has_string_name(ty)
            && g.strings.wtf8(name) == sloppy
            && g.strings.wtf8(g.node_name[src as usize]) == b"system / NativeContext"
        {
            return false;
        }
        if st == t.array && g.strings.wtf8(g.node_name[src as usize]) == b"(map descriptors)" {
            let index = if t.edge_has_string_name(ty) {
                js_parse_int(g.strings.wtf8(name))
            } else {
                Some(name as f64)
            };
            return match index {
                None => true,
                Some(i) => i < 2.0 || i % 3.0 != 1.0,
            };
        }
        if ty == t.e_internal {
            if let Some(p) = eph.get(name) {
                let pair = p.pair as usize;
                if pending.get(pair) {
                    // Second edge of the pair: accept it, and forget the pair.
                    pending.words_clear(pair);
                } else {
                    pending.set(pair);
                    return false;
                }
            }
        }
        true
    };

    let bfs = |dist: &mut Vec<i32>, queue: &mut VecDeque<u32>, pending: &mut BitSet| {
        while let Some(o) = queue.pop_front() {
            // The queue is in discovery order, scattered over the ordinals:
            // fetch edge offsets a few nodes ahead, then their edges.
            if let Some(&far) = queue.get(PREFETCH_FAR as usize) {
                prefetch(g.first_edge.get(far as usize));
            }
            if let Some(&near) = queue.get(PREFETCH_NEAR as usize) {
                if let Some(&start) = g.first_edge.get(near as usize) {
                    prefetch(g.edge_to_type.get(start as usize));
                }
            }
            let d = dist[o as usize] + 1;
            for e in g.edges(o) {
                if g.edge_type(e) == t.e_weak {
                    continue;
                }
                let target = g.edge_target(e);
                if dist[target as usize] != NO_DISTANCE {
                    continue;
                }
                if !filter(o, e, pending) {
                    continue;
                }
                dist[target as usize] = d;
                queue.push_back(target);
            }
        }
    };

    for e in g.edges(g.root) {
        let target = g.edge_target(e);
        if is_user_root(g, t, target) {
            dist[target as usize] = 1;
            queue.push_back(target);
        }
    }
    let user_roots = queue.len();
    bfs(&mut dist, &mut queue, &mut pending_pairs);
    dist[g.root as usize] = if user_roots > 0 {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    queue.push_back(g.root);
    bfs(&mut dist, &mut queue, &mut pending_pairs);
    dist
}

impl BitSet {
    #[inline]
    fn words_clear(&mut self, i: usize) {
        self.words[i >> 6] &= !(1 << (i & 63));
    }
}

/// Lengauer–Tarjan's state after its first depth-first search, which reads
/// only forward edges and so can run while the retainer lists are built.
/// Vertices are numbered from 1 so that 0 can mean "none". The DFS needs
/// four arrays of the five the semi-dominator pass holds.
pub struct DominatorDfs {
    parent: Vec<u32>,
    vertex: Vec<u32>,
    semi: Vec<u32>,
    /// The DFS's next edge per ordinal, then the dominators.
    dom: Vec<u32>,
    count: u32,
}

impl DominatorDfs {
    /// Depth-first from `start` over essential edges in edge order, as
    /// DevTools walks; `dom` is the per-vertex edge cursor meanwhile.
    fn walk(&mut self, first_edge: &[u32], edge_to_type: &[u32], essential: &BitSet, start: u32) {
        let DominatorDfs {
            parent,
            vertex,
            semi,
            dom: cursor,
            count,
        } = self;
        cursor[start as usize - 1] = first_edge[start as usize - 1];
        let mut v = start;
        while v != 0 {
            if semi[v as usize] == 0 {
                *count += 1;
                semi[v as usize] = *count;
                vertex[*count as usize] = v;
            }
            let mut next = parent[v as usize];
            let vo = v as usize - 1;
            let end = first_edge[vo + 1];
            while cursor[vo] < end {
                let e = cursor[vo] as usize;
                if essential.get(e) {
                    let w = super::graph::packed_target(edge_to_type[e]) + 1;
                    if semi[w as usize] == 0 {
                        parent[w as usize] = v;
                        cursor[w as usize - 1] = first_edge[w as usize - 1];
                        next = w;
                        break;
                    }
                }
                cursor[vo] += 1;
            }
            v = next;
        }
    }
}

/// The first depth-first search: from the root over essential edges
/// (`first_edge` and `edge_to_type` as in `Graph`).
pub fn dominator_dfs(
    first_edge: &[u32],
    edge_to_type: &[u32],
    root: u32,
    essential: &BitSet,
) -> DominatorDfs {
    let len = first_edge.len();
    let mut dfs = DominatorDfs {
        parent: vec![0u32; len],
        vertex: vec![0u32; len],
        semi: crate::memory::zeroed_prewritten(len),
        dom: vec![0u32; len],
        count: 0,
    };
    dfs.walk(first_edge, edge_to_type, essential, root + 1);
    dfs
}

/// Immediate dominators by Lengauer–Tarjan (simple eval/link with iterative
/// path compression), replicating DevTools' traversal exactly: after the DFS
/// from the root (`first`), a DFS from each node that has only non-essential
/// retainers, hung under the root; then any node still unvisited (a cycle
/// kept only by itself) individually under the root.
///
/// Takes the forward edge offsets (`Graph::first_edge`) and the essential set
/// by value: only the DFS reads them, and before the semi-dominator pass,
/// which holds the most arrays, the set is freed and the offsets' memory
/// becomes the labels, which lowers this phase's peak. The caller keeps the
/// offsets packed meanwhile.
///
/// Returns the dominator of each ordinal and the DFS visiting order, which is
/// the order retained sizes accumulate in; the arrays it no longer needs go
/// to `spare`.
pub fn dominators(
    first_edge: Vec<u32>,
    edge_to_type: &[u32],
    root: u32,
    r: &Retainers,
    essential: BitSet,
    mut first: DominatorDfs,
    spare: &mut NodeBuffers,
) -> (Vec<u32>, Vec<u32>) {
    let n = first_edge.len() - 1;
    let len = n + 1;
    let root_v = root + 1;
    let has_essential_retainer =
        |o: u32| -> bool { r.of(o).iter().any(|&s| s & ESSENTIAL_BIT != 0) };
    if (first.count as usize) < n {
        for v in 1..=n as u32 {
            if first.semi[v as usize] == 0 && !has_essential_retainer(v - 1) {
                first.parent[v as usize] = root_v;
                first.walk(&first_edge, edge_to_type, &essential, v);
            }
        }
    }
    drop(essential);
    // Five arrays of n words are live at the peak; the textbook form needs
    // eight. `parent` doubles as the link forest's ancestor array (a vertex's
    // parent is read only when the vertex is linked, and a linked vertex's
    // entry is what path compression rewrites), with `linked` telling the two
    // apart; `label` doubles as the bucket heads the same way (below).
    let DominatorDfs {
        mut parent,
        mut vertex,
        mut semi,
        mut dom,
        mut count,
    } = first;
    if (count as usize) < n {
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = root_v;
                count += 1;
                semi[v as usize] = count;
                vertex[count as usize] = v;
            }
        }
    }
    dom.iter_mut().for_each(|x| *x = 0);
    // Until a vertex is linked its entry heads its bucket (0: empty); from
    // then on it is its label. The uses never overlap: labels are read only
    // for linked vertices, and a bucket is filled (by the higher-numbered
    // vertices it semi-dominates) and emptied (as its children are linked)
    // before its own vertex is linked, vertices being linked in decreasing
    // order.
    // The edge offsets' memory (n + 1 words, faulted in) becomes the labels.
    let mut label = first_edge;
    label.clear();
    label.resize(len, 0);
    let mut linked = BitSet::new(len);

    let mut stack: Vec<u32> = Vec::new();
    let mut eval =
        |v: u32, ancestor: &mut [u32], linked: &BitSet, label: &mut [u32], semi: &[u32]| -> u32 {
            if !linked.get(v as usize) {
                return v;
            }
            let mut x = v;
            stack.clear();
            while linked.get(ancestor[x as usize] as usize) {
                stack.push(x);
                x = ancestor[x as usize];
            }
            while let Some(w) = stack.pop() {
                let a = ancestor[w as usize] as usize;
                if semi[label[a] as usize] < semi[label[w as usize] as usize] {
                    label[w as usize] = label[a];
                }
                ancestor[w as usize] = ancestor[a];
            }
            label[v as usize]
        };

    for i in (2..=count).rev() {
        let w = vertex[i as usize];
        // Vertices come in DFS order, their retainer lists in ordinal order:
        // fetch the list offsets a few vertices ahead, then the lists.
        if i > PREFETCH_FAR {
            let far = vertex[(i - PREFETCH_FAR) as usize] as usize;
            prefetch(r.first.get(far.wrapping_sub(1)));
            let near = vertex[(i - PREFETCH_NEAR) as usize] as usize;
            if let Some(&start) = r.first.get(near.wrapping_sub(1)) {
                prefetch(r.sources.get(start as usize));
            }
        }
        let mut orphan = true;
        for &s in r.of(w - 1) {
            if s & ESSENTIAL_BIT == 0 {
                continue;
            }
            orphan = false;
            let v = (s & !ESSENTIAL_BIT) + 1;
            let u = eval(v, &mut parent, &linked, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        if orphan {
            semi[w as usize] = semi[root_v as usize];
        }
        let b = vertex[semi[w as usize] as usize] as usize;
        dom[w as usize] = label[b];
        label[b] = w;
        // What is left in w's bucket stays unsettled: the vertices hung under
        // the root without a DFS have no children to empty it (and may sit
        // in their own bucket). Their entries are cleared, as every bucket
        // left at the end would be, and the slot becomes w's label.
        let mut v = label[w as usize];
        while v != 0 {
            let next = dom[v as usize];
            dom[v as usize] = 0;
            v = next;
        }
        label[w as usize] = w;
        // Link w under its parent: from here on its entry is an ancestor.
        let p = parent[w as usize];
        linked.set(w as usize);
        let mut v = std::mem::take(&mut label[p as usize]);
        while v != 0 {
            let next = dom[v as usize];
            let u = eval(v, &mut parent, &linked, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                p
            };
            v = next;
        }
    }
    // The root is never linked; its bucket is cleared like the others.
    let mut v = label[root_v as usize];
    while v != 0 {
        let next = dom[v as usize];
        dom[v as usize] = 0;
        v = next;
    }
    drop(linked);
    spare.put(label);
    spare.put(parent);

    dom[0] = root_v;
    dom[root_v as usize] = root_v;
    for i in 2..=count {
        let w = vertex[i as usize] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    spare.put(semi);
    // Shift to 0-based ordinals, reusing the allocations.
    dom.remove(0);
    dom.iter_mut().for_each(|d| *d -= 1);
    vertex.remove(0);
    vertex.truncate(count as usize);
    vertex.iter_mut().for_each(|v| *v -= 1);
    (dom, vertex)
}

/// How many vertices ahead the semi-dominator loop fetches retainer list
/// offsets, and the lists themselves; the distance walk does the same with
/// edge offsets and edges (other distances measured no better there).
const PREFETCH_FAR: u32 = 16;
const PREFETCH_NEAR: u32 = 8;

/// Asks the CPU to start loading `p`'s cache line: a hint that reads
/// nothing, so it cannot fault.
#[inline(always)]
fn prefetch<T>(p: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = p {
        // SAFETY: prefetching is a hint; it never dereferences the pointer
        // and cannot fault (the pointer also comes from a reference).
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (p as *const T).cast::<i8>(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Retained sizes: own (shown) size plus everything dominated, accumulated in
/// reverse DFS order exactly as DevTools does. u64, so it never wraps.
pub fn retained_sizes(self_size: &SizeColumn, dom: &[u32], order: &[u32]) -> Vec<u64> {
    let n = self_size.len();
    let mut retained: Vec<u64> = (0..n as u32).map(|o| self_size.get(o)).collect();
    for &o in order.iter().skip(1).rev() {
        let d = dom[o as usize] as usize;
        retained[d] = retained[d].saturating_add(retained[o as usize]);
    }
    retained
}

/// Children lists of the dominator tree (CSR), root excluded from its own
/// list, in buffers from `spare`.
pub fn dominated_nodes(dom: &[u32], root: u32, spare: &mut NodeBuffers) -> (Vec<u32>, Vec<u32>) {
    let n = dom.len();
    // As in `build_retainers`: counts at each parent's own slot become the
    // ends of the lists, and filling from the last node backwards walks each
    // slot down to its list's start, with no cursor array (n words more at
    // the peak of the phase this runs in) and each list in ordinal order.
    let mut first = spare.zeroed(n + 1);
    for (o, &d) in dom.iter().enumerate() {
        if o as u32 != root {
            first[d as usize] += 1;
        }
    }
    for i in 1..n {
        first[i] += first[i - 1];
    }
    let children_len = if n == 0 { 0 } else { first[n - 1] };
    first[n] = children_len;
    let mut children = spare.take();
    children.resize(children_len as usize, 0);
    for (o, &d) in dom.iter().enumerate().rev() {
        if o as u32 != root {
            first[d as usize] -= 1;
            children[first[d as usize] as usize] = o as u32;
        }
    }
    (first, children)
}

/// The nodes in a preorder of the dominator tree (each right after its
/// dominator's subtree began, a subtree's nodes together), what the class
/// summary walks. One array, where the children lists it comes from hold two:
/// built early, while little else is live, and those lists handed back to
/// `spare` at once.
pub fn dominator_preorder(dom: &[u32], root: u32, spare: &mut NodeBuffers) -> Vec<u32> {
    let (first, children) = dominated_nodes(dom, root, spare);
    let mut order = Vec::with_capacity(dom.len());
    let mut stack = vec![root];
    while let Some(x) = stack.pop() {
        order.push(x);
        let x = x as usize;
        stack.extend_from_slice(&children[first[x] as usize..first[x + 1] as usize]);
    }
    spare.put(first);
    spare.put(children);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::graph::pack_edge;

    /// splitmix64, for reproducible random graphs.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        }
    }

    /// Immediate dominators by definition, on the graph DevTools' traversal
    /// implies: the essential edges, plus an edge from the root to each node
    /// without an essential retainer. Nodes still unreachable (cycles kept
    /// only by themselves) hang under the root and dominate nothing. `d`
    /// dominates `x` if `x` is unreachable once `d` is removed.
    fn brute_force_dominators(n: usize, root: usize, edges: &[(usize, usize, bool)]) -> Vec<u32> {
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut retained = vec![false; n];
        for &(s, t, essential) in edges {
            if essential {
                out[s].push(t);
                retained[t] = true;
            }
        }
        let reach = |out: &Vec<Vec<usize>>, without: Option<usize>| {
            let mut seen = vec![false; n];
            let mut stack = vec![root];
            seen[root] = true;
            while let Some(x) = stack.pop() {
                for &y in &out[x] {
                    if !seen[y] && Some(y) != without {
                        seen[y] = true;
                        stack.push(y);
                    }
                }
            }
            seen
        };
        for (v, &r) in retained.iter().enumerate() {
            if v != root && !r {
                out[root].push(v);
            }
        }
        let reachable = reach(&out, None);
        let strict: Vec<Vec<usize>> = (0..n)
            .map(|d| {
                if d == root {
                    return (0..n).filter(|&x| x != root).collect();
                }
                let without = reach(&out, Some(d));
                (0..n)
                    .filter(|&x| x != d && reachable[x] && !without[x])
                    .collect()
            })
            .collect();
        // dominated_by[x] = strict dominators of x.
        let mut dominated_by: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (d, xs) in strict.iter().enumerate() {
            for &x in xs {
                dominated_by[x].push(d);
            }
        }
        (0..n)
            .map(|x| {
                if x == root || !reachable[x] {
                    return root as u32;
                }
                // The immediate one is dominated by all the others.
                let k = dominated_by[x].len();
                dominated_by[x]
                    .iter()
                    .copied()
                    .find(|&d| dominated_by[d].len() == k - 1)
                    .map_or(u32::MAX, |d| d as u32)
            })
            .collect()
    }

    #[test]
    fn dominators_match_the_definition_on_random_graphs() {
        let mut rng = Rng(7);
        for round in 0..3000 {
            let n = 1 + rng.below(14) as usize;
            let root = rng.below(n as u64) as usize;
            // Sparse and dense graphs, with self edges, parallel edges,
            // non-essential edges, orphans and unreachable cycles.
            let m = rng.below(3 * n as u64 + 1) as usize;
            let essential_percent = [100, 90, 60][round % 3];
            let mut edges: Vec<(usize, usize, bool)> = (0..m)
                .map(|_| {
                    let s = rng.below(n as u64) as usize;
                    let t = rng.below(n as u64) as usize;
                    (s, t, s != t && rng.below(100) < essential_percent)
                })
                .collect();
            edges.sort_by_key(|e| e.0);
            let mut first_edge = vec![0u32; n + 1];
            for &(s, _, _) in &edges {
                first_edge[s + 1] += 1;
            }
            for i in 0..n {
                first_edge[i + 1] += first_edge[i];
            }
            let edge_to_type: Vec<u32> = edges.iter().map(|e| pack_edge(e.1 as u32, 2)).collect();
            let mut essential = BitSet::new(m);
            let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); n];
            for (e, &(s, t, ess)) in edges.iter().enumerate() {
                if ess {
                    essential.set(e);
                }
                reverse[t].push(s as u32 | if ess { ESSENTIAL_BIT } else { 0 });
            }
            let mut r = Retainers {
                first: vec![0],
                sources: Vec::new(),
            };
            for list in &reverse {
                r.sources.extend_from_slice(list);
                r.first.push(r.sources.len() as u32);
            }
            let expected = brute_force_dominators(n, root, &edges);
            let first = dominator_dfs(&first_edge, &edge_to_type, root as u32, &essential);
            let mut spare = NodeBuffers::default();
            let (dom, order) = dominators(
                first_edge,
                &edge_to_type,
                root as u32,
                &r,
                essential,
                first,
                &mut spare,
            );
            assert_eq!(
                dom, expected,
                "round {round}: {n} nodes, root {root}, edges {edges:?}"
            );
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>(), "round {round}");
            assert_eq!(order[0], root as u32);
        }
    }

    #[test]
    fn dominated_lists_hold_each_child_once_in_ordinal_order() {
        // Root 2; 0 and 4 under it, 1 and 3 and 5 under 4, 6 under 5.
        let dom = [2, 4, 2, 4, 2, 4, 5];
        let mut spare = NodeBuffers::default();
        spare.put(vec![9; 3]);
        let (first, children) = dominated_nodes(&dom, 2, &mut spare);
        assert_eq!(first, [0, 0, 0, 2, 2, 5, 6, 6]);
        let of = |n: usize| &children[first[n] as usize..first[n + 1] as usize];
        assert_eq!(of(2), [0, 4], "the root is not its own child");
        assert_eq!(of(4), [1, 3, 5]);
        assert_eq!(of(5), [6]);
        assert!([0, 1, 3, 6].iter().all(|&n| of(n).is_empty()));

        assert_eq!(dominated_nodes(&[0], 0, &mut spare), (vec![0, 0], vec![]));
        assert_eq!(dominated_nodes(&[], 0, &mut spare), (vec![0], vec![]));

        let order = dominator_preorder(&dom, 2, &mut spare);
        assert_eq!(order.len(), dom.len());
        // Each node after its dominator, and each subtree contiguous.
        let at = |x: u32| order.iter().position(|&o| o == x).unwrap();
        for (x, &d) in dom.iter().enumerate() {
            assert!(x == 2 || at(d) < at(x as u32), "{x} before its dominator");
        }
        let subtree_4 = [4, 1, 3, 5, 6].map(at);
        assert_eq!(
            subtree_4.iter().max().unwrap() - subtree_4.iter().min().unwrap(),
            4
        );
        assert_eq!(dominator_preorder(&[0], 0, &mut spare), [0]);
    }
}
