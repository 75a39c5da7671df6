//! Deterministic synthetic V8 heap snapshots, shaped like real Node heaps.
//!
//! Used by `benches/engine.rs`; kept free of timing code so tests and fuzz
//! targets can include it (`#[path = "../benches/synth/mod.rs"] mod synth;`).
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
//! - a few blocks nothing strong points to.

use std::fmt::Write as _;

/// splitmix64: tiny, fast, and fully determined by its seed.
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

const NODE_FIELDS: usize = 7;

/// Node 20's meta, detachedness and locations included.
const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

const SUB_ROOTS: [&str; 6] = [
    "(Strong roots)",
    "(Internalized strings)",
    "(Handle scope)",
    "(Stack roots)",
    "(Compilation cache)",
    "(Builtins)",
];
const GLOBALS: usize = 2;
const SHAPES: usize = 512;
const CODES: usize = 1024;
const INTERNALIZED: usize = 4096;
const PROPERTY_NAMES: usize = 2000;
const CLASS_NAMES: usize = 300;

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

/// The string table, deduplicating as V8 does.
struct Strings {
    list: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Strings {
    fn new() -> Strings {
        let mut s = Strings {
            list: Vec::new(),
            index: std::collections::HashMap::new(),
        };
        s.get("");
        s
    }
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// A generated snapshot: its JSON bytes and what it holds.
pub struct Synthetic {
    pub json: Vec<u8>,
    pub nodes: usize,
    pub edges: usize,
}

struct Builder {
    rng: Rng,
    strings: Strings,
    blocks: Vec<Block>,
    // Node columns, in file order.
    node_type: Vec<u8>,
    node_name: Vec<u32>,
    self_size: Vec<u32>,
    edge_count: Vec<u32>,
    detachedness: Vec<u8>,
    // Edges, grouped by source node in node order (as the format requires).
    edges: Vec<(u8, u32, u32)>,
    locations: Vec<[u32; 4]>,
    total: usize,
    bulk_start: usize,
}

// Fixed node index layout: the root (0), (GC roots), sub-roots, globals, pools, then blocks.
const GC_ROOTS: usize = 1;
const FIRST_SUB_ROOT: usize = 2;
const FIRST_GLOBAL: usize = FIRST_SUB_ROOT + SUB_ROOTS.len();
const FIRST_SHAPE: usize = FIRST_GLOBAL + GLOBALS;
const FIRST_CODE: usize = FIRST_SHAPE + SHAPES;
const FIRST_INTERNALIZED: usize = FIRST_CODE + CODES;
const BULK_START: usize = FIRST_INTERNALIZED + INTERNALIZED;

/// Builds a snapshot of about `target_nodes` nodes (at least a few thousand),
/// the same bytes for the same arguments.
pub fn generate(target_nodes: usize, seed: u64) -> Synthetic {
    let total = target_nodes.max(BULK_START + 1000);
    let mut b = Builder {
        rng: Rng::new(seed),
        strings: Strings::new(),
        blocks: Vec::new(),
        node_type: Vec::with_capacity(total),
        node_name: Vec::with_capacity(total),
        self_size: Vec::with_capacity(total),
        edge_count: Vec::with_capacity(total),
        detachedness: Vec::with_capacity(total),
        edges: Vec::with_capacity(total * 5),
        locations: Vec::new(),
        total,
        bulk_start: BULK_START,
    };
    b.plan_blocks();
    b.emit_fixed();
    for k in 0..b.blocks.len() {
        b.emit_block(b.blocks[k]);
    }
    debug_assert_eq!(b.node_type.len(), total);
    b.into_json()
}

impl Builder {
    fn plan_blocks(&mut self) {
        let mut start = self.bulk_start;
        while start < self.total {
            let roll = self.rng.below(100);
            let (kind, len) = match roll {
                0..=59 => (Kind::Tree, 50 + self.rng.below(2000)),
                60..=71 => (Kind::Chain, 2 * (100 + self.rng.below(20_000))),
                72..=81 => (Kind::Ring, 100 + self.rng.below(10_000)),
                82..=91 => (Kind::WeakMap, 3 + 2 * (10 + self.rng.below(500))),
                _ => (Kind::Native, 20 + self.rng.below(500)),
            };
            let len = len.min(self.total - start);
            // Tail blocks too small for their shape become trees, which fit any size.
            let kind = if len < 30 { Kind::Tree } else { kind };
            let attach = match self.rng.below(100) {
                0..=69 => Attach::Global(self.rng.below(GLOBALS)),
                70..=97 => Attach::SubRoot(self.rng.below(SUB_ROOTS.len())),
                _ => Attach::Nothing,
            };
            self.blocks.push(Block {
                start,
                len,
                kind,
                attach,
            });
            start += len;
        }
    }

    fn push_node(&mut self, ty: u8, name: u32, size: u32) {
        self.node_type.push(ty);
        self.node_name.push(name);
        self.self_size.push(size);
        self.edge_count.push(0);
        self.detachedness.push(0);
    }

    /// Adds an edge from the node pushed last.
    fn edge(&mut self, ty: u8, name_or_index: u32, to: usize) {
        *self.edge_count.last_mut().expect("a node") += 1;
        self.edges.push((ty, name_or_index, to as u32));
    }

    fn named_edge(&mut self, ty: u8, name: &str, to: usize) {
        let s = self.strings.get(name);
        self.edge(ty, s, to);
    }

    fn random_bulk(&mut self) -> usize {
        self.bulk_start + self.rng.below(self.total - self.bulk_start)
    }

    fn property_name(&mut self) -> u32 {
        let k = self.rng.below(PROPERTY_NAMES);
        self.strings.get(&format!("prop{k}"))
    }

    fn attached(&self, attach: Attach) -> Vec<usize> {
        self.blocks
            .iter()
            .filter(|b| b.attach == attach)
            .map(|b| b.start)
            .collect()
    }

    fn emit_fixed(&mut self) {
        let empty = self.strings.get("");
        self.push_node(SYNTHETIC, empty, 0);
        self.edge(E_ELEMENT, 1, GC_ROOTS);
        for g in 0..GLOBALS {
            let name = self.strings.get("global");
            self.edge(E_SHORTCUT, name, FIRST_GLOBAL + g);
        }

        let gc = self.strings.get("(GC roots)");
        self.push_node(SYNTHETIC, gc, 0);
        for s in 0..SUB_ROOTS.len() {
            self.edge(E_ELEMENT, s as u32 + 1, FIRST_SUB_ROOT + s);
        }

        for (s, name) in SUB_ROOTS.iter().enumerate() {
            let n = self.strings.get(name);
            self.push_node(SYNTHETIC, n, 0);
            let mut index = 1;
            // The pools belong to the first two sub-roots, as V8's strong roots and string table.
            let pool = match s {
                0 => FIRST_SHAPE..FIRST_INTERNALIZED,
                1 => FIRST_INTERNALIZED..BULK_START,
                _ => 0..0,
            };
            for to in pool {
                self.edge(E_ELEMENT, index, to);
                index += 1;
            }
            for to in self.attached(Attach::SubRoot(s)) {
                self.edge(E_ELEMENT, index, to);
                index += 1;
            }
        }

        for g in 0..GLOBALS {
            let name = self.strings.get(if g == 0 { "global" } else { "Window" });
            self.push_node(OBJECT, name, 9504);
            let map = FIRST_SHAPE + self.rng.below(SHAPES);
            self.named_edge(E_INTERNAL, "map", map);
            for (k, to) in self.attached(Attach::Global(g)).into_iter().enumerate() {
                self.named_edge(E_PROPERTY, &format!("module{k}"), to);
            }
        }

        let shape = self.strings.get("system / Map");
        for _ in 0..SHAPES {
            let size = 40 + 8 * self.rng.below(8) as u32;
            self.push_node(SHAPE, shape, size);
        }
        for k in 0..CODES {
            let name = self.strings.get(&format!("fn{k}"));
            let size = 100 + self.rng.below(5000) as u32;
            self.push_node(CODE, name, size);
        }
        for k in 0..INTERNALIZED {
            let name = self.strings.get(&format!("key{k}"));
            self.push_node(STRING, name, 16 + (k % 32) as u32);
        }
    }

    fn emit_block(&mut self, b: Block) {
        match b.kind {
            Kind::Tree => self.emit_tree(b),
            Kind::Chain => self.emit_chain(b),
            Kind::Ring => self.emit_ring(b),
            Kind::WeakMap => self.emit_weak_map(b),
            Kind::Native => self.emit_native(b),
        }
    }

    /// Outgoing edges every object-like node gets besides its structure: its
    /// map, a few shared strings (real heaps average ~6 edges per node), often
    /// a reference elsewhere, sometimes a weak one.
    fn object_extras(&mut self) {
        let map = FIRST_SHAPE + self.rng.below(SHAPES);
        self.named_edge(E_INTERNAL, "map", map);
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
            self.named_edge(E_WEAK, "weak", to);
        }
    }

    /// A leaf value: a string (sometimes with characters JSON must escape),
    /// a concatenated string of two internalized ones, or a heap number.
    fn push_leaf(&mut self, at: usize) {
        match self.rng.below(10) {
            0..=5 => {
                let text = match self.rng.below(20) {
                    0 => format!("quote \"{at}\" back\\slash\nnewline"),
                    1 => format!("caf\u{e9} {at} \u{1F600} \u{1D11E}"),
                    _ => format!("value {at} of {}", self.rng.below(1000)),
                };
                let name = self.strings.get(&text);
                self.push_node(STRING, name, 16 + text.len() as u32);
            }
            6..=7 => {
                let name = self.strings.get("(concatenated string)");
                self.push_node(CONCAT, name, 32);
                let (a, b) = (self.rng.below(INTERNALIZED), self.rng.below(INTERNALIZED));
                self.named_edge(E_INTERNAL, "first", FIRST_INTERNALIZED + a);
                self.named_edge(E_INTERNAL, "second", FIRST_INTERNALIZED + b);
            }
            _ => {
                let name = self.strings.get("heap number");
                self.push_node(NUMBER, name, 16);
            }
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
                let name = self.strings.get("Array");
                self.push_node(ARRAY, name, 16 + 8 * children.len() as u32);
                for (i, c) in children.enumerate() {
                    self.edge(E_ELEMENT, i as u32, b.start + c);
                }
            } else {
                self.push_object(at, 24 + 8 * children.len() as u32);
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
    fn push_object(&mut self, at: usize, size: u32) {
        if self.rng.chance(40) {
            let name = self.strings.get("Object");
            self.push_node(OBJECT, name, size);
            return;
        }
        let k = self.rng.below(CLASS_NAMES);
        let name = self.strings.get(&format!("Class{k}"));
        self.push_node(OBJECT, name, size);
        self.locations
            .push([(at * NODE_FIELDS) as u32, 100 + (k % 7) as u32, k as u32, 4]);
    }

    /// A closure with a context and code, and a source location.
    fn push_closure(&mut self, at: usize) {
        let k = self.rng.below(CODES);
        let name = self.strings.get(&format!("fn{k}"));
        self.push_node(CLOSURE, name, 32);
        self.named_edge(E_INTERNAL, "code", FIRST_CODE + k);
        let (name, to) = (self.property_name(), self.random_bulk());
        self.edge(E_CONTEXT, name, to);
        self.object_extras();
        self.locations.push([
            (at * NODE_FIELDS) as u32,
            1 + (k % 40) as u32,
            k as u32,
            (at % 80) as u32,
        ]);
    }

    /// A singly linked list: even slots are list nodes (`next`, `value`),
    /// odd slots their values. Depth is half the block's length.
    fn emit_chain(&mut self, b: Block) {
        let class = self.strings.get("ListNode");
        for l in 0..b.len {
            let at = b.start + l;
            if l % 2 == 1 {
                self.push_leaf(at);
                continue;
            }
            self.push_node(OBJECT, class, 32);
            if l + 2 < b.len {
                self.named_edge(E_PROPERTY, "next", at + 2);
            }
            if l + 1 < b.len {
                self.named_edge(E_PROPERTY, "value", at + 1);
            }
            self.object_extras();
        }
    }

    /// A doubly linked ring: one long strongly connected cycle.
    fn emit_ring(&mut self, b: Block) {
        let class = self.strings.get("RingNode");
        for l in 0..b.len {
            self.push_node(OBJECT, class, 40);
            let next = b.start + (l + 1) % b.len;
            let prev = b.start + (l + b.len - 1) % b.len;
            self.named_edge(E_PROPERTY, "next", next);
            self.named_edge(E_PROPERTY, "prev", prev);
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
        let table_id = node_id(table);
        let pair_name = |i: usize| {
            format!(
                "part of key (Key @{}) -> value (Value @{}) pair in WeakMap (table @{table_id})",
                node_id(first_key + i),
                node_id(first_value + i)
            )
        };

        let name = self.strings.get("WeakMap");
        self.push_node(OBJECT, name, 24);
        self.named_edge(E_INTERNAL, "table", table);
        self.object_extras();

        let name = self.strings.get("system / EphemeronHashTable");
        self.push_node(HIDDEN, name, 16 + 16 * pairs as u32);
        for i in 0..pairs {
            let tail = pair_name(i);
            self.named_edge(E_INTERNAL, &format!("{} / {tail}", 2 * i), first_key + i);
            self.named_edge(
                E_INTERNAL,
                &format!("{} / {tail}", 2 * i + 1),
                first_value + i,
            );
        }

        let name = self.strings.get("Array");
        self.push_node(ARRAY, name, 16 + 8 * pairs.div_ceil(2) as u32);
        for (k, i) in (0..pairs).step_by(2).enumerate() {
            self.edge(E_ELEMENT, k as u32, first_key + i);
        }

        let key = self.strings.get("Key");
        for i in 0..pairs {
            self.push_node(OBJECT, key, 24);
            self.named_edge(
                E_INTERNAL,
                &format!("{} / {}", 2 * i + 1, pair_name(i)),
                first_value + i,
            );
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
        let detached = self.rng.chance(30);
        let name = self.strings.get("HTMLDivElement");
        for l in 0..b.len {
            let size = self.rng.below(1000) as u32;
            self.push_node(NATIVE, name, size);
            *self.detachedness.last_mut().expect("a node") = if detached { 2 } else { 1 };
            for c in (3 * l + 1)..(3 * l + 4).min(b.len) {
                self.edge(E_ELEMENT, (c - 3 * l - 1) as u32, b.start + c);
            }
        }
    }

    fn into_json(self) -> Synthetic {
        let nodes = self.node_type.len();
        let edges = self.edges.len();
        let mut out = String::with_capacity(nodes * 40 + edges * 20);
        write!(
            out,
            "{{\"snapshot\":{{\"meta\":{META},\"node_count\":{nodes},\"edge_count\":{edges},\"trace_function_count\":0}},\n\"nodes\":["
        )
        .unwrap();
        for i in 0..nodes {
            let sep = if i == 0 { "" } else { "\n," };
            write!(
                out,
                "{sep}{},{},{},{},{},0,{}",
                self.node_type[i],
                self.node_name[i],
                node_id(i),
                self.self_size[i],
                self.edge_count[i],
                self.detachedness[i]
            )
            .unwrap();
        }
        out.push_str("],\n\"edges\":[");
        for (i, &(ty, name, to)) in self.edges.iter().enumerate() {
            let sep = if i == 0 { "" } else { "\n," };
            write!(out, "{sep}{ty},{name},{}", to as usize * NODE_FIELDS).unwrap();
        }
        out.push_str("],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[");
        for (i, l) in self.locations.iter().enumerate() {
            let sep = if i == 0 { "" } else { "\n," };
            write!(out, "{sep}{},{},{},{}", l[0], l[1], l[2], l[3]).unwrap();
        }
        out.push_str("],\n\"strings\":[");
        for (i, s) in self.strings.list.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            json_string(&mut out, s);
        }
        out.push_str("]}\n");
        Synthetic {
            json: out.into_bytes(),
            nodes,
            edges,
        }
    }
}

/// V8 numbers heap objects with odd ids; the root is 1.
fn node_id(ordinal: usize) -> u64 {
    2 * ordinal as u64 + 1
}

/// Writes `s` as a JSON string, escaping as V8's serializer does (non-ASCII
/// as `\uXXXX`, astral characters as surrogate pairs).
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(out, "\\u{:04x}", u).unwrap();
                }
            }
        }
    }
    out.push('"');
}
