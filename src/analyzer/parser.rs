//! A push parser for V8 `.heapsnapshot` JSON.
//!
//! One state machine serves every source: a file read in chunks, a Buffer fed
//! whole, and a stream of chunks from `v8.getHeapSnapshot()`. The text is never
//! held in memory; integer arrays go straight into graph columns and strings
//! into one WTF-8 blob. Every count taken from the file is checked before it
//! sizes an allocation or indexes a column.

use super::allocations::{AllocationTraces, TraceFunction, TraceNode};
use super::error::{Result, SnapshotError};
use super::graph::{pack_edge, Graph, SizeColumn, MAX_EDGES, MAX_NODES, MAX_STRINGS};
use super::meta::{EdgeField, LocationField, Meta, NodeField, TraceFunctionField, TraceNodeField};
use super::strings::{push_code_point, StringTable};
use crate::fault::{self, Site};
use split::SplitScan;
use trace_tree::TreeScan;

mod split;
mod trace_tree;

/// Above 2^53 a JavaScript consumer could not represent the value exactly.
/// This bounds each number and also the sum of all self sizes, so that every
/// size the analysis derives (retained sizes, class and report totals, diff
/// deltas: sums over sets of distinct nodes) is exact in JS and in u64/i64.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// The `snapshot` header is a few KB. It is parsed into a JSON tree, which
/// can take 16 times the text's size, so the cap also bounds that tree.
const MAX_HEADER_BYTES: usize = 1 << 20;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Pre-allocation from a declared count is capped so that a lying header
/// cannot make us reserve gigabytes; real data grows the columns as it comes.
const MAX_TRUSTED_RESERVE: u64 = 1 << 22;
/// Integers buffered before records are validated and stored in bulk. Tests
/// use small batches, so that their small snapshots cross many of them.
const STAGED_VALUES: usize = if cfg!(test) { 50 } else { 1 << 14 };
/// Integer arrays are read in windows of this many bytes, each cut in two
/// parts read at once on two threads ([`split`]), the other thread always a
/// window ahead; input shorter than `SPLIT_MIN_BYTES` is read on one (the
/// thread costs tens of microseconds).
const SPLIT_WINDOW: usize = 1 << 20;
const SPLIT_MIN_BYTES: usize = 256 << 10;
/// The part of a window this thread reads: it also validates and stores
/// every value of the window, which the other thread only reads, and in a
/// new process it takes the page faults of the columns. On the 659 MB bench
/// snapshot, a whole load in a new process was fastest at a tenth to a
/// fifth; parsing again in a warm process, at a seventh to a fifth (a
/// quarter or a tenth was 5 to 10% slower there).
const SPLIT_OWN_PERCENT: usize = 15;

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
    TraceFunctions,
    TraceTree,
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
    /// Per node, the allocation-trace node; filled only once one is non-zero.
    trace_node: Vec<u32>,
    trace_functions: Vec<TraceFunction>,
    trace_tree: Vec<TraceNode>,
    tree_scan: TreeScan,
    strings: StringTable,
    node_type_count: u8,
    edge_type_count: u8,
    node_field_count: u64,
    /// Digits of the number being read; u64 because one fed chunk may hold
    /// a run of more than 2^32 digits, which must not wrap below the check.
    num_digits: u64,
    /// A minus sign was just read: allowed in `locations` only, where V8
    /// writes negative columns for code compiled with a negative column
    /// offset (Vitest's module wrapper, on Node 24). DevTools' loader reads
    /// only the digits, so the class key holds the magnitude; so does ours.
    negative: bool,
    self_size_total: u64,
    staged: Vec<u64>,
    node_roles: Vec<NodeField>,
    edge_roles: Vec<EdgeField>,
    location_roles: Vec<LocationField>,
    /// Bytes of a UTF-8 byte order mark matched so far; it may span chunks.
    bom: usize,
    /// Where the current top-level value starts, for errors about it as a whole.
    value_start: u64,
    nodes_span: (u64, u64),
    edges_span: (u64, u64),
    /// Values per record in the current integer section.
    width: usize,
    /// Values the record being staged still lacks (0: the next value starts one).
    field_left: usize,
    /// Where each staged record starts, so an invalid record is named exactly.
    record_starts: Vec<u64>,
    /// The second thread's buffers, kept from window to window.
    split_pool: Vec<SplitScan>,
    /// This thread's block scanner for its own part of each window.
    own_scan: SplitScan,
    /// Windows at least this long are read on two threads.
    split_min: usize,
    split_window: usize,
    /// Values the other thread read, so tests can tell the split happened.
    #[cfg(test)]
    split_taken: usize,
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
            trace_node: Vec::new(),
            trace_functions: Vec::new(),
            trace_tree: Vec::new(),
            tree_scan: TreeScan::default(),
            strings: StringTable::new(),
            node_type_count: 0,
            edge_type_count: 0,
            node_field_count: 1,
            num_digits: 0,
            negative: false,
            self_size_total: 0,
            staged: Vec::new(),
            node_roles: Vec::new(),
            edge_roles: Vec::new(),
            location_roles: Vec::new(),
            bom: 0,
            value_start: 0,
            nodes_span: (0, 0),
            edges_span: (0, 0),
            width: 1,
            field_left: 0,
            record_starts: Vec::new(),
            split_pool: Vec::new(),
            own_scan: SplitScan::default(),
            split_min: SPLIT_MIN_BYTES,
            split_window: SPLIT_WINDOW,
            #[cfg(test)]
            split_taken: 0,
        }
    }

    /// Tests cut tiny inputs into windows as the parser cuts big ones
    /// (`usize::MAX`: never).
    #[cfg(test)]
    pub(crate) fn with_split_window(mut self, bytes: usize) -> Self {
        self.split_min = bytes.max(1);
        self.split_window = bytes.max(1);
        self
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

    /// Consumes a byte order mark at the very start of the input, however the
    /// chunks split it, so that every chunking gives the same result.
    fn skip_bom(&mut self, chunk: &[u8]) -> Result<usize> {
        let mut k = 0;
        while self.bom < BOM.len() && self.consumed + k as u64 == self.bom as u64 {
            match chunk.get(k) {
                Some(&b) if b == BOM[self.bom] => {
                    self.bom += 1;
                    k += 1;
                }
                Some(_) if self.bom > 0 => {
                    return Err(self.syntax(k, "incomplete byte order mark"));
                }
                _ => break,
            }
        }
        Ok(k)
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
                        unescape_key(&mut self.key);
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
                        Section::Nodes
                        | Section::Edges
                        | Section::Locations
                        | Section::TraceFunctions => self.scan_ints(buf, i, base)?,
                        Section::TraceTree => self.scan_trace_tree(buf, i, base)?,
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
        self.record_starts.clear();
        self.field_left = 0;
        self.value_start = self.consumed + at as u64 + 1;
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
                        "`{}` comes before `snapshot.meta` (at byte {})",
                        String::from_utf8_lossy(&key),
                        self.value_start
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
                        self.width = self.node_roles.len();
                        Section::Nodes
                    }
                    b"edges" => {
                        if !self.nodes_done {
                            return Err(SnapshotError::Meta(format!(
                                "`edges` comes before `nodes` (at byte {})",
                                self.value_start
                            )));
                        }
                        if self.edges_done {
                            return Err(self.syntax(at, "`edges` appears twice"));
                        }
                        let reserve =
                            self.reserve_for(meta.edge_count, meta.edge_fields.len() as u64 * 2);
                        self.edge_to_type.reserve(reserve);
                        self.edge_name.reserve(reserve);
                        self.width = self.edge_roles.len();
                        Section::Edges
                    }
                    _ => {
                        if !self.nodes_done {
                            return Err(SnapshotError::Meta(format!(
                                "`locations` comes before `nodes` (at byte {})",
                                self.value_start
                            )));
                        }
                        if meta.location_fields.is_empty() {
                            Section::Skip
                        } else {
                            self.width = self.location_roles.len();
                            Section::Locations
                        }
                    }
                }
            }
            b"trace_function_infos" | b"trace_tree" => {
                let Some(meta) = self.meta.as_ref() else {
                    return Err(SnapshotError::Meta(format!(
                        "`{}` comes before `snapshot.meta` (at byte {})",
                        String::from_utf8_lossy(&key),
                        self.value_start
                    )));
                };
                if key.as_slice() == b"trace_tree" {
                    if meta.trace_node_fields.is_empty() || !self.trace_tree.is_empty() {
                        Section::Skip
                    } else {
                        self.tree_scan = TreeScan::default();
                        Section::TraceTree
                    }
                } else if meta.trace_function_fields.is_empty() || !self.trace_functions.is_empty()
                {
                    Section::Skip
                } else {
                    self.width = meta.trace_function_fields.len();
                    Section::TraceFunctions
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

    /// `declared` is at most `MAX_NODES` or `MAX_EDGES` (checked with the header).
    fn reserve_for(&self, declared: u64, min_bytes_per_item: u64) -> usize {
        let plausible = match self.size_hint {
            Some(bytes) => bytes / min_bytes_per_item.max(1),
            None => MAX_TRUSTED_RESERVE,
        };
        declared.min(plausible) as usize
    }

    fn end_value(&mut self, at: usize) -> Result<()> {
        let end = self.consumed + at as u64;
        match self.section {
            Section::Header => {
                let header = std::mem::take(&mut self.header);
                let in_header = |e| {
                    let place = format!("(in the header at bytes {}..{end})", self.value_start);
                    match e {
                        SnapshotError::Meta(m) => SnapshotError::Meta(format!("{m} {place}")),
                        SnapshotError::TooLarge(m) => {
                            SnapshotError::TooLarge(format!("{m} {place}"))
                        }
                        other => other,
                    }
                };
                let meta = Meta::parse(&header).map_err(in_header)?;
                check_declared_counts(&meta).map_err(in_header)?;
                self.node_type_count = meta.node_types.len() as u8;
                self.edge_type_count = meta.edge_types.len() as u8;
                self.node_field_count = meta.node_fields.len() as u64;
                self.node_roles = meta.node_fields.clone();
                self.edge_roles = meta.edge_fields.clone();
                self.location_roles = meta.location_fields.clone();
                self.meta = Some(meta);
            }
            Section::Nodes | Section::Edges | Section::Locations | Section::TraceFunctions => {
                if !self.staged.is_empty() {
                    let start = self.record_starts.last().copied().unwrap_or(end);
                    return Err(self.inconsistent(format!(
                        "`{}` array length is not a multiple of its {} fields: the record at byte {start} is incomplete",
                        self.key_name(),
                        self.width
                    )));
                }
                match self.section {
                    Section::Nodes => {
                        self.nodes_done = true;
                        self.nodes_span = (self.value_start, end);
                    }
                    Section::Edges => {
                        self.edges_done = true;
                        self.edges_span = (self.value_start, end);
                    }
                    _ => {}
                }
            }
            Section::Strings => {
                self.strings_done = true;
            }
            Section::TraceTree | Section::Skip => {}
        }
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
                return Err(SnapshotError::Syntax {
                    offset: self.value_start + MAX_HEADER_BYTES as u64,
                    message: format!(
                        "the `snapshot` header is implausibly large (over {} KiB)",
                        MAX_HEADER_BYTES >> 10
                    ),
                });
            }
            self.header.extend_from_slice(&buf[start..i]);
        }
        Ok((i, done))
    }

    /// Reads an integer array (`nodes`, `edges`, `locations`).
    fn scan_ints(&mut self, buf: &[u8], i: usize, base: usize) -> Result<(usize, bool)> {
        if buf.len() - i < self.split_min {
            return self.scan_ints_seq(buf, i, base);
        }
        let windows = self.split_windows(buf, i);
        let pool = std::sync::Mutex::new(std::mem::take(&mut self.split_pool));
        let stop = std::sync::atomic::AtomicBool::new(false);
        // One window ahead at most: each holds ~12 bytes per value read.
        let (ready, results) = std::sync::mpsc::sync_channel::<SplitScan>(1);
        let outcome = std::thread::scope(|scope| {
            let (windows, pool, stop) = (&windows, &pool, &stop);
            let worker = scope.spawn(move || {
                fault::inject(Site::ParserThread);
                for &(end, split) in windows {
                    let Some(split) = split else { continue };
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let mut scan = lock_pool(pool).pop().unwrap_or_default();
                    scan.scan(&buf[split..end]);
                    if ready.send(scan).is_err() {
                        return;
                    }
                }
            });
            let outcome = self.read_windows(buf, i, base, windows, &results, pool);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            // Unblocks a worker waiting to hand over a window.
            drop(results);
            match worker.join() {
                Ok(()) => outcome,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        });
        self.split_pool = pool.into_inner().unwrap_or_else(|e| e.into_inner());
        outcome
    }

    /// Cuts `buf[i..]` into windows: each is (end, where the other thread's
    /// part starts, just after a comma), with no second part when there is
    /// no comma to cut at. What is left past the windows is too short to split.
    fn split_windows(&self, buf: &[u8], mut i: usize) -> Vec<(usize, Option<usize>)> {
        let mut windows = Vec::new();
        while buf.len() - i >= self.split_min {
            let end = buf.len().min(i.saturating_add(self.split_window));
            let cut = i + (end - i) * SPLIT_OWN_PERCENT / 100;
            let split = buf[cut..end]
                .iter()
                .position(|&b| b == b',')
                .map(|p| cut + p + 1);
            windows.push((end, split));
            i = end;
        }
        windows
    }

    /// This thread's side of [`scan_ints`]: in each window it reads the first
    /// part itself, then stages the values the other thread read from the
    /// rest (which by then is reading the next window). Whatever the other
    /// thread left (an incomplete number at the window's end, anything
    /// unexpected) is read sequentially, so results and errors are the
    /// sequential ones.
    fn read_windows(
        &mut self,
        buf: &[u8],
        mut i: usize,
        base: usize,
        windows: &[(usize, Option<usize>)],
        results: &std::sync::mpsc::Receiver<SplitScan>,
        pool: &std::sync::Mutex<Vec<SplitScan>>,
    ) -> Result<(usize, bool)> {
        for &(end, split) in windows {
            let mut resume = i;
            if let Some(split) = split {
                let mine = self.read_own_part(buf, i, split, base);
                // A closed channel means the other thread panicked: the
                // caller's join passes the panic on.
                let Ok(theirs) = results.recv() else {
                    return Ok((i, false));
                };
                let staged = match mine {
                    Ok((next, false)) if next == split && self.phase == ArrayPhase::Item => {
                        resume = split + theirs.resume;
                        #[cfg(test)]
                        {
                            self.split_taken += theirs.values.len();
                        }
                        self.stage_values(
                            &theirs.values,
                            &theirs.starts,
                            self.consumed + (base + split) as u64,
                        )
                    }
                    Ok((next, false)) => {
                        resume = next;
                        Ok(())
                    }
                    other => {
                        lock_pool(pool).push(theirs);
                        return other;
                    }
                };
                lock_pool(pool).push(theirs);
                staged?;
            }
            let (next, done) = self.scan_ints_seq(&buf[..end], resume, base)?;
            if done {
                return Ok((next, true));
            }
            i = next;
        }
        self.scan_ints_seq(buf, i, base)
    }

    /// This thread's part of a window, `buf[i..split]`, which ends just after
    /// a comma. Once the value under way is complete, the rest is read with
    /// the block scanner, as the other thread reads its part, and staged the
    /// same way; whatever the scanner leaves is read sequentially.
    fn read_own_part(
        &mut self,
        buf: &[u8],
        i: usize,
        split: usize,
        base: usize,
    ) -> Result<(usize, bool)> {
        let first_comma = buf[i..split].iter().position(|&b| b == b',');
        let head_end = first_comma.map_or(split, |p| i + p + 1);
        let (mut next, done) = self.scan_ints_seq(&buf[..head_end], i, base)?;
        if done {
            return Ok((next, true));
        }
        if next != head_end || self.phase != ArrayPhase::Item {
            return self.scan_ints_seq(&buf[..split], next, base);
        }
        let mut own = std::mem::take(&mut self.own_scan);
        own.scan(&buf[next..split]);
        let staged = self.stage_values(
            &own.values,
            &own.starts,
            self.consumed + (base + next) as u64,
        );
        next += own.resume;
        self.own_scan = own;
        staged?;
        self.scan_ints_seq(&buf[..split], next, base)
    }

    /// Stages values read by a block scanner, as `stage` would one by one;
    /// `starts` are offsets from `at` (the byte where the values' slice
    /// begins). Records are validated in the batches `stage` makes, so that a
    /// bad record and a syntax error after it are found in the same order.
    fn stage_values(&mut self, values: &[u64], starts: &[u32], at: u64) -> Result<()> {
        let width = self.width.max(1);
        let pos = (width - self.field_left) % width;
        let first = (width - pos) % width;
        self.record_starts.extend(
            starts
                .iter()
                .skip(first)
                .step_by(width)
                .map(|&s| at + s as u64),
        );
        self.staged.extend_from_slice(values);
        let end_pos = (pos + values.len()) % width;
        self.field_left = (width - end_pos) % width;
        let batch = STAGED_VALUES.div_ceil(width) * width;
        let full = self.staged.len() / batch * batch;
        if full == 0 {
            return Ok(());
        }
        let mut staged = std::mem::take(&mut self.staged);
        let mut starts = std::mem::take(&mut self.record_starts);
        let result = staged[..full]
            .chunks(batch)
            .zip(starts.chunks(batch / width))
            .try_for_each(|(values, starts)| self.take_records(values, starts));
        staged.drain(..full);
        starts.drain(..full / width);
        self.staged = staged;
        self.record_starts = starts;
        result
    }

    fn scan_ints_seq(&mut self, buf: &[u8], mut i: usize, base: usize) -> Result<(usize, bool)> {
        while i < buf.len() {
            let b = buf[i];
            match self.phase {
                // Hot loop: one number per turn, straight on to the next
                // while they are separated by a bare comma, so the phase
                // dispatch above runs only around whitespace and the ends.
                ArrayPhase::InItem => loop {
                    // Up to 15 digits cannot exceed 2^53, so the bound is
                    // checked once, after the run.
                    let run_start = i;
                    let num;
                    (num, i) = read_digit_run(buf, i, self.num);
                    self.num_digits += (i - run_start) as u64;
                    if self.num_digits > 15 && (self.num_digits > 19 || num > MAX_SAFE_INTEGER) {
                        return Err(SnapshotError::NumberRange {
                            offset: self.number_start(base + i),
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
                            continue;
                        }
                        self.phase = ArrayPhase::Item;
                        break;
                    } else if is_ws(b) {
                        self.stage(base + i)?;
                        self.phase = ArrayPhase::AfterItem;
                        i += 1;
                        break;
                    } else if b == b']' {
                        self.stage(base + i)?;
                        self.flush_records()?;
                        return Ok((i + 1, true));
                    } else if b == b'-' || b == b'.' || b == b'e' || b == b'E' {
                        return Err(self.range(base + i, "expected a non-negative integer"));
                    } else {
                        return Err(self.syntax(
                            base + i,
                            format!("unexpected byte 0x{b:02x} in an integer array"),
                        ));
                    }
                },
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
                    if self.negative && !b.is_ascii_digit() {
                        return Err(self.syntax(base + i, "expected a digit after `-`"));
                    }
                    if is_ws(b) {
                        i = skip_ws(buf, i);
                    } else if b.is_ascii_digit() {
                        self.num = 0;
                        self.num_digits = 0;
                        self.negative = false;
                        self.phase = ArrayPhase::InItem;
                    } else if b == b']' && self.phase == ArrayPhase::FirstItem {
                        return Ok((i + 1, true));
                    } else if b == b'-' && self.section == Section::Locations {
                        self.negative = true;
                        i += 1;
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
                        i = skip_ws(buf, i);
                    } else if b == b',' {
                        self.phase = ArrayPhase::Item;
                        i += 1;
                    } else if b == b']' {
                        self.flush_records()?;
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

    /// Where the number that ends at `at` began (digits are contiguous, and
    /// `num_digits` counts them across chunks).
    fn number_start(&self, at: usize) -> u64 {
        (self.consumed + at as u64).saturating_sub(self.num_digits)
    }

    #[inline]
    fn stage(&mut self, at: usize) -> Result<()> {
        if self.field_left == 0 {
            self.record_starts.push(self.number_start(at));
            self.field_left = self.width;
        }
        self.field_left -= 1;
        self.staged.push(self.num);
        if self.field_left == 0 && self.staged.len() >= STAGED_VALUES {
            self.flush_records()?;
        }
        Ok(())
    }

    /// Moves the complete staged records into the columns. Batching keeps
    /// per-value work in the scanner to a push; validation runs per record
    /// with field positions resolved once. Batches end on record boundaries,
    /// so a partial record is left only at the array's end, for `end_value`.
    fn flush_records(&mut self) -> Result<()> {
        let width = self.width.max(1);
        let mut staged = std::mem::take(&mut self.staged);
        let mut starts = std::mem::take(&mut self.record_starts);
        let records = staged.len() / width;
        let result = self.take_records(&staged[..records * width], &starts);
        staged.drain(..records * width);
        starts.drain(..records.min(starts.len()));
        self.staged = staged;
        self.record_starts = starts;
        result
    }

    fn take_records(&mut self, values: &[u64], starts: &[u64]) -> Result<()> {
        match self.section {
            Section::Nodes => self.take_nodes(values, starts),
            Section::Edges => self.take_edges(values, starts),
            Section::Locations => self.take_locations(values, starts),
            Section::TraceFunctions => self.take_trace_functions(values, starts),
            _ => Ok(()),
        }
    }

    fn take_nodes(&mut self, values: &[u64], starts: &[u64]) -> Result<()> {
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
        let trace = pos(NodeField::TraceNodeId);
        let width = roles.len();
        let bad = |index: usize, offset: u64, what: String| SnapshotError::NumberRange {
            offset,
            message: format!("node {index}: {what}"),
        };
        for (rec, &at) in values.chunks_exact(width).zip(starts) {
            let index = self.node_kind.len();
            if index as u64 >= MAX_NODES {
                return Err(SnapshotError::TooLarge(format!(
                    "more than {MAX_NODES} nodes"
                )));
            }
            if rec[ty] >= self.node_type_count as u64 {
                return Err(bad(
                    index,
                    at,
                    format!("type {} is not in the type enum", rec[ty]),
                ));
            }
            let d = match det {
                Some(p) if rec[p] > 3 => {
                    return Err(bad(
                        index,
                        at,
                        format!("detachedness {} is not 0..3", rec[p]),
                    ))
                }
                Some(p) => rec[p] as u8,
                None => 0,
            };
            let name = to_u32(rec[name])
                .ok_or_else(|| bad(index, at, "name index exceeds 2^32".into()))?;
            let id = to_u32(rec[id]).ok_or_else(|| bad(index, at, "id exceeds 2^32".into()))?;
            self.self_size_total = add_self_size(self.self_size_total, rec[size])
                .ok_or_else(|| self_sizes_too_large(Some(at)))?;
            let count = to_u32(rec[count])
                .ok_or_else(|| bad(index, at, "edge count exceeds 2^32".into()))?;
            if let Some(p) = trace {
                if rec[p] != 0 || !self.trace_node.is_empty() {
                    let t = to_u32(rec[p])
                        .ok_or_else(|| bad(index, at, "trace node id exceeds 2^32".into()))?;
                    // Untracked snapshots write 0 for every node: the column
                    // is only materialised once an object has a trace.
                    self.trace_node.resize(index, 0);
                    self.trace_node.push(t);
                }
            }
            self.node_kind.push(rec[ty] as u8 | (d << 6));
            self.node_name.push(name);
            self.node_id.push(id);
            self.self_size.push(rec[size]);
            self.edge_counts.push(count);
        }
        Ok(())
    }

    fn take_edges(&mut self, values: &[u64], starts: &[u64]) -> Result<()> {
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
        let field_count = DivideBy::new(self.node_field_count);
        let bad = |index: usize, offset: u64, what: String| SnapshotError::NumberRange {
            offset,
            message: format!("edge {index}: {what}"),
        };
        for (rec, &at) in values.chunks_exact(width).zip(starts) {
            let index = self.edge_name.len();
            if index as u64 >= MAX_EDGES {
                return Err(SnapshotError::TooLarge(format!(
                    "more than {MAX_EDGES} edges"
                )));
            }
            if rec[ty] >= self.edge_type_count as u64 {
                return Err(bad(
                    index,
                    at,
                    format!("type {} is not in the type enum", rec[ty]),
                ));
            }
            let target = rec[to];
            let (target_node, misaligned) = field_count.div_rem(target);
            if misaligned != 0 {
                return Err(bad(
                    index,
                    at,
                    format!("target {target} is not a node offset"),
                ));
            }
            if target_node >= nodes {
                return Err(bad(
                    index,
                    at,
                    format!("target {target} points outside the {nodes}-node array"),
                ));
            }
            let name = to_u32(rec[name])
                .ok_or_else(|| bad(index, at, "name index exceeds 2^32".into()))?;
            // target_node < nodes <= MAX_NODES: it fits the 28 bits.
            self.edge_to_type
                .push(pack_edge(target_node as u32, rec[ty] as u8));
            self.edge_name.push(name);
        }
        Ok(())
    }

    fn take_locations(&mut self, values: &[u64], starts: &[u64]) -> Result<()> {
        let roles = &self.location_roles;
        let width = roles.len();
        let nodes = self.node_id.len() as u64;
        for (rec, &offset) in values.chunks_exact(width).zip(starts) {
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

    fn take_trace_functions(&mut self, values: &[u64], starts: &[u64]) -> Result<()> {
        let Some(meta) = self.meta.as_ref() else {
            return Ok(());
        };
        let roles = &meta.trace_function_fields;
        for (rec, &offset) in values.chunks_exact(roles.len()).zip(starts) {
            let mut f = TraceFunction {
                name: 0,
                script_name: 0,
                line: 0,
                column: 0,
            };
            for (k, role) in roles.iter().enumerate() {
                let slot = match role {
                    TraceFunctionField::Name => &mut f.name,
                    TraceFunctionField::ScriptName => &mut f.script_name,
                    TraceFunctionField::Line => &mut f.line,
                    TraceFunctionField::Column => &mut f.column,
                    TraceFunctionField::Ignored => continue,
                };
                *slot = to_u32(rec[k]).ok_or_else(|| SnapshotError::NumberRange {
                    offset,
                    message: "trace function value exceeds 2^32".into(),
                })?;
            }
            self.trace_functions.push(f);
        }
        Ok(())
    }

    fn scan_trace_tree(&mut self, buf: &[u8], i: usize, base: usize) -> Result<(usize, bool)> {
        let fields: &[TraceNodeField] = self
            .meta
            .as_ref()
            .map_or(&[], |m| m.trace_node_fields.as_slice());
        let mut scan = std::mem::take(&mut self.tree_scan);
        let result = scan.scan(buf, i, fields, &mut self.trace_tree);
        self.tree_scan = scan;
        result.map_err(|(at, message)| self.syntax(base + at, message))
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
                        if self.strings.len() as u64 > MAX_STRINGS {
                            return Err(SnapshotError::TooLarge(format!(
                                "more than {MAX_STRINGS} strings"
                            )));
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
                (Top::Value, _) => format!("inside the value of `{}`", self.key_name()),
                (Top::Key, _) => "inside a property name".to_string(),
                (Top::Colon, _) => format!("after the property name `{}`", self.key_name()),
                (Top::Start, _) => "before any content".to_string(),
                _ => "before the closing `}`".to_string(),
            };
            return Err(SnapshotError::Truncated {
                offset: self.consumed,
                message: format!("the file ends {place}"),
            });
        }
        let size = self.consumed;
        let missing = |what: &str| format!("the {size}-byte file has no `{what}`");
        let meta = self
            .meta
            .take()
            .ok_or_else(|| SnapshotError::Meta(missing("snapshot.meta")))?;
        if !self.nodes_done {
            return Err(SnapshotError::Inconsistent(missing("nodes")));
        }
        if !self.edges_done {
            return Err(SnapshotError::Inconsistent(missing("edges")));
        }
        if !self.strings_done {
            return Err(SnapshotError::Inconsistent(missing("strings")));
        }
        let nodes_at = format!(
            "the nodes array at bytes {}..{}",
            self.nodes_span.0, self.nodes_span.1
        );
        let edges_at = format!(
            "the edges array at bytes {}..{}",
            self.edges_span.0, self.edges_span.1
        );
        let n = self.node_id.len();
        if n == 0 {
            return Err(SnapshotError::Inconsistent(format!("{nodes_at} is empty")));
        }
        if meta.node_count != n as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "node_count says {} but {nodes_at} holds {n}",
                meta.node_count
            )));
        }
        let m = self.edge_name.len();
        if meta.edge_count != m as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "edge_count says {} but {edges_at} holds {m}",
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
                    "nodes in {nodes_at} declare more edges than the {m} in {edges_at}"
                )));
            }
        }
        if sum != m as u64 {
            return Err(SnapshotError::Inconsistent(format!(
                "nodes in {nodes_at} declare {sum} edges but {edges_at} holds {m}"
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
                "node {bad} in {nodes_at} names string {} but there are {string_count} strings",
                self.node_name[bad]
            )));
        }
        // Element and hidden edges hold an index, not a string. Types are
        // below 16, so a missing one never matches the stand-in.
        let index_type = |name| meta.edge_type_index(name).map_or(u32::MAX, u32::from);
        let (element, hidden) = (index_type("element"), index_type("hidden"));
        let names_a_missing_string = |name: u32, packed: u32| {
            let ty = packed & super::graph::EDGE_TYPE_MASK;
            (name as u64 >= string_count) & (ty != element) & (ty != hidden)
        };
        // One pass with no early exit, which the compiler vectorizes; the
        // edge is looked for only when there is one.
        let edges = self.edge_name.iter().zip(&self.edge_to_type);
        let any_bad = edges.clone().fold(false, |bad, (&name, &packed)| {
            bad | names_a_missing_string(name, packed)
        });
        if any_bad {
            let first_bad = edges
                .enumerate()
                .find(|(_, (&name, &packed))| names_a_missing_string(name, packed));
            if let Some((e, (name, _))) = first_bad {
                return Err(SnapshotError::Inconsistent(format!(
                    "edge {e} in {edges_at} names string {name} but there are {string_count} strings"
                )));
            }
        }
        let f = meta.node_fields.len() as u64;
        if meta.root_index % f != 0 || meta.root_index / f >= n as u64 {
            return Err(SnapshotError::Meta(format!(
                "root_index {} is not a node of {nodes_at}",
                meta.root_index
            )));
        }
        let root = (meta.root_index / f) as u32;
        if add_self_size(self.self_size_total, meta.extra_native_bytes).is_none() {
            return Err(self_sizes_too_large(None));
        }

        let allocations = self.allocation_traces(n, string_count)?;
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
            allocations,
            root,
        })
    }

    /// The allocation traces, checked: every name a string, every frame a
    /// function, every tree node's parent before it.
    fn allocation_traces(&mut self, nodes: usize, string_count: u64) -> Result<AllocationTraces> {
        let functions = std::mem::take(&mut self.trace_functions);
        let tree = std::mem::take(&mut self.trace_tree);
        let mut node_trace = std::mem::take(&mut self.trace_node);
        if let Some(k) = functions
            .iter()
            .position(|f| f.name as u64 >= string_count || f.script_name as u64 >= string_count)
        {
            return Err(SnapshotError::Inconsistent(format!(
                "trace function {k} names a string beyond the {string_count} strings"
            )));
        }
        if let Some(k) = tree
            .iter()
            .position(|t| t.function as usize >= functions.len())
        {
            return Err(SnapshotError::Inconsistent(format!(
                "trace tree node {k} names function {} of {}",
                tree[k].function,
                functions.len()
            )));
        }
        if !node_trace.is_empty() {
            node_trace.resize(nodes, 0);
            node_trace.shrink_to_fit();
        }
        Ok(AllocationTraces::new(node_trace, functions, tree))
    }
}

