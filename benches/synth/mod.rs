//! Deterministic synthetic V8 heap snapshots, shaped like real Node heaps,
//! written as a stream so that their size is bounded by the disk, not RAM.
//!
//! Used by `benches/engine.rs` (in memory, [`generate`]) and
//! `examples/synth.rs` (to a file, [`write_snapshot`]: tens of millions of
//! nodes, many GB); kept free of timing code so tests and fuzz targets can
//! include it (`#[path = "../benches/synth/mod.rs"] mod synth;`).
//!
//! The graph mixes the structures that stress each analysis phase:
//! - a synthetic root with an element edge to `(GC roots)` and shortcut edges
//!   to global objects, as V8 writes them;
//! - sub-roots holding shared pools (maps, code, internalized strings);
//! - blocks hanging off globals or sub-roots: k-ary object trees, long linked
//!   chains (deep dominator trees), doubly linked rings (long cycles),
//!   WeakMaps with ephemeron edge names, native nodes with detachedness;
//! - random cross edges between blocks (shared retainers, irreducible loops)
//!   and weak edges (which must not retain);
//! - a few blocks nothing strong points to;
//! - optionally, ArrayBuffers whose backing stores have huge self sizes
//!   (V8 writes sizes above 4 GiB for such stores) and padded strings.
//!
//! The file format wants every node (with its edge count) before any edge,
//! then locations, then strings, and the header wants the totals first. The
//! generator never holds the graph: one walk over a small block plan, driven
//! by an RNG restarted from the same state, is replayed once per section and
//! writes only that section (a first walk only counts). What it keeps is the
//! plan (one entry per few thousand nodes) and the current node's edge count.

use std::io::{self, Write};

/// splitmix64: tiny, fast, and fully determined by its seed.
#[derive(Clone, Copy)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

// Node and edge type indices, in the order of `META` below (V8's order).
const HIDDEN: u8 = 0;
const ARRAY: u8 = 1;
const STRING: u8 = 2;
const OBJECT: u8 = 3;
const CODE: u8 = 4;
const CLOSURE: u8 = 5;
const NUMBER: u8 = 7;
const NATIVE: u8 = 8;
const SYNTHETIC: u8 = 9;
const CONCAT: u8 = 10;
const SHAPE: u8 = 14;

const E_CONTEXT: u8 = 0;
const E_ELEMENT: u8 = 1;
const E_PROPERTY: u8 = 2;
const E_INTERNAL: u8 = 3;
const E_SHORTCUT: u8 = 5;
const E_WEAK: u8 = 6;

const NODE_FIELDS: u64 = 7;

/// Node 20's meta, detachedness and locations included.
const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

/// The fixed part of the string table: `Name::X as u32` is the index of its text.
macro_rules! names {
    ($($id:ident = $text:expr,)*) => {
        #[derive(Clone, Copy)]
        enum Name { $($id,)* }
        const NAMES: &[&str] = &[$($text,)*];
    };
}

names! {
    Empty = "",
    GcRoots = "(GC roots)",
    StrongRoots = "(Strong roots)",
    InternalizedStrings = "(Internalized strings)",
    HandleScope = "(Handle scope)",
    StackRoots = "(Stack roots)",
    CompilationCache = "(Compilation cache)",
    Builtins = "(Builtins)",
    Global = "global",
    Window = "Window",
    Map = "map",
    SystemMap = "system / Map",
    Object = "Object",
    Array = "Array",
    ListNode = "ListNode",
    RingNode = "RingNode",
    Next = "next",
    Prev = "prev",
    Value = "value",
    Weak = "weak",
    Code = "code",
    Table = "table",
    First = "first",
    Second = "second",
    Concatenated = "(concatenated string)",
    HeapNumber = "heap number",
    WeakMap = "WeakMap",
    EphemeronTable = "system / EphemeronHashTable",
    Key = "Key",
    Div = "HTMLDivElement",
    ArrayBuffer = "ArrayBuffer",
    BackingStore = "backing_store",
    BufferData = "system / JSArrayBufferData",
    Buffers = "buffers",
}

