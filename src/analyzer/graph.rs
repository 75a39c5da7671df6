//! The parsed heap graph: flat columns indexed by node ordinal and edge
//! ordinal (struct-of-arrays, CSR), never one Rust object per heap node.

use super::allocations::AllocationTraces;
use super::meta::Meta;
use super::strings::StringTable;
use std::collections::HashMap;

/// Byte sizes stored as u32, with the rare value that does not fit kept in a
/// side table: almost every heap object is far below 4 GiB, but a snapshot may
/// report larger native backing stores, and summed sizes must never wrap.
#[derive(Default, Debug, Clone)]
pub struct SizeColumn {
    small: Vec<u32>,
    large: HashMap<u32, u64>,
}

const LARGE: u32 = u32::MAX;

impl SizeColumn {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            small: Vec::with_capacity(n),
            large: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.small.len()
    }

    pub fn is_empty(&self) -> bool {
        self.small.is_empty()
    }

    #[inline]
    pub fn get(&self, i: u32) -> u64 {
        match self.small[i as usize] {
            LARGE => self.large.get(&i).copied().unwrap_or(LARGE as u64),
            v => v as u64,
        }
    }

    #[inline]
    pub fn push(&mut self, v: u64) {
        if v >= LARGE as u64 {
            self.large.insert(self.small.len() as u32, v);
            self.small.push(LARGE);
        } else {
            self.small.push(v as u32);
        }
    }

    #[inline]
    pub fn set(&mut self, i: u32, v: u64) {
        if v >= LARGE as u64 {
            self.large.insert(i, v);
            self.small[i as usize] = LARGE;
        } else {
            if self.small[i as usize] == LARGE {
                self.large.remove(&i);
            }
            self.small[i as usize] = v as u32;
        }
    }

    pub fn shrink(&mut self) {
        self.small.shrink_to_fit();
    }
}

/// Edge targets and types share one u32: ordinal in the high 28 bits, type in
/// the low 4 (16 edge types; 268M nodes, a snapshot of 20 GB or more).
pub const EDGE_TYPE_BITS: u32 = 4;
pub const EDGE_TYPE_MASK: u32 = (1 << EDGE_TYPE_BITS) - 1;
/// Node ordinals are below this, so they fit the 28 bits above and leave the
/// top bit of a u32 free for the flags some phases set on ordinals.
pub const MAX_NODES: u64 = 1 << (32 - EDGE_TYPE_BITS);
/// Edge ordinals and CSR offsets are u32, and the offset one past the last
/// edge must fit too.
pub const MAX_EDGES: u64 = u32::MAX as u64;
/// String indices are u32. The parser accepts this many strings; the
/// analysis adds at most three per node plus a few fixed ones (`Detached`
/// names, class names, inferred interface names), which must still fit.
pub const MAX_STRINGS: u64 = (1 << 32) - (1 << 30);
const _: () = assert!(MAX_STRINGS + 3 * MAX_NODES + 128 <= 1 << 32);

/// Packs an edge's target ordinal (below `MAX_NODES`) and type (below 16).
#[inline]
pub fn pack_edge(target: u32, edge_type: u8) -> u32 {
    (target << EDGE_TYPE_BITS) | (edge_type as u32 & EDGE_TYPE_MASK)
}

#[inline]
pub fn packed_target(packed: u32) -> u32 {
    packed >> EDGE_TYPE_BITS
}

#[inline]
pub fn packed_type(packed: u32) -> u8 {
    (packed & EDGE_TYPE_MASK) as u8
}

/// Node kinds share one byte: type index in the low 6 bits, the embedder's
/// detachedness (0 unknown, 1 attached, 2 detached) in the high 2.
pub const NODE_TYPE_MASK: u8 = 0x3F;

#[derive(Debug)]
pub struct Graph {
    pub meta: Meta,
    pub strings: StringTable,
    pub node_kind: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub self_size: SizeColumn,
    /// `first_edge[n]..first_edge[n+1]` are node `n`'s edges; length `n + 1`.
    pub first_edge: Vec<u32>,
    pub edge_to_type: Vec<u32>,
    pub edge_name: Vec<u32>,
    /// (node ordinal, script id, line, column) for objects with a source position.
    pub locations: Vec<[u32; 4]>,
    /// Allocation stacks, when the snapshot was taken with allocation tracking.
    pub allocations: AllocationTraces,
    pub root: u32,
}

impl Graph {
    #[inline]
    pub fn node_count(&self) -> usize {
        // Not `node_id`: the analysis holds that column packed for a while.
        self.node_kind.len()
    }

