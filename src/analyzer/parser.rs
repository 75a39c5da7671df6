//! A push parser for V8 `.heapsnapshot` JSON.
//!
//! One state machine serves every source: a file read in chunks, a Buffer fed
//! whole, and a stream of chunks from `v8.getHeapSnapshot()`. The text is never
//! held in memory; integer arrays go straight into graph columns and strings
//! into one WTF-8 blob. Every count taken from the file is checked before it
//! sizes an allocation or indexes a column.

use super::error::{Result, SnapshotError};
use super::graph::{Graph, SizeColumn, EDGE_TYPE_BITS, MAX_NODES};
use super::meta::{EdgeField, LocationField, Meta, NodeField};
use super::strings::{push_code_point, StringTable};
use crate::fault::{self, Site};

/// Above 2^53 a JavaScript consumer could not represent the value exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// The `snapshot` header is a few KB; anything this large is not a snapshot.
const MAX_HEADER_BYTES: usize = 16 << 20;
/// Pre-allocation from a declared count is capped so that a lying header
/// cannot make us reserve gigabytes; real data grows the columns as it comes.
const MAX_TRUSTED_RESERVE: u64 = 1 << 22;
/// Integers buffered before records are validated and stored in bulk.
const STAGED_VALUES: usize = 1 << 14;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Top {
    Start,
    FirstKey,
    NextKey,
    Key,
    Colon,
    Value,
    AfterValue,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Header,
    Nodes,
    Edges,
    Locations,
    Strings,
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArrayPhase {
    Open,
    FirstItem,
    Item,
    InItem,
    AfterItem,
}

#[derive(Default)]
struct GenericScan {
    started: bool,
    depth: u64,
    in_string: bool,
    escape: bool,
    scalar: bool,
}

#[derive(Default)]
struct Utf8State {
    needed: u8,
    seen: u8,
    cp: u32,
    lower: u8,
    upper: u8,
}

#[derive(Default)]
struct StringScan {
    escape: u8,
    hex: u32,
    pending_high: Option<u32>,
    utf8: Utf8State,
}

pub struct Parser {
    consumed: u64,
    /// Leading bytes that matched the byte order mark so far.
    bom_matched: u8,
    top: Top,
    section: Section,
    key: Vec<u8>,
    key_escape: bool,
    generic: GenericScan,
    header: Vec<u8>,
    phase: ArrayPhase,
    num: u64,
    str_scan: StringScan,
    meta: Option<Meta>,
    size_hint: Option<u64>,
    nodes_done: bool,
    edges_done: bool,
    strings_done: bool,
    // Columns under construction.
    node_kind: Vec<u8>,
    node_name: Vec<u32>,
    node_id: Vec<u32>,
    self_size: SizeColumn,
    edge_counts: Vec<u32>,
    edge_to_type: Vec<u32>,
    edge_name: Vec<u32>,
    locations: Vec<[u32; 4]>,
    strings: StringTable,
    node_type_count: u8,
    edge_type_count: u8,
    node_field_count: u64,
    num_digits: u32,
    staged: Vec<u64>,
    node_roles: Vec<NodeField>,
    edge_roles: Vec<EdgeField>,
    location_roles: Vec<LocationField>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    pub fn new() -> Self {
        Parser {
            consumed: 0,
            bom_matched: 0,
            top: Top::Start,
            section: Section::Skip,
            key: Vec::new(),
            key_escape: false,
            generic: GenericScan::default(),
            header: Vec::new(),
            phase: ArrayPhase::Open,
            num: 0,
            str_scan: StringScan::default(),
            meta: None,
            size_hint: None,
            nodes_done: false,
            edges_done: false,
            strings_done: false,
            node_kind: Vec::new(),
            node_name: Vec::new(),
            node_id: Vec::new(),
            self_size: SizeColumn::default(),
            edge_counts: Vec::new(),
            edge_to_type: Vec::new(),
            edge_name: Vec::new(),
            locations: Vec::new(),
            strings: StringTable::new(),
            node_type_count: 0,
            edge_type_count: 0,
            node_field_count: 1,
            num_digits: 0,
            staged: Vec::new(),
            node_roles: Vec::new(),
            edge_roles: Vec::new(),
            location_roles: Vec::new(),
        }
    }

    /// Total input length, when known, bounds what a declared count may reserve.
    pub fn with_size_hint(mut self, bytes: u64) -> Self {
        self.size_hint = Some(bytes);
        self
    }

    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    fn syntax(&self, at: usize, message: impl Into<String>) -> SnapshotError {
        SnapshotError::Syntax {
            offset: self.consumed + at as u64,
            message: message.into(),
        }
    }

    fn inconsistent(&self, message: String) -> SnapshotError {
        SnapshotError::Inconsistent(message)
    }

    fn range(&self, at: usize, message: impl Into<String>) -> SnapshotError {
        SnapshotError::NumberRange {
            offset: self.consumed + at as u64,
            message: message.into(),
        }
    }

    /// Feeds the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        fault::inject(Site::Parser);
        let skip = self.skip_bom(chunk)?;
        let r = self.feed_inner(&chunk[skip..], skip);
        self.consumed += chunk.len() as u64;
        r
    }

    /// Matches a UTF-8 byte order mark at the very start of the file, which
    /// a stream may deliver split over chunks; returns the bytes to skip.
    fn skip_bom(&mut self, chunk: &[u8]) -> Result<usize> {
        if self.bom_matched as u64 != self.consumed || self.bom_matched as usize == BOM.len() {
            return Ok(0);
        }
        let mut skip = 0;
        while skip < chunk.len() && (self.bom_matched as usize) < BOM.len() {
            if chunk[skip] != BOM[self.bom_matched as usize] {
                if self.bom_matched == 0 {
                    break;
                }
                // Part of a mark is no mark: the file does not open with `{`.
                return Err(SnapshotError::Syntax {
                    offset: 0,
                    message: "expected `{` at the start of a heap snapshot".into(),
                });
            }
            self.bom_matched += 1;
            skip += 1;
        }
        Ok(skip)
    }

    fn feed_inner(&mut self, buf: &[u8], base: usize) -> Result<()> {
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            match self.top {
                Top::Start => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'{' {
                        self.top = Top::FirstKey;
                        i += 1;
                    } else {
                        return Err(
                            self.syntax(base + i, "expected `{` at the start of a heap snapshot")
                        );
                    }
                }
                Top::FirstKey | Top::NextKey => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'"' {
                        self.key.clear();
                        self.key_escape = false;
                        self.top = Top::Key;
                        i += 1;
                    } else if b == b'}' && self.top == Top::FirstKey {
                        self.top = Top::Done;
                        i += 1;
                    } else {
                        return Err(self.syntax(base + i, "expected a property name"));
                    }
                }
                Top::Key => {
                    if self.key_escape {
                        self.key_escape = false;
                    } else if b == b'\\' {
                        self.key_escape = true;
                    } else if b == b'"' {
                        self.top = Top::Colon;
                        i += 1;
                        continue;
                    }
                    if self.key.len() < 256 {
                        self.key.push(b);
                    }
                    i += 1;
                }
                Top::Colon => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b':' {
                        self.begin_value(base + i)?;
                        i += 1;
                    } else {
                        return Err(self.syntax(base + i, "expected `:`"));
                    }
                }
                Top::Value => {
                    let (next, done) = match self.section {
                        Section::Header | Section::Skip => self.scan_generic(buf, i, base)?,
                        Section::Nodes | Section::Edges | Section::Locations => {
                            self.scan_ints(buf, i, base)?
                        }
                        Section::Strings => self.scan_strings(buf, i, base)?,
                    };
                    i = next;
                    if done {
                        self.end_value(base + i)?;
                        self.top = Top::AfterValue;
                    }
                }
                Top::AfterValue => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b',' {
                        self.top = Top::NextKey;
                        i += 1;
                    } else if b == b'}' {
                        self.top = Top::Done;
                        i += 1;
                    } else {
                        return Err(self.syntax(base + i, "expected `,` or `}` after a value"));
                    }
                }
                Top::Done => {
                    if is_ws(b) || b == 0 {
                        i += 1;
                    } else {
                        return Err(
                            self.syntax(base + i, "unexpected data after the end of the snapshot")
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn begin_value(&mut self, at: usize) -> Result<()> {
        self.top = Top::Value;
        self.generic = GenericScan::default();
        self.phase = ArrayPhase::Open;
        self.num = 0;
        self.staged.clear();
        let key = std::mem::take(&mut self.key);
        self.section = match key.as_slice() {
            b"snapshot" => {
                if self.meta.is_some() {
                    return Err(self.syntax(at, "`snapshot` appears twice"));
                }
                Section::Header
            }
            b"nodes" | b"edges" | b"locations" => {
                let Some(meta) = self.meta.as_ref() else {
                    return Err(SnapshotError::Meta(format!(
                        "`{}` comes before `snapshot.meta`",
                        String::from_utf8_lossy(&key)
                    )));
                };
                match key.as_slice() {
                    b"nodes" => {
                        if self.nodes_done {
                            return Err(self.syntax(at, "`nodes` appears twice"));
                        }
                        let reserve =
                            self.reserve_for(meta.node_count, meta.node_fields.len() as u64 * 2);
                        self.node_kind.reserve(reserve);
                        self.node_name.reserve(reserve);
                        self.node_id.reserve(reserve);
                        self.self_size = SizeColumn::with_capacity(reserve);
                        self.edge_counts.reserve(reserve + 1);
                        Section::Nodes
                    }
                    b"edges" => {
                        if !self.nodes_done {
                            return Err(SnapshotError::Meta("`edges` comes before `nodes`".into()));
                        }
                        if self.edges_done {
                            return Err(self.syntax(at, "`edges` appears twice"));
                        }
                        let reserve =
                            self.reserve_for(meta.edge_count, meta.edge_fields.len() as u64 * 2);
                        self.edge_to_type.reserve(reserve);
                        self.edge_name.reserve(reserve);
                        Section::Edges
                    }
                    _ => {
                        if !self.nodes_done {
                            return Err(SnapshotError::Meta(
                                "`locations` comes before `nodes`".into(),
                            ));
                        }
                        if meta.location_fields.is_empty() {
                            Section::Skip
                        } else {
                            Section::Locations
                        }
                    }
                }
            }
            b"strings" => {
                if self.strings_done {
                    return Err(self.syntax(at, "`strings` appears twice"));
                }
                Section::Strings
            }
            _ => Section::Skip,
        };
        self.key = key;
        Ok(())
    }

    fn reserve_for(&self, declared: u64, min_bytes_per_item: u64) -> usize {
        let plausible = match self.size_hint {
            Some(bytes) => bytes / min_bytes_per_item.max(1),
            None => MAX_TRUSTED_RESERVE,
        };
        declared.min(plausible).min(MAX_NODES) as usize
    }

    fn end_value(&mut self, at: usize) -> Result<()> {
        match self.section {
            Section::Header => {
                let header = std::mem::take(&mut self.header);
                let meta = Meta::parse(&header)?;
                self.node_type_count = meta.node_types.len() as u8;
                self.edge_type_count = meta.edge_types.len() as u8;
                self.node_field_count = meta.node_fields.len() as u64;
                self.node_roles = meta.node_fields.clone();
                self.edge_roles = meta.edge_fields.clone();
                self.location_roles = meta.location_fields.clone();
                self.meta = Some(meta);
            }
            Section::Nodes => {
                if !self.staged.is_empty() {
                    return Err(self.inconsistent(format!(
                        "nodes array length is not a multiple of {} fields",
                        self.node_field_count
                    )));
                }
                self.nodes_done = true;
            }
            Section::Edges => {
                if !self.staged.is_empty() {
                    return Err(self.inconsistent(
                        "edges array length is not a multiple of its fields".into(),
                    ));
                }
                self.edges_done = true;
            }
            Section::Locations => {
                if !self.staged.is_empty() {
                    return Err(self.inconsistent(
                        "locations array length is not a multiple of its fields".into(),
                    ));
                }
            }
            Section::Strings => {
                self.strings_done = true;
            }
            Section::Skip => {}
        }
        let _ = at;
        Ok(())
    }

    /// Skips (or, for the header, captures) one JSON value of any shape.
    fn scan_generic(&mut self, buf: &[u8], mut i: usize, base: usize) -> Result<(usize, bool)> {
        let capture = self.section == Section::Header;
        let start = i;
        let mut done = false;
        while i < buf.len() {
            let b = buf[i];
            let g = &mut self.generic;
            if !g.started {
                if is_ws(b) {
                    i += 1;
                    continue;
                }
                g.started = true;
                match b {
                    b'{' | b'[' => g.depth = 1,
                    b'"' => g.in_string = true,
                    b'}' | b']' | b',' | b':' => {
                        return Err(self.syntax(base + i, "expected a value"));
                    }
                    _ => g.scalar = true,
                }
                i += 1;
                continue;
            }
            if g.scalar {
                if matches!(b, b',' | b'}' | b']') || is_ws(b) {
                    done = true;
                    break;
                }
                i += 1;
                continue;
            }
            if g.in_string {
                if g.escape {
                    g.escape = false;
                } else if b == b'\\' {
                    g.escape = true;
                } else if b == b'"' {
                    g.in_string = false;
                    if g.depth == 0 {
                        i += 1;
                        done = true;
                        break;
                    }
                }
                i += 1;
                continue;
            }
            match b {
                b'{' | b'[' => g.depth += 1,
                b'}' | b']' => {
                    g.depth -= 1;
                    if g.depth == 0 {
                        i += 1;
                        done = true;
                        break;
                    }
                }
                b'"' => g.in_string = true,
                _ => {}
            }
            i += 1;
        }
        if capture {
            if self.header.len() + (i - start) > MAX_HEADER_BYTES {
                return Err(self.syntax(base + i, "the `snapshot` header is implausibly large"));
            }
            self.header.extend_from_slice(&buf[start..i]);
        }
        Ok((i, done))
    }

    /// Reads a flat array of non-negative integers into the current section.
    fn scan_ints(&mut self, buf: &[u8], mut i: usize, base: usize) -> Result<(usize, bool)> {
        while i < buf.len() {
            let b = buf[i];
            match self.phase {
                ArrayPhase::InItem => {
                    // Hot loop: digits of one number. Up to 15 digits cannot
                    // exceed 2^53, so the bound is checked once, after the run.
                    let mut num = self.num;
                    let run_start = i;
                    while i < buf.len() {
                        let d = buf[i].wrapping_sub(b'0');
                        if d > 9 {
                            break;
                        }
                        num = num.wrapping_mul(10).wrapping_add(d as u64);
                        i += 1;
                    }
                    self.num_digits += (i - run_start) as u32;
                    if self.num_digits > 15 && (self.num_digits > 19 || num > MAX_SAFE_INTEGER) {
                        // Reported at the number's first digit: where its
                        // digits end depends on how the input was chunked.
                        return Err(SnapshotError::NumberRange {
                            offset: self.consumed + (base + i) as u64 - self.num_digits as u64,
                            message: "integer exceeds 2^53".into(),
                        });
                    }
                    self.num = num;
                    if i == buf.len() {
                        break;
                    }
                    let b = buf[i];
                    if b == b',' {
                        self.stage(base + i)?;
                        i += 1;
                        if i < buf.len() && buf[i].is_ascii_digit() {
                            self.num = 0;
                            self.num_digits = 0;
                        } else {
                            self.phase = ArrayPhase::Item;
                        }
                    } else if b == b']' {
                        self.stage(base + i)?;
                        self.flush_records(base + i)?;
                        return Ok((i + 1, true));
                    } else if is_ws(b) {
                        self.stage(base + i)?;
                        self.phase = ArrayPhase::AfterItem;
                        i += 1;
                    } else if b == b'-' || b == b'.' || b == b'e' || b == b'E' {
                        return Err(self.range(base + i, "expected a non-negative integer"));
                    } else {
                        return Err(self.syntax(
                            base + i,
                            format!("unexpected byte 0x{b:02x} in an integer array"),
                        ));
                    }
                }
                ArrayPhase::Open => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'[' {
                        self.phase = ArrayPhase::FirstItem;
                        i += 1;
                    } else {
                        return Err(self
                            .syntax(base + i, format!("`{}` must be an array", self.key_name())));
                    }
                }
                ArrayPhase::FirstItem | ArrayPhase::Item => {
                    if is_ws(b) {
                        i += 1;
                    } else if b.is_ascii_digit() {
                        self.num = 0;
                        self.num_digits = 0;
                        self.phase = ArrayPhase::InItem;
                    } else if b == b']' && self.phase == ArrayPhase::FirstItem {
                        return Ok((i + 1, true));
                    } else if b == b'-' {
                        return Err(self.range(base + i, "expected a non-negative integer"));
                    } else {
                        return Err(self.syntax(
                            base + i,
                            format!("expected an integer in `{}`", self.key_name()),
                        ));
                    }
                }
                ArrayPhase::AfterItem => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b',' {
                        self.phase = ArrayPhase::Item;
                        i += 1;
                    } else if b == b']' {
                        self.flush_records(base + i)?;
                        return Ok((i + 1, true));
                    } else {
                        return Err(self.syntax(base + i, "expected `,` or `]`"));
                    }
                }
            }
        }
        Ok((i, false))
    }

    fn key_name(&self) -> String {
        String::from_utf8_lossy(&self.key).into_owned()
    }

    #[inline]
    fn stage(&mut self, at: usize) -> Result<()> {
        self.staged.push(self.num);
        if self.staged.len() >= STAGED_VALUES {
            self.flush_records(at)?;
        }
        Ok(())
    }

    /// Moves the complete records among the staged integers into the columns.
    /// Batching keeps per-value work in the scanner to a push; validation runs
    /// per record with field positions resolved once.
    fn flush_records(&mut self, at: usize) -> Result<()> {
        let offset = self.consumed + at as u64;
        let width = match self.section {
            Section::Nodes => self.node_roles.len(),
            Section::Edges => self.edge_roles.len(),
            Section::Locations => self.location_roles.len(),
            _ => return Ok(()),
        };
        let mut staged = std::mem::take(&mut self.staged);
        let complete = staged.len() / width * width;
        let result = match self.section {
            Section::Nodes => self.take_nodes(&staged[..complete], offset),
            Section::Edges => self.take_edges(&staged[..complete], offset),
            _ => self.take_locations(&staged[..complete], offset),
        };
        staged.drain(..complete);
        self.staged = staged;
        result
    }

    fn take_nodes(&mut self, values: &[u64], offset: u64) -> Result<()> {
        let roles = &self.node_roles;
        let pos = |f: NodeField| roles.iter().position(|&r| r == f);
        let (Some(ty), Some(name), Some(id), Some(size), Some(count)) = (
            pos(NodeField::Type),
            pos(NodeField::Name),
            pos(NodeField::Id),
            pos(NodeField::SelfSize),
            pos(NodeField::EdgeCount),
        ) else {
            return Err(SnapshotError::Meta(
                "node_fields lacks a required field".into(),
            ));
        };
        let det = pos(NodeField::Detachedness);
        let width = roles.len();
        let bad = |index: usize, what: String| SnapshotError::NumberRange {
            offset,
            message: format!("node {index} (record ending near here): {what}"),
        };
        for rec in values.chunks_exact(width) {
            let index = self.node_kind.len();
            if index as u64 >= MAX_NODES {
                return Err(SnapshotError::TooLarge(format!(
                    "more than {MAX_NODES} nodes"
                )));
            }
            if rec[ty] >= self.node_type_count as u64 {
                return Err(bad(
                    index,
                    format!("type {} is not in the type enum", rec[ty]),
                ));
            }
            let d = match det {
                Some(p) if rec[p] > 3 => {
                    return Err(bad(index, format!("detachedness {} is not 0..3", rec[p])))
                }
                Some(p) => rec[p] as u8,
                None => 0,
            };
            let name =
                to_u32(rec[name]).ok_or_else(|| bad(index, "name index exceeds 2^32".into()))?;
            let id = to_u32(rec[id]).ok_or_else(|| bad(index, "id exceeds 2^32".into()))?;
            let count =
                to_u32(rec[count]).ok_or_else(|| bad(index, "edge count exceeds 2^32".into()))?;
            self.node_kind.push(rec[ty] as u8 | (d << 6));
            self.node_name.push(name);
            self.node_id.push(id);
            self.self_size.push(rec[size]);
            self.edge_counts.push(count);
        }
        Ok(())
    }

    fn take_edges(&mut self, values: &[u64], offset: u64) -> Result<()> {
        let roles = &self.edge_roles;
        let pos = |f: EdgeField| roles.iter().position(|&r| r == f);
        let (Some(ty), Some(name), Some(to)) = (
            pos(EdgeField::Type),
            pos(EdgeField::NameOrIndex),
            pos(EdgeField::ToNode),
        ) else {
            return Err(SnapshotError::Meta(
                "edge_fields lacks a required field".into(),
            ));
        };
        let width = roles.len();
        let nodes = self.node_id.len() as u64;
        let field_count = self.node_field_count;
        let bad = |index: usize, what: String| SnapshotError::NumberRange {
            offset,
            message: format!("edge {index} (record ending near here): {what}"),
        };
        for rec in values.chunks_exact(width) {
            let index = self.edge_name.len();
            if index as u64 >= u32::MAX as u64 {
                return Err(SnapshotError::TooLarge("more than 2^32 edges".into()));
            }
            if rec[ty] >= self.edge_type_count as u64 {
                return Err(bad(
                    index,
                    format!("type {} is not in the type enum", rec[ty]),
                ));
            }
            let target = rec[to];
            if !target.is_multiple_of(field_count) {
                return Err(bad(index, format!("target {target} is not a node offset")));
            }
            if target / field_count >= nodes {
                return Err(bad(
                    index,
                    format!("target {target} points outside the {nodes}-node array"),
                ));
            }
            let name =
                to_u32(rec[name]).ok_or_else(|| bad(index, "name index exceeds 2^32".into()))?;
            self.edge_to_type
                .push((((target / field_count) as u32) << EDGE_TYPE_BITS) | rec[ty] as u32);
            self.edge_name.push(name);
        }
        Ok(())
    }

    fn take_locations(&mut self, values: &[u64], offset: u64) -> Result<()> {
        let roles = &self.location_roles;
        let width = roles.len();
        let nodes = self.node_id.len() as u64;
        for rec in values.chunks_exact(width) {
            let mut location = [0u32; 4];
            for (k, role) in roles.iter().enumerate() {
                let v = rec[k];
                let slot = match role {
                    LocationField::ObjectIndex => {
                        if !v.is_multiple_of(self.node_field_count)
                            || v / self.node_field_count >= nodes
                        {
                            return Err(SnapshotError::NumberRange {
                                offset,
                                message: format!("location object index {v} is not a node"),
                            });
                        }
                        location[0] = (v / self.node_field_count) as u32;
                        continue;
                    }
                    LocationField::ScriptId => 1,
                    LocationField::Line => 2,
                    LocationField::Column => 3,
                    LocationField::Ignored => continue,
                };
                location[slot] = to_u32(v).ok_or_else(|| SnapshotError::NumberRange {
                    offset,
                    message: "location value exceeds 2^32".into(),
                })?;
            }
            self.locations.push(location);
        }
        Ok(())
    }

    /// Reads the `strings` array into the WTF-8 table.
    fn scan_strings(&mut self, buf: &[u8], mut i: usize, base: usize) -> Result<(usize, bool)> {
        while i < buf.len() {
            let b = buf[i];
            match self.phase {
                ArrayPhase::InItem => {
                    let (next, ended) = self.scan_string_body(buf, i, base)?;
                    i = next;
                    if ended {
                        self.strings.seal();
                        if self.strings.len() as u64 > u32::MAX as u64 {
                            return Err(SnapshotError::TooLarge("more than 2^32 strings".into()));
                        }
                        self.phase = ArrayPhase::AfterItem;
                    }
                }
                ArrayPhase::Open => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'[' {
                        self.phase = ArrayPhase::FirstItem;
                        i += 1;
                    } else {
                        return Err(self.syntax(base + i, "`strings` must be an array"));
                    }
                }
                ArrayPhase::FirstItem | ArrayPhase::Item => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b'"' {
                        self.str_scan = StringScan::default();
                        self.phase = ArrayPhase::InItem;
                        i += 1;
                    } else if b == b']' && self.phase == ArrayPhase::FirstItem {
                        return Ok((i + 1, true));
                    } else {
                        return Err(self.syntax(base + i, "expected a string in `strings`"));
                    }
                }
                ArrayPhase::AfterItem => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b',' {
                        self.phase = ArrayPhase::Item;
                        i += 1;
                    } else if b == b']' {
                        return Ok((i + 1, true));
                    } else {
                        return Err(self.syntax(base + i, "expected `,` or `]` in `strings`"));
                    }
                }
            }
        }
        Ok((i, false))
    }

    /// Decodes string content up to and including the closing quote.
    /// Invalid UTF-8 becomes U+FFFD exactly as the WHATWG decoder (and so
    /// DevTools' TextDecoder) does; surrogate escapes pair up, lone ones are kept.
    fn scan_string_body(&mut self, buf: &[u8], mut i: usize, base: usize) -> Result<(usize, bool)> {
        let out = self.strings.buffer();
        let s = &mut self.str_scan;
        while i < buf.len() {
            let b = buf[i];
            if s.escape == 1 {
                let simple = match b {
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    b'/' => Some(b'/'),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'u' => None,
                    _ => {
                        return Err(SnapshotError::Syntax {
                            offset: self.consumed + (base + i) as u64,
                            message: format!("invalid escape `\\{}` in a string", b as char),
                        })
                    }
                };
                i += 1;
                match simple {
                    Some(c) => {
                        flush_high(s, out);
                        out.push(c);
                        s.escape = 0;
                    }
                    None => {
                        s.escape = 2;
                        s.hex = 0;
                    }
                }
                continue;
            }
            if s.escape >= 2 {
                let d = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    _ => {
                        return Err(SnapshotError::Syntax {
                            offset: self.consumed + (base + i) as u64,
                            message: "invalid \\u escape in a string".into(),
                        })
                    }
                };
                s.hex = (s.hex << 4) | d as u32;
                s.escape += 1;
                i += 1;
                if s.escape == 6 {
                    s.escape = 0;
                    let unit = s.hex;
                    if (0xDC00..0xE000).contains(&unit) {
                        if let Some(high) = s.pending_high.take() {
                            push_code_point(
                                out,
                                0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00),
                            );
                        } else {
                            push_code_point(out, unit);
                        }
                    } else {
                        flush_high(s, out);
                        if (0xD800..0xDC00).contains(&unit) {
                            s.pending_high = Some(unit);
                        } else {
                            push_code_point(out, unit);
                        }
                    }
                }
                continue;
            }
            if s.utf8.needed > 0 {
                let u = &mut s.utf8;
                if b >= u.lower && b <= u.upper {
                    u.lower = 0x80;
                    u.upper = 0xBF;
                    u.cp = (u.cp << 6) | (b & 0x3F) as u32;
                    u.seen += 1;
                    i += 1;
                    if u.seen == u.needed {
                        let cp = u.cp;
                        *u = Utf8State::default();
                        push_code_point(out, cp);
                    }
                    continue;
                }
                // Not a continuation: the partial sequence is one U+FFFD and
                // this byte is read afresh.
                s.utf8 = Utf8State::default();
                push_code_point(out, 0xFFFD);
            }
            match b {
                b'"' => {
                    flush_high(s, out);
                    return Ok((i + 1, true));
                }
                b'\\' => {
                    s.escape = 1;
                    i += 1;
                }
                0x00..=0x7F => {
                    flush_high(s, out);
                    // Copy the run of plain ASCII at once.
                    let run_end = buf[i..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c >= 0x80)
                        .map_or(buf.len(), |p| i + p);
                    out.extend_from_slice(&buf[i..run_end]);
                    i = run_end;
                }
                _ => {
                    flush_high(s, out);
                    let u = &mut s.utf8;
                    *u = Utf8State {
                        lower: 0x80,
                        upper: 0xBF,
                        ..Utf8State::default()
                    };
                    match b {
                        0xC2..=0xDF => {
                            u.needed = 1;
                            u.cp = (b & 0x1F) as u32;
                        }
                        0xE0..=0xEF => {
                            if b == 0xE0 {
                                u.lower = 0xA0;
                            }
                            if b == 0xED {
                                u.upper = 0x9F;
                            }
                            u.needed = 2;
                            u.cp = (b & 0x0F) as u32;
                        }
                        0xF0..=0xF4 => {
                            if b == 0xF0 {
                                u.lower = 0x90;
                            }
                            if b == 0xF4 {
                                u.upper = 0x8F;
                            }
                            u.needed = 3;
                            u.cp = (b & 0x07) as u32;
                        }
                        _ => {
                            *u = Utf8State::default();
                            push_code_point(out, 0xFFFD);
                        }
                    }
                    i += 1;
                }
            }
        }
        Ok((i, false))
    }

    /// Ends the input and validates the whole graph.
    pub fn finish(mut self) -> Result<Graph> {
        if self.top != Top::Done {
            if self.consumed == 0 {
                return Err(SnapshotError::Empty);
            }
            let place = match (self.top, self.section) {
                (Top::Value, Section::Header) => "inside the `snapshot` header".to_string(),
                (
                    Top::Value,
                    s @ (Section::Nodes | Section::Edges | Section::Strings | Section::Locations),
                ) => {
                    format!("inside the `{}` array", format!("{s:?}").to_lowercase())
                }
                (Top::Start, _) => "before any content".to_string(),
                _ => "before the closing `}`".to_string(),
            };
            return Err(SnapshotError::Truncated {
                offset: self.consumed,
                message: format!("the file ends {place}"),
            });
        }
        let meta = self
            .meta
            .take()
            .ok_or_else(|| SnapshotError::Meta("no `snapshot.meta` in the file".into()))?;
        if !self.nodes_done {
            return Err(SnapshotError::Inconsistent("no `nodes` array".into()));
        }
        if !self.edges_done {
            return Err(SnapshotError::Inconsistent("no `edges` array".into()));
        }
        if !self.strings_done {
            return Err(SnapshotError::Inconsistent("no `strings` array".into()));
        }
        let n = self.node_id.len();
        if n == 0 {
            return Err(SnapshotError::Inconsistent(
                "the snapshot has no nodes".into(),
            ));
        }
        if meta.node_count != n as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "node_count says {} but the nodes array holds {n}",
                meta.node_count
            )));
        }
        let m = self.edge_name.len();
        if meta.edge_count != m as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "edge_count says {} but the edges array holds {m}",
                meta.edge_count
            )));
        }
        // Prefix sums of per-node edge counts, checked against the edge array.
        let mut first_edge = std::mem::take(&mut self.edge_counts);
        let mut sum: u64 = 0;
        for slot in first_edge.iter_mut() {
            let c = *slot as u64;
            *slot = sum as u32;
            sum += c;
            if sum > m as u64 {
                return Err(SnapshotError::Inconsistent(format!(
                    "nodes declare more edges than the {m} in the edges array"
                )));
            }
        }
        if sum != m as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "nodes declare {sum} edges but the edges array holds {m}"
            )));
        }
        first_edge.push(m as u32);

        let string_count = self.strings.len() as u64;
        if let Some(bad) = self
            .node_name
            .iter()
            .position(|&s| s as u64 >= string_count)
        {
            return Err(SnapshotError::Inconsistent(format!(
                "node {bad} names string {} but there are {string_count} strings",
                self.node_name[bad]
            )));
        }
        let element = meta.edge_type_index("element");
        let hidden = meta.edge_type_index("hidden");
        for (e, &name) in self.edge_name.iter().enumerate() {
            let ty = (self.edge_to_type[e] & super::graph::EDGE_TYPE_MASK) as u8;
            if Some(ty) != element && Some(ty) != hidden && name as u64 >= string_count {
                return Err(SnapshotError::Inconsistent(format!(
                    "edge {e} names string {name} but there are {string_count} strings"
                )));
            }
        }
        let f = meta.node_fields.len() as u64;
        if meta.root_index % f != 0 || meta.root_index / f >= n as u64 {
            return Err(SnapshotError::Meta(format!(
                "root_index {} is not a node",
                meta.root_index
            )));
        }
        let root = (meta.root_index / f) as u32;

        self.node_kind.shrink_to_fit();
        self.node_name.shrink_to_fit();
        self.node_id.shrink_to_fit();
        self.self_size.shrink();
        self.edge_to_type.shrink_to_fit();
        self.edge_name.shrink_to_fit();
        self.locations.shrink_to_fit();
        self.strings.shrink();
        Ok(Graph {
            meta,
            strings: self.strings,
            node_kind: self.node_kind,
            node_name: self.node_name,
            node_id: self.node_id,
            self_size: self.self_size,
            first_edge,
            edge_to_type: self.edge_to_type,
            edge_name: self.edge_name,
            locations: self.locations,
            root,
        })
    }
}

fn flush_high(s: &mut StringScan, out: &mut Vec<u8>) {
    if let Some(high) = s.pending_high.take() {
        push_code_point(out, high);
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

#[inline]
fn to_u32(v: u64) -> Option<u32> {
    u32::try_from(v).ok()
}

/// Parses a whole in-memory snapshot.
pub fn parse_bytes(bytes: &[u8]) -> Result<Graph> {
    let mut p = Parser::new().with_size_hint(bytes.len() as u64);
    p.feed(bytes)?;
    p.finish()
}