const SUB_ROOT_NAMES: [Name; 6] = [
    Name::StrongRoots,
    Name::InternalizedStrings,
    Name::HandleScope,
    Name::StackRoots,
    Name::CompilationCache,
    Name::Builtins,
];
const SUB_ROOTS: usize = SUB_ROOT_NAMES.len();
const GLOBALS: usize = 2;
const SHAPES: usize = 512;
const CODES: usize = 1024;
const INTERNALIZED: usize = 4096;
const PROPERTY_NAMES: usize = 2000;
const CLASS_NAMES: usize = 300;

// Families of generated names follow the fixed ones: `fn{k}`, `key{k}`,
// `prop{k}`, `Class{k}`, then `module{k}` (as many as the busiest global
// needs), then strings used once (leaf values, ephemeron edge names).
const FN_BASE: u32 = NAMES.len() as u32;
const KEY_BASE: u32 = FN_BASE + CODES as u32;
const PROP_BASE: u32 = KEY_BASE + INTERNALIZED as u32;
const CLASS_BASE: u32 = PROP_BASE + PROPERTY_NAMES as u32;
const MODULE_BASE: u32 = CLASS_BASE + CLASS_NAMES as u32;

// Fixed node index layout: the root (0), (GC roots), sub-roots, globals,
// pools, the optional buffers, then blocks.
const GC_ROOTS: usize = 1;
const FIRST_SUB_ROOT: usize = 2;
const FIRST_GLOBAL: usize = FIRST_SUB_ROOT + SUB_ROOTS;
const FIRST_SHAPE: usize = FIRST_GLOBAL + GLOBALS;
const FIRST_CODE: usize = FIRST_SHAPE + SHAPES;
const FIRST_INTERNALIZED: usize = FIRST_CODE + CODES;
const BUFFER_HOLDER: usize = FIRST_INTERNALIZED + INTERNALIZED;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// About this many nodes (at least a few thousand are always made).
    pub nodes: usize,
    pub seed: u64,
    /// ArrayBuffers held by the first global (through a `buffers` array),
    /// each with a backing store of `buffer_size` bytes: self sizes above
    /// 2^32, and sums far beyond it, as a multi-GB heap has.
    pub buffers: usize,
    pub buffer_size: u64,
    /// Characters appended to every leaf string value, to grow the file
    /// (and the strings' self sizes) without more nodes.
    pub string_padding: usize,
}

impl Options {
    pub fn new(nodes: usize, seed: u64) -> Options {
        Options {
            nodes,
            seed,
            buffers: 0,
            buffer_size: 0,
            string_padding: 0,
        }
    }
}

/// What a generated snapshot holds, computed while writing it, for callers
/// to check an analysis against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub nodes: u64,
    pub edges: u64,
    pub locations: u64,
    pub strings: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Sum of all self sizes, in a type that cannot wrap: the retained size
    /// of the root (DevTools hangs unreachable nodes under it too).
    pub self_size_total: u128,
    pub max_self_size: u64,
}

/// A generated snapshot: its JSON bytes and what it holds.
pub struct Synthetic {
    pub json: Vec<u8>,
    pub nodes: usize,
    pub edges: usize,
}

/// Builds a snapshot of about `target_nodes` nodes in memory, the same bytes
/// for the same arguments.
pub fn generate(target_nodes: usize, seed: u64) -> Synthetic {
    let mut json = Vec::new();
    let summary = match write_snapshot(&Options::new(target_nodes, seed), &mut json) {
        Ok(s) => s,
        Err(e) => panic!("writing to memory failed: {e}"),
    };
    Synthetic {
        json,
        nodes: summary.nodes as usize,
        edges: summary.edges as usize,
    }
}