    #[inline]
    pub fn edge_count(&self) -> usize {
        self.edge_to_type.len()
    }

    #[inline]
    pub fn node_type(&self, n: u32) -> u8 {
        self.node_kind[n as usize] & NODE_TYPE_MASK
    }

    #[inline]
    pub fn detachedness(&self, n: u32) -> u8 {
        self.node_kind[n as usize] >> 6
    }

    #[inline]
    pub fn edges(&self, n: u32) -> std::ops::Range<usize> {
        self.first_edge[n as usize] as usize..self.first_edge[n as usize + 1] as usize
    }

    #[inline]
    pub fn edge_target(&self, e: usize) -> u32 {
        packed_target(self.edge_to_type[e])
    }

    #[inline]
    pub fn edge_type(&self, e: usize) -> u8 {
        packed_type(self.edge_to_type[e])
    }

    /// Bytes held by the columns (not counting allocator slack).
    pub fn memory_bytes(&self) -> u64 {
        (self.node_kind.capacity()
            + self.node_name.capacity() * 4
            + self.node_id.capacity() * 4
            + self.self_size.len() * 4
            + self.first_edge.capacity() * 4
            + self.edge_to_type.capacity() * 4
            + self.edge_name.capacity() * 4
            + self.locations.capacity() * 16
            + self.allocations.memory_bytes()
            + self.strings.byte_len()
            + self.strings.len() * 8) as u64
    }
}

/// u32 values as LEB128 varints, seven bits a byte: a column held this way
/// while a phase that never reads it runs, so that phase's peak is lower.
pub struct Varints {
    bytes: Vec<u8>,
    count: usize,
}

impl Varints {
    /// For columns of mostly small values (edge names are element indices or
    /// ids of the few thousand property names; self sizes are mostly below
    /// 128): one or two bytes instead of four.
    pub fn pack(values: &[u32]) -> Varints {
        Varints::encode(values, |v| v)
    }

    /// For columns that mostly grow by small steps (node ids go up by 2, edge
    /// offsets by a node's few edges): zigzag deltas, about one byte each,
    /// with any decrease or jump kept exactly.
    pub fn pack_deltas(values: &[u32]) -> Varints {
        let mut prev = 0u32;
        Varints::encode(values, |v| {
            let d = v.wrapping_sub(prev) as i32;
            prev = v;
            ((d << 1) ^ (d >> 31)) as u32
        })
    }

    /// Encodes `map` of each value. A block of values at a time is written
    /// into room for its longest encoding, with the write position in a
    /// local: a push per byte reloads and checks the length every time.
    fn encode(values: &[u32], mut map: impl FnMut(u32) -> u32) -> Varints {
        const BLOCK: usize = 4096;
        const MAX_BYTES: usize = 5;
        // Large blocks are mapped on demand (see `memory`): the reserve costs
        // nothing until written, and the shrink gives the rest back.
        let mut bytes = Vec::with_capacity(values.len() * 2);
        for block in values.chunks(BLOCK) {
            let start = bytes.len();
            bytes.resize(start + block.len() * MAX_BYTES, 0);
            let out = &mut bytes[start..];
            let mut k = 0;
            for &value in block {
                let mut v = map(value);
                while v >= 0x80 {
                    out[k] = v as u8 | 0x80;
                    v >>= 7;
                    k += 1;
                }
                out[k] = v as u8;
                k += 1;
            }
            bytes.truncate(start + k);
        }
        bytes.shrink_to_fit();
        Varints {
            bytes,
            count: values.len(),
        }
    }

    #[inline]
    fn decode(&self, mut f: impl FnMut(u32)) {
        let mut v = 0u32;
        let mut shift = 0;
        for &b in &self.bytes {
            v |= ((b & 0x7F) as u32) << shift;
            if b & 0x80 == 0 {
                f(v);
                v = 0;
                shift = 0;
            } else {
                shift += 7;
            }
        }
    }

    /// Unpacks into `out`'s memory (emptied first): reusing a buffer some
    /// phase just finished with saves faulting in fresh pages, which in a VM
    /// cost more than the decoding.
    pub fn unpack_into(self, mut out: Vec<u32>) -> Vec<u32> {
        out.clear();
        out.reserve(self.count);
        self.decode(|v| out.push(v));
        out
    }

    pub fn unpack_deltas(self) -> Vec<u32> {
        self.unpack_deltas_into(Vec::new())
    }

