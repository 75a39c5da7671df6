//! The parsed heap graph: flat columns indexed by node ordinal and edge
//! ordinal (struct-of-arrays, CSR), never one Rust object per heap node.

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
    pub root: u32,
}

impl Graph {
    #[inline]
    pub fn node_count(&self) -> usize {
        self.node_id.len()
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
            + self.strings.byte_len()
            + self.strings.len() * 8) as u64
    }
}

/// Edge names as LEB128 varints: most are small element indices or ids of
/// the few thousand property names, so this takes about half the bytes of
/// the `u32` column. The dominator phase, which never reads names but has the
/// most memory live, runs while the column is held in this form.
pub struct PackedNames(Vec<u8>);

impl PackedNames {
    pub fn pack(names: &[u32]) -> PackedNames {
        let mut out = Vec::with_capacity(names.len() * 2);
        for &v in names {
            let mut v = v;
            while v >= 0x80 {
                out.push(v as u8 | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        out.shrink_to_fit();
        PackedNames(out)
    }

    pub fn unpack(self, count: usize) -> Vec<u32> {
        let mut names = Vec::with_capacity(count);
        let mut v = 0u32;
        let mut shift = 0;
        for &b in &self.0 {
            v |= ((b & 0x7F) as u32) << shift;
            if b & 0x80 == 0 {
                names.push(v);
                v = 0;
                shift = 0;
            } else {
                shift += 7;
            }
        }
        names
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

    #[test]
    fn packed_names_round_trip_every_width() {
        let names: Vec<u32> = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]
            .into_iter()
            .chain([268_435_455, 268_435_456, u32::MAX - 1, u32::MAX])
            .chain((0..1000).map(|i| i * 7919))
            .collect();
        let packed = PackedNames::pack(&names);
        // Seven payload bits per byte, at least one byte.
        let expected: u32 = names
            .iter()
            .map(|v| (32 - v.leading_zeros()).max(1).div_ceil(7))
            .sum();
        assert_eq!(packed.0.len(), expected as usize);
        assert_eq!(&packed.0[..4], &[0, 1, 127, 0x80]);
        assert_eq!(packed.unpack(names.len()), names);
    }
}