/// Streams a snapshot to `out` (wrap files in a `BufWriter`; the generator
/// also buffers, in 1 MiB batches). Memory stays small whatever the size.
pub fn write_snapshot(options: &Options, out: impl Write) -> io::Result<Summary> {
    let plan = Plan::new(options);
    let mut w = Walker::new(&plan, Section::Count, Out::new(out));
    w.walk();
    let mut summary = w.summary.clone();
    summary.strings = plan.fresh_base as u64 + w.fresh as u64;
    let mut out = w.out;

    out.put(b"{\"snapshot\":{\"meta\":");
    out.put(META.as_bytes());
    out.put(b",\"node_count\":");
    out.num(summary.nodes);
    out.put(b",\"edge_count\":");
    out.num(summary.edges);
    out.put(b",\"trace_function_count\":0},\n\"nodes\":[");
    for (section, after) in [
        (Section::Nodes, &b"],\n\"edges\":["[..]),
        (
            Section::Edges,
            b"],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[",
        ),
        (Section::Locations, b"],\n\"strings\":["),
        (Section::Strings, b"]}\n"),
    ] {
        let mut w = Walker::new(&plan, section, out);
        if section == Section::Strings {
            w.fixed_strings();
        }
        w.walk();
        out = w.out;
        out.put(after);
        out.flush_full()?;
    }
    summary.bytes = out.finish()?;
    Ok(summary)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    /// Writes nothing: totals for the header.
    Count,
    Nodes,
    Edges,
    Locations,
    Strings,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tree,
    Chain,
    Ring,
    WeakMap,
    Native,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Attach {
    Global(usize),
    SubRoot(usize),
    /// Reachable only if a random cross edge happens to hit it.
    Nothing,
}

#[derive(Clone, Copy)]
struct Block {
    start: usize,
    len: usize,
    kind: Kind,
    attach: Attach,
}

/// Everything the walks share: the blocks, and the RNG state after planning
/// (each walk restarts from it, so all make the same draws).
struct Plan {
    options: Options,
    blocks: Vec<Block>,
    rng: Rng,
    total: usize,
    bulk_start: usize,
    /// Index of the first string used once.
    fresh_base: u32,
}

impl Plan {
    fn new(options: &Options) -> Plan {
        let bulk_start = if options.buffers > 0 {
            BUFFER_HOLDER + 1 + 2 * options.buffers
        } else {
            BUFFER_HOLDER
        };
        let total = options.nodes.max(bulk_start + 1000);
        let mut rng = Rng::new(options.seed);
        let mut blocks = Vec::new();
        let mut start = bulk_start;
        while start < total {
            let (kind, len) = match rng.below(100) {
                0..=59 => (Kind::Tree, 50 + rng.below(2000)),
                60..=71 => (Kind::Chain, 2 * (100 + rng.below(20_000))),
                72..=81 => (Kind::Ring, 100 + rng.below(10_000)),
                82..=91 => (Kind::WeakMap, 3 + 2 * (10 + rng.below(500))),
                _ => (Kind::Native, 20 + rng.below(500)),
            };
            let len = len.min(total - start);
            // Tail blocks too small for their shape become trees, which fit any size.
            let kind = if len < 30 { Kind::Tree } else { kind };
            let attach = match rng.below(100) {
                0..=69 => Attach::Global(rng.below(GLOBALS)),
                70..=97 => Attach::SubRoot(rng.below(SUB_ROOTS)),
                _ => Attach::Nothing,
            };
            blocks.push(Block {
                start,
                len,
                kind,
                attach,
            });
            start += len;
        }
        let mut plan = Plan {
            options: options.clone(),
            blocks,
            rng,
            total,
            bulk_start,
            fresh_base: 0,
        };
        let modules = (0..GLOBALS)
            .map(|g| plan.attached(Attach::Global(g)).count())
            .max()
            .unwrap_or(0);
        plan.fresh_base = MODULE_BASE + modules as u32;
        plan
    }

    fn attached(&self, attach: Attach) -> impl Iterator<Item = usize> + '_ {
        self.blocks
            .iter()
            .filter(move |b| b.attach == attach)
            .map(|b| b.start)
    }
}

/// Buffered output with decimal formatting; the first I/O error is kept and
/// later writes are dropped, so emitters need no error plumbing.
struct Out<W: Write> {
    w: W,
    buf: Vec<u8>,
    written: u64,
    error: Option<io::Error>,
}

const OUT_BATCH: usize = 1 << 20;