/// Property names are matched as JSON.parse reads them, escapes decoded.
fn unescape_key(key: &mut Vec<u8>) {
    if !key.contains(&b'\\') {
        return;
    }
    let mut quoted = Vec::with_capacity(key.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(key);
    quoted.push(b'"');
    if let Ok(text) = serde_json::from_slice::<String>(&quoted) {
        *key = text.into_bytes();
    }
}

fn flush_high(s: &mut StringScan, out: &mut Vec<u8>) {
    if let Some(high) = s.pending_high.take() {
        push_code_point(out, high);
    }
}

/// Division by the node field count through one multiplication (Lemire's
/// method, exact for every dividend below 2^32): a hardware division per edge
/// was a tenth of the parse. Larger dividends and divisors take the slow path.
struct DivideBy {
    divisor: u64,
    inverse: u64,
}

impl DivideBy {
    fn new(divisor: u64) -> DivideBy {
        let inverse = if (2..=u32::MAX as u64).contains(&divisor) {
            u64::MAX / divisor + 1
        } else {
            0
        };
        DivideBy { divisor, inverse }
    }

    #[inline]
    fn div_rem(&self, n: u64) -> (u64, u64) {
        if self.inverse != 0 && n <= u32::MAX as u64 {
            let fraction = self.inverse.wrapping_mul(n);
            let quotient = ((self.inverse as u128 * n as u128) >> 64) as u64;
            let remainder = ((fraction as u128 * self.divisor as u128) >> 64) as u64;
            (quotient, remainder)
        } else {
            (n / self.divisor, n % self.divisor)
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// How many of the eight bytes (first byte in the low bits) are ASCII digits
/// before the first that is not. A byte is a digit when its high nibble is 3
/// and stays 3 after adding 6. Additions here can carry into the next byte,
/// but only out of a byte that is already a non-digit, so the first one found
/// is always right.
#[inline]
fn leading_digits(word: u64) -> usize {
    let high = word & (0xF0 * ONES);
    let bumped = word.wrapping_add(0x06 * ONES) & (0xF0 * ONES);
    let not_digit = (high ^ (0x30 * ONES)) | (bumped ^ (0x30 * ONES));
    let flags = (not_digit.wrapping_add(0x7F * ONES) | not_digit) & (0x80 * ONES);
    (flags.trailing_zeros() / 8) as usize
}

/// The value of the first `k` (1..=8) bytes of `word`, all digits: they are
/// moved to the top so that zero bytes pad them as leading zeros, then pairs,
/// quads and the two halves are combined by multiply-and-shift.
#[inline]
fn digits_value(word: u64, k: usize) -> u64 {
    let d = word.wrapping_sub(0x30 * ONES) << (8 * (8 - k));
    let d = (d & (0x0F * ONES)).wrapping_mul(10 * 256 + 1) >> 8;
    let d = (d & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 * 65_536 + 1) >> 16;
    (d & 0x0000_FFFF_0000_FFFF).wrapping_mul((10_000 << 32) + 1) >> 32
}

/// The eight bytes at `i` (which the caller keeps in bounds) as a word.
#[inline]
fn word_at(buf: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&buf[i..i + 8]);
    u64::from_le_bytes(word)
}

/// Appends the digits at `i` to `num` (wrapping: callers bound the digit
/// count), eight bytes at a time while they last, so a whole number takes one
/// step with no per-digit branch; returns it and where the digits end.
#[inline]
fn read_digit_run(buf: &[u8], mut i: usize, mut num: u64) -> (u64, usize) {
    while i + 8 <= buf.len() {
        let word = word_at(buf, i);
        let k = leading_digits(word);
        if k == 0 {
            break;
        }
        num = num
            .wrapping_mul(POW10[k])
            .wrapping_add(digits_value(word, k));
        i += k;
        if k < 8 {
            break;
        }
    }
    while i < buf.len() {
        let d = buf[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        num = num.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    (num, i)
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// The index of the first non-whitespace byte at or after `i`: runs of
/// whitespace between numbers (pretty-printed files) are skipped in one loop.
#[inline]
fn skip_ws(buf: &[u8], i: usize) -> usize {
    buf[i..]
        .iter()
        .position(|&b| !is_ws(b))
        .map_or(buf.len(), |p| i + p)
}

/// Adds a node's self size to the running total, `None` once the total
/// leaves the range JavaScript numbers hold exactly.
fn add_self_size(total: u64, size: u64) -> Option<u64> {
    total.checked_add(size).filter(|&t| t <= MAX_SAFE_INTEGER)
}

fn self_sizes_too_large(near: Option<u64>) -> SnapshotError {
    let place = near.map_or(String::new(), |o| format!(" (by byte {o})"));
    SnapshotError::TooLarge(format!(
        "self sizes add up to more than 2^53-1 bytes{place}, which totals could not hold exactly"
    ))
}

/// Counts the header declares beyond what the columns can index are refused
/// before any data is read (the data itself is checked as it arrives).
fn check_declared_counts(meta: &Meta) -> Result<()> {
    if meta.node_count > MAX_NODES {
        return Err(SnapshotError::TooLarge(format!(
            "node_count {} exceeds the {MAX_NODES} nodes supported",
            meta.node_count
        )));
    }
    if meta.edge_count > MAX_EDGES {
        return Err(SnapshotError::TooLarge(format!(
            "edge_count {} exceeds the {MAX_EDGES} edges supported",
            meta.edge_count
        )));
    }
    Ok(())
}

fn lock_pool(pool: &std::sync::Mutex<Vec<SplitScan>>) -> std::sync::MutexGuard<'_, Vec<SplitScan>> {
    pool.lock().unwrap_or_else(|e| e.into_inner())
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

#[cfg(test)]
mod word_scan_tests {
    use super::{digits_value, leading_digits, DivideBy};

    #[test]
    fn division_by_multiplication_is_exact() {
        for divisor in [2u64, 3, 6, 7, 8, 12, 255, 65_537, u32::MAX as u64] {
            let d = DivideBy::new(divisor);
            let edges = [0, 1, divisor - 1, divisor, divisor + 1, u32::MAX as u64 - 1];
            let spread = (0..20_000u64).map(|i| i.wrapping_mul(0x9E37_79B9) & 0xFFFF_FFFF);
            let beyond = [1u64 << 32, (1 << 40) + 3, u64::MAX];
            for n in edges.into_iter().chain(spread).chain(beyond) {
                assert_eq!(d.div_rem(n), (n / divisor, n % divisor), "{n} / {divisor}");
            }
        }
    }

    fn naive(bytes: &[u8; 8]) -> (usize, u64) {
        let k = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let v = bytes[..k]
            .iter()
            .fold(0u64, |v, b| v * 10 + (b - b'0') as u64);
        (k, v)
    }

    #[test]
    fn word_scan_matches_byte_by_byte_on_every_mix() {
        // Bytes that sit next to the digit range or carry when bumped.
        let alphabet = b"0123456789,] /:\x00\x2f\x3a\xfa\xff\xf9\x80-.e";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            let mut bytes = [0u8; 8];
            for b in bytes.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly digits, so that long runs are common.
                let pick = (state % 40) as usize;
                *b = if pick < 24 {
                    b'0' + (pick % 10) as u8
                } else {
                    alphabet[pick % alphabet.len()]
                };
            }
            let word = u64::from_le_bytes(bytes);
            let (k, v) = naive(&bytes);
            assert_eq!(leading_digits(word), k, "{bytes:?}");
            if k > 0 {
                assert_eq!(digits_value(word, k), v, "{bytes:?}");
            }
        }
        assert_eq!(leading_digits(u64::from_le_bytes(*b"99999999")), 8);
        assert_eq!(
            digits_value(u64::from_le_bytes(*b"99999999"), 8),
            99_999_999
        );
        assert_eq!(digits_value(u64::from_le_bytes(*b"7,123456"), 1), 7);
    }
}

#[cfg(test)]
pub(crate) mod hostile_tests;