    /// As `unpack_deltas`, into `out`'s memory (see `unpack_into`).
    pub fn unpack_deltas_into(self, mut out: Vec<u32>) -> Vec<u32> {
        out.clear();
        out.reserve(self.count);
        let mut prev = 0u32;
        self.decode(|z| {
            let d = (z >> 1) as i32 ^ -((z & 1) as i32);
            prev = prev.wrapping_add(d as u32);
            out.push(prev);
        });
        out
    }
}

/// A `SizeColumn` with its u32 part as varints; the side table of large
/// values is kept as it is (it holds a handful of entries).
pub struct PackedSizes {
    small: Varints,
    large: HashMap<u32, u64>,
}

impl SizeColumn {
    pub fn pack(self) -> PackedSizes {
        PackedSizes {
            small: Varints::pack(&self.small),
            large: self.large,
        }
    }
}

impl PackedSizes {
    /// Unpacks into `out`'s memory (see `Varints::unpack_into`).
    pub fn unpack_into(self, out: Vec<u32>) -> SizeColumn {
        SizeColumn {
            small: self.small.unpack_into(out),
            large: self.large,
        }
    }
}

/// The node and edge columns the dominator phase never reads, taken out of
/// the graph (`Graph::take_unread`) and packed while the retainers are built.
pub struct PackedColumns {
    pub edge_name: Varints,
    pub node_name: Varints,
    pub node_id: Varints,
    pub self_size: PackedSizes,
}

pub struct UnreadColumns {
    edge_name: Vec<u32>,
    node_name: Vec<u32>,
    node_id: Vec<u32>,
    self_size: SizeColumn,
}

/// Column buffers a phase has finished with, handed to the next phase that
/// needs buffers of about their size (their pages are already faulted in).
#[derive(Default)]
pub struct SpareBuffers {
    /// One word per edge.
    pub edges: Vec<u32>,
    /// One word per node.
    pub nodes: Vec<u32>,
}

impl UnreadColumns {
    /// Packs one column at a time, freeing each as soon as it is packed,
    /// except for the edge and node names, whose buffers are handed back.
    pub fn pack(self) -> (PackedColumns, SpareBuffers) {
        let UnreadColumns {
            edge_name,
            node_name,
            node_id,
            self_size,
        } = self;
        // Node columns first, so that the edge names, the largest, are
        // packed with the least else still unpacked.
        let packed_node_name = Varints::pack(&node_name);
        let packed_node_id = Varints::pack_deltas(&node_id);
        drop(node_id);
        let packed_self_size = self_size.pack();
        let packed = PackedColumns {
            edge_name: Varints::pack(&edge_name),
            node_name: packed_node_name,
            node_id: packed_node_id,
            self_size: packed_self_size,
        };
        let spare = SpareBuffers {
            edges: edge_name,
            nodes: node_name,
        };
        (packed, spare)
    }
}