impl<W: Write> Out<W> {
    fn new(w: W) -> Self {
        Out {
            w,
            buf: Vec::with_capacity(OUT_BATCH + 4096),
            written: 0,
            error: None,
        }
    }

    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    #[inline]
    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&digits[i..]);
    }

    #[inline]
    fn maybe_flush(&mut self) {
        if self.buf.len() >= OUT_BATCH {
            self.drain();
        }
    }

    fn drain(&mut self) {
        if self.error.is_none() {
            match self.w.write_all(&self.buf) {
                Ok(()) => self.written += self.buf.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
        self.buf.clear();
    }

    fn flush_full(&mut self) -> io::Result<()> {
        self.drain();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn finish(mut self) -> io::Result<u64> {
        self.flush_full()?;
        self.w.flush()?;
        Ok(self.written)
    }
}

/// One walk over the plan, writing one section.
struct Walker<'p, W: Write> {
    plan: &'p Plan,
    section: Section,
    rng: Rng,
    out: Out<W>,
    /// Nodes begun so far; the last one is the node edges are added to.
    ordinal: u64,
    /// Nodes section: the last node's record, written once its edges are counted.
    pending: Option<(u8, u32, u64, u64, u8)>,
    /// Items of the current section written so far (for separators).
    items: u64,
    /// Strings used once, handed out so far.
    fresh: u32,
    summary: Summary,
}

impl<'p, W: Write> Walker<'p, W> {
    fn new(plan: &'p Plan, section: Section, out: Out<W>) -> Self {
        Walker {
            plan,
            section,
            rng: plan.rng,
            out,
            ordinal: 0,
            pending: None,
            items: 0,
            fresh: 0,
            summary: Summary::default(),
        }
    }

    fn walk(&mut self) {
        self.emit_fixed();
        for k in 0..self.plan.blocks.len() {
            let b = self.plan.blocks[k];
            match b.kind {
                Kind::Tree => self.emit_tree(b),
                Kind::Chain => self.emit_chain(b),
                Kind::Ring => self.emit_ring(b),
                Kind::WeakMap => self.emit_weak_map(b),
                Kind::Native => self.emit_native(b),
            }
        }
        self.write_pending();
        assert_eq!(
            self.ordinal, self.plan.total as u64,
            "the blocks must fill the planned node count exactly"
        );
    }

    #[inline]
    fn separator(&mut self, sep: &[u8]) {
        if self.items > 0 {
            self.out.put(sep);
        }
        self.items += 1;
    }

    fn write_pending(&mut self) {
        if let Some((ty, name, size, edges, detachedness)) = self.pending.take() {
            self.separator(b"\n,");
            let o = &mut self.out;
            o.num(ty as u64);
            o.put(b",");
            o.num(name as u64);
            o.put(b",");
            o.num(node_id(self.ordinal - 1));
            o.put(b",");
            o.num(size);
            o.put(b",");
            o.num(edges);
            o.put(b",0,");
            o.num(detachedness as u64);
            o.maybe_flush();
        }
    }

    fn node(&mut self, ty: u8, name: u32, size: u64, detachedness: u8) {
        match self.section {
            Section::Count => {
                self.summary.nodes += 1;
                self.summary.self_size_total += size as u128;
                self.summary.max_self_size = self.summary.max_self_size.max(size);
            }
            Section::Nodes => {
                self.write_pending();
                self.pending = Some((ty, name, size, 0, detachedness));
            }
            _ => {}
        }
        self.ordinal += 1;
    }

    /// Adds an edge from the node begun last.
    fn edge(&mut self, ty: u8, name_or_index: u64, to: usize) {
        match self.section {
            Section::Count => self.summary.edges += 1,
            Section::Nodes => {
                if let Some(p) = self.pending.as_mut() {
                    p.3 += 1;
                }
            }
            Section::Edges => {
                self.separator(b"\n,");
                let o = &mut self.out;
                o.num(ty as u64);
                o.put(b",");
                o.num(name_or_index);
                o.put(b",");
                o.num(to as u64 * NODE_FIELDS);
                o.maybe_flush();
            }
            _ => {}
        }
    }

    fn named_edge(&mut self, ty: u8, name: Name, to: usize) {
        self.edge(ty, name as u64, to);
    }

    /// A source position for the node at ordinal `at`.
    fn location(&mut self, at: usize, script: u64, line: u64, column: u64) {
        match self.section {
            Section::Count => self.summary.locations += 1,
            Section::Locations => {
                self.separator(b"\n,");
                let o = &mut self.out;
                o.num(at as u64 * NODE_FIELDS);
                for v in [script, line, column] {
                    o.put(b",");
                    o.num(v);
                }
                o.maybe_flush();
            }
            _ => {}
        }
    }

    /// The index of a new string used once; `text` runs only when writing
    /// the strings (every walk must make the same RNG draws, so none in it).
    fn fresh(&mut self, text: impl FnOnce() -> String) -> u32 {
        if self.section == Section::Strings {
            self.string(&text());
        }
        self.fresh += 1;
        self.plan.fresh_base + self.fresh - 1
    }

    fn string(&mut self, s: &str) {
        self.separator(b",\n");
        json_string(&mut self.out.buf, s);
        self.out.maybe_flush();
    }

    /// The strings before the fresh ones, in index order.
    fn fixed_strings(&mut self) {
        for s in NAMES {
            self.string(s);
        }
        let families: [(&str, u32); 4] = [
            ("fn", CODES as u32),
            ("key", INTERNALIZED as u32),
            ("prop", PROPERTY_NAMES as u32),
            ("Class", CLASS_NAMES as u32),
        ];
        for (prefix, count) in families {
            for k in 0..count {
                self.string(&format!("{prefix}{k}"));
            }
        }
        for k in 0..self.plan.fresh_base - MODULE_BASE {
            self.string(&format!("module{k}"));
        }
    }

    fn random_bulk(&mut self) -> usize {
        let p = self.plan;
        p.bulk_start + self.rng.below(p.total - p.bulk_start)
    }

    fn property_name(&mut self) -> u64 {
        (PROP_BASE + self.rng.below(PROPERTY_NAMES) as u32) as u64
    }

    fn emit_fixed(&mut self) {
        let plan = self.plan;
        self.node(SYNTHETIC, Name::Empty as u32, 0, 0);
        self.edge(E_ELEMENT, 1, GC_ROOTS);
        for g in 0..GLOBALS {
            self.named_edge(E_SHORTCUT, Name::Global, FIRST_GLOBAL + g);
        }

        self.node(SYNTHETIC, Name::GcRoots as u32, 0, 0);
        for s in 0..SUB_ROOTS {
            self.edge(E_ELEMENT, s as u64 + 1, FIRST_SUB_ROOT + s);
        }

        for (s, name) in SUB_ROOT_NAMES.into_iter().enumerate() {
            self.node(SYNTHETIC, name as u32, 0, 0);
            // The pools belong to the first two sub-roots, as V8's strong roots and string table.
            let pool = match s {
                0 => FIRST_SHAPE..FIRST_INTERNALIZED,
                1 => FIRST_INTERNALIZED..BUFFER_HOLDER,
                _ => 0..0,
            };
            let attached = plan.attached(Attach::SubRoot(s));
            for (index, to) in pool.chain(attached).enumerate() {
                self.edge(E_ELEMENT, index as u64 + 1, to);
            }
        }

        for g in 0..GLOBALS {
            let name = if g == 0 { Name::Global } else { Name::Window };
            self.node(OBJECT, name as u32, 9504, 0);
            let map = FIRST_SHAPE + self.rng.below(SHAPES);
            self.named_edge(E_INTERNAL, Name::Map, map);
            if g == 0 && plan.options.buffers > 0 {
                self.named_edge(E_PROPERTY, Name::Buffers, BUFFER_HOLDER);
            }
            for (k, to) in plan.attached(Attach::Global(g)).enumerate() {
                self.edge(E_PROPERTY, (MODULE_BASE + k as u32) as u64, to);
            }
        }

        for _ in 0..SHAPES {
            let size = 40 + 8 * self.rng.below(8) as u64;
            self.node(SHAPE, Name::SystemMap as u32, size, 0);
        }
        for k in 0..CODES {
            let size = 100 + self.rng.below(5000) as u64;
            self.node(CODE, FN_BASE + k as u32, size, 0);
        }
        for k in 0..INTERNALIZED {
            self.node(STRING, KEY_BASE + k as u32, 16 + (k % 32) as u64, 0);
        }

        let buffers = plan.options.buffers;
        if buffers > 0 {
            self.node(ARRAY, Name::Array as u32, 16 + 8 * buffers as u64, 0);
            for k in 0..buffers {
                self.edge(E_ELEMENT, k as u64, BUFFER_HOLDER + 1 + k);
            }
            for k in 0..buffers {
                self.node(OBJECT, Name::ArrayBuffer as u32, 80, 0);
                self.named_edge(
                    E_INTERNAL,
                    Name::BackingStore,
                    BUFFER_HOLDER + 1 + buffers + k,
                );
            }
            for _ in 0..buffers {
                let size = plan.options.buffer_size;
                self.node(NATIVE, Name::BufferData as u32, size, 0);
            }
        }
    }

    /// Outgoing edges every object-like node gets besides its structure: its
    /// map, a few shared strings (real heaps average ~6 edges per node), often
    /// a reference elsewhere, sometimes a weak one.
    fn object_extras(&mut self) {
        let map = FIRST_SHAPE + self.rng.below(SHAPES);
        self.named_edge(E_INTERNAL, Name::Map, map);
        for _ in 0..2 + self.rng.below(6) {
            let name = self.property_name();
            let to = FIRST_INTERNALIZED + self.rng.below(INTERNALIZED);
            self.edge(E_PROPERTY, name, to);
        }
        if self.rng.chance(30) {
            let name = self.property_name();
            let to = self.random_bulk();
            self.edge(E_PROPERTY, name, to);
        }
        if self.rng.chance(5) {
            let to = self.random_bulk();
            self.named_edge(E_WEAK, Name::Weak, to);
        }
    }

    /// A leaf value: a string (sometimes with characters JSON must escape),
    /// a concatenated string of two internalized ones, or a heap number.
    fn push_leaf(&mut self, at: usize) {
        match self.rng.below(10) {
            0..=5 => {
                let variant = self.rng.below(20);
                let r = self.rng.below(1000);
                let pad = self.plan.options.string_padding;
                let name = self.fresh(|| {
                    let mut text = match variant {
                        0 => format!("quote \"{at}\" back\\slash\nnewline"),
                        1 => format!("caf\u{e9} {at} \u{1F600} \u{1D11E}"),
                        _ => format!("value {at} of {r}"),
                    };
                    text.extend(std::iter::repeat_n('x', pad));
                    text
                });
                // Header plus about the text's length (the exact length would
                // need the text in every walk).
                self.node(STRING, name, 32 + pad as u64, 0);
            }
            6..=7 => {
                self.node(CONCAT, Name::Concatenated as u32, 32, 0);
                let (a, b) = (self.rng.below(INTERNALIZED), self.rng.below(INTERNALIZED));
                self.named_edge(E_INTERNAL, Name::First, FIRST_INTERNALIZED + a);
                self.named_edge(E_INTERNAL, Name::Second, FIRST_INTERNALIZED + b);
            }
            _ => self.node(NUMBER, Name::HeapNumber as u32, 16, 0),
        }
    }

    /// A 4-ary tree laid out breadth-first: node l's children are 4l+1..4l+4.
    fn emit_tree(&mut self, b: Block) {
        for l in 0..b.len {
            let at = b.start + l;
            let first_child = 4 * l + 1;
            if first_child >= b.len {
                if self.rng.chance(20) {
                    self.push_closure(at);
                } else {
                    self.push_leaf(at);
                }
                continue;
            }
            let children = first_child..(first_child + 4).min(b.len);
            if self.rng.chance(20) {
                let size = 16 + 8 * children.len() as u64;
                self.node(ARRAY, Name::Array as u32, size, 0);
                for (i, c) in children.enumerate() {
                    self.edge(E_ELEMENT, i as u64, b.start + c);
                }
            } else {
                self.push_object(at, 24 + 8 * children.len() as u64);
                for c in children {
                    let name = self.property_name();
                    self.edge(E_PROPERTY, name, b.start + c);
                }
            }
            self.object_extras();
        }
    }

    /// An object of a random class. Instances of user classes carry their
    /// constructor's source location, as V8 writes it (DevTools then keys the
    /// class by script, line and column); plain objects are named by
    /// DevTools from their properties.
    fn push_object(&mut self, at: usize, size: u64) {
        if self.rng.chance(40) {
            self.node(OBJECT, Name::Object as u32, size, 0);
            return;
        }
        let k = self.rng.below(CLASS_NAMES);
        self.node(OBJECT, CLASS_BASE + k as u32, size, 0);
        self.location(at, 100 + (k % 7) as u64, k as u64, 4);
    }

    /// A closure with a context and code, and a source location.
    fn push_closure(&mut self, at: usize) {
        let k = self.rng.below(CODES);
        self.node(CLOSURE, FN_BASE + k as u32, 32, 0);
        self.named_edge(E_INTERNAL, Name::Code, FIRST_CODE + k);
        let (name, to) = (self.property_name(), self.random_bulk());
        self.edge(E_CONTEXT, name, to);
        self.object_extras();
        self.location(at, 1 + (k % 40) as u64, k as u64, (at % 80) as u64);
    }

    /// A singly linked list: even slots are list nodes (`next`, `value`),
    /// odd slots their values. Depth is half the block's length.
    fn emit_chain(&mut self, b: Block) {
        for l in 0..b.len {
            let at = b.start + l;
            if l % 2 == 1 {
                self.push_leaf(at);
                continue;
            }
            self.node(OBJECT, Name::ListNode as u32, 32, 0);
            if l + 2 < b.len {
                self.named_edge(E_PROPERTY, Name::Next, at + 2);
            }
            if l + 1 < b.len {
                self.named_edge(E_PROPERTY, Name::Value, at + 1);
            }
            self.object_extras();
        }
    }

    /// A doubly linked ring: one long strongly connected cycle.
    fn emit_ring(&mut self, b: Block) {
        for l in 0..b.len {
            self.node(OBJECT, Name::RingNode as u32, 40, 0);
            let next = b.start + (l + 1) % b.len;
            let prev = b.start + (l + b.len - 1) % b.len;
            self.named_edge(E_PROPERTY, Name::Next, next);
            self.named_edge(E_PROPERTY, Name::Prev, prev);
            self.object_extras();
        }
    }

    /// A WeakMap: the map object, its table, a holder array for half the
    /// keys, then the keys and the values. The table's edges carry V8's
    /// ephemeron names; each key also points to its value with that name.
    fn emit_weak_map(&mut self, b: Block) {
        let pairs = (b.len - 3) / 2;
        let table = b.start + 1;
        let first_key = b.start + 3;
        let first_value = first_key + pairs;
        let pair_name = move |n: usize, i: usize| {
            format!(
                "{n} / part of key (Key @{}) -> value (Value @{}) pair in WeakMap (table @{})",
                node_id((first_key + i) as u64),
                node_id((first_value + i) as u64),
                node_id(table as u64)
            )
        };

        self.node(OBJECT, Name::WeakMap as u32, 24, 0);
        self.named_edge(E_INTERNAL, Name::Table, table);
        self.object_extras();

        self.node(
            HIDDEN,
            Name::EphemeronTable as u32,
            16 + 16 * pairs as u64,
            0,
        );
        // Pair i's names are strings `names + 2i` (table to key) and
        // `names + 2i + 1` (table to value, and key to value).
        let names = self.plan.fresh_base + self.fresh;
        for i in 0..pairs {
            let to_key = self.fresh(|| pair_name(2 * i, i));
            self.edge(E_INTERNAL, to_key as u64, first_key + i);
            let to_value = self.fresh(|| pair_name(2 * i + 1, i));
            self.edge(E_INTERNAL, to_value as u64, first_value + i);
        }

        let size = 16 + 8 * pairs.div_ceil(2) as u64;
        self.node(ARRAY, Name::Array as u32, size, 0);
        for (k, i) in (0..pairs).step_by(2).enumerate() {
            self.edge(E_ELEMENT, k as u64, first_key + i);
        }

        for i in 0..pairs {
            self.node(OBJECT, Name::Key as u32, 24, 0);
            let to_value = names + 2 * i as u32 + 1;
            self.edge(E_INTERNAL, to_value as u64, first_value + i);
            self.object_extras();
        }
        for i in 0..pairs {
            self.push_leaf(first_value + i);
        }
        // Odd block lengths leave one slot; fill it so the layout stays exact.
        for l in (3 + 2 * pairs)..b.len {
            self.push_leaf(b.start + l);
        }
    }

    /// Embedder (DOM-like) nodes in a 3-ary tree, some marked detached.
    fn emit_native(&mut self, b: Block) {
        let detachedness = if self.rng.chance(30) { 2 } else { 1 };
        for l in 0..b.len {
            let size = self.rng.below(1000) as u64;
            self.node(NATIVE, Name::Div as u32, size, detachedness);
            for c in (3 * l + 1)..(3 * l + 4).min(b.len) {
                self.edge(E_ELEMENT, (c - 3 * l - 1) as u64, b.start + c);
            }
        }
    }
}

/// V8 numbers heap objects with odd ids; the root is 1.
fn node_id(ordinal: u64) -> u64 {
    2 * ordinal + 1
}

/// Writes `s` as a JSON string, escaping as V8's serializer does (non-ASCII
/// as `\uXXXX`, astral characters as surrogate pairs).
fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{u:04x}").as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}