impl Graph {
    /// Moves out the columns the dominator phase never reads, leaving them
    /// empty until they are put back.
    pub fn take_unread(&mut self) -> UnreadColumns {
        UnreadColumns {
            edge_name: std::mem::take(&mut self.edge_name),
            node_name: std::mem::take(&mut self.node_name),
            node_id: std::mem::take(&mut self.node_id),
            self_size: std::mem::take(&mut self.self_size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip_across_the_32_bit_boundary() {
        let values = [
            0,
            1,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            1 << 40,
            (1 << 53) - 1,
        ];
        let mut c = SizeColumn::with_capacity(values.len());
        for &v in &values {
            c.push(v);
        }
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(c.get(i as u32), v);
        }
        // Moving sizes between nodes (shallow-size attribution) crosses the
        // boundary both ways, and a large value set back to small must not
        // linger in the side table.
        let last = values.len() as u32 - 1;
        c.set(0, (1 << 33) + 5);
        c.set(last, 7);
        c.set(3, u32::MAX as u64 - 1);
        assert_eq!(c.get(0), (1 << 33) + 5);
        assert_eq!(c.get(last), 7);
        assert_eq!(c.get(3), u32::MAX as u64 - 1);
        assert_eq!(c.large.len(), 3, "2^32, 2^40 and 2^33+5 stay large");
    }

    #[test]
    fn edge_packing_keeps_the_largest_ordinal_and_type() {
        let last = (MAX_NODES - 1) as u32;
        for (target, ty) in [(last, 15), (last, 0), (0, 15), (12_345_678, 6)] {
            let packed = pack_edge(target, ty);
            assert_eq!((packed_target(packed), packed_type(packed)), (target, ty));
        }
        // One ordinal more would lose its top bit: the parser refuses that
        // many nodes before any is packed.
        let beyond = MAX_NODES as u32;
        assert_ne!(packed_target(pack_edge(beyond, 0)), beyond);
    }

    /// Values at every varint width boundary, then many ordinary ones.
    fn widths() -> Vec<u32> {
        [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]
            .into_iter()
            .chain([268_435_455, 268_435_456, u32::MAX - 1, u32::MAX])
            .chain((0..1000).map(|i| i * 7919))
            .collect()
    }

    #[test]
    fn varints_round_trip_every_width() {
        let values = widths();
        let packed = Varints::pack(&values);
        // Seven payload bits per byte, at least one byte.
        let expected: u32 = values
            .iter()
            .map(|v| (32 - v.leading_zeros()).max(1).div_ceil(7))
            .sum();
        assert_eq!(packed.bytes.len(), expected as usize);
        assert_eq!(&packed.bytes[..4], &[0, 1, 127, 0x80]);
        assert_eq!(packed.unpack_into(vec![5; 9]), values);
        assert_eq!(Varints::pack(&[]).unpack_into(vec![5]), Vec::<u32>::new());
        // A reused buffer's old contents, longer or shorter, never show.
        for stale in [vec![7; 3], vec![7; values.len() * 2]] {
            assert_eq!(Varints::pack(&values).unpack_into(stale), values);
        }
        assert!(Varints::pack(&[]).unpack_into(vec![7; 9]).is_empty());
    }

    #[test]
    fn deltas_round_trip_jumps_and_decreases() {
        // Ids as V8 numbers them (odd, rising by 2) take one byte each.
        let ids: Vec<u32> = (0..10_000).map(|o| 2 * o + 1).collect();
        let packed = Varints::pack_deltas(&ids);
        assert_eq!(packed.bytes.len(), ids.len());
        assert_eq!(packed.unpack_deltas(), ids);

        // Any order survives: falls to 0, jumps across the whole range in
        // both directions, repeats, and the width boundaries shuffled.
        let mut wild = vec![5, 3, 3, 0, u32::MAX, 0, u32::MAX, u32::MAX - 1, 1 << 31, 7];
        wild.extend(widths().iter().rev());
        wild.extend(widths());
        let packed = Varints::pack_deltas(&wild);
        assert_eq!(packed.unpack_deltas(), wild);
        assert_eq!(Varints::pack_deltas(&[]).unpack_deltas(), Vec::<u32>::new());
        assert_eq!(
            Varints::pack_deltas(&[u32::MAX]).unpack_deltas(),
            [u32::MAX]
        );
    }

    #[test]
    fn packed_sizes_keep_the_large_values() {
        let values = [
            0,
            1,
            127,
            128,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            6_000_000_000,
            (1 << 53) - 1,
            300,
        ];
        let mut c = SizeColumn::with_capacity(values.len());
        for &v in &values {
            c.push(v);
        }
        let c = c.pack().unpack_into(vec![7; 3]);
        assert_eq!(c.len(), values.len());
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(c.get(i as u32), v);
        }
        assert_eq!(
            c.large.len(),
            4,
            "u32::MAX and above stay in the side table"
        );
        assert!(SizeColumn::default()
            .pack()
            .unpack_into(Vec::new())
            .is_empty());
    }

    #[test]
    fn unread_columns_come_back_unchanged() {
        let ids: Vec<u32> = vec![1, 3, 5, 4_000_000_001, 9, u32::MAX, 0];
        let names: Vec<u32> = vec![0, 17, u32::MAX, 128, 5, 6, 7];
        let edge_names: Vec<u32> = widths();
        let mut sizes = SizeColumn::with_capacity(ids.len());
        for v in [0, 40, 1 << 40, 16, u32::MAX as u64, 3, 0] {
            sizes.push(v);
        }
        let (packed, spare) = UnreadColumns {
            edge_name: edge_names.clone(),
            node_name: names.clone(),
            node_id: ids.clone(),
            self_size: sizes,
        }
        .pack();
        // The name columns' buffers come back for reuse, whatever they hold.
        assert_eq!(spare.edges.len(), edge_names.len());
        assert_eq!(spare.nodes.len(), names.len());
        assert_eq!(packed.node_id.unpack_deltas(), ids);
        assert_eq!(packed.node_name.unpack_into(spare.nodes), names);
        assert_eq!(packed.edge_name.unpack_into(spare.edges), edge_names);
        let sizes = packed.self_size.unpack_into(Vec::new());
        let got: Vec<u64> = (0..ids.len() as u32).map(|o| sizes.get(o)).collect();
        assert_eq!(got, [0, 40, 1 << 40, 16, u32::MAX as u64, 3, 0]);
    }
}
