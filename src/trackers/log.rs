//! A log bounded by entry count and bytes, stored outside the JS heap.
//!
//! Entries never vanish silently: an eviction (`drop-oldest`) or refusal
//! (`reject`, or an entry larger than `max_bytes`) is counted, and when a
//! spill file is configured the entry is appended to it as one JSON line.
//!
//! `max_bytes` bounds payload bytes. What the log holds beyond them is
//! bounded too: the byte ring never grows past `max_bytes`, one `ENTRY_SLOT`
//! per slot and the slot ring never past `max_entries` slots, plus the fixed
//! size of the log itself (and the spill file's write buffer). `held_bytes`
//! adds these up from the live allocations.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    DropOldest,
    Reject,
}

impl Overflow {
    pub fn parse(s: &str) -> Option<Overflow> {
        match s {
            "drop-oldest" => Some(Overflow::DropOldest),
            "reject" => Some(Overflow::Reject),
            _ => None,
        }
    }
}

/// How an entry came in, so it goes back out as the same JS type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text = 0,
    Bytes = 1,
    Json = 2,
}

impl Kind {
    pub fn from_u32(k: u32) -> Option<Kind> {
        match k {
            0 => Some(Kind::Text),
            1 => Some(Kind::Bytes),
            2 => Some(Kind::Json),
            _ => None,
        }
    }
}

/// An entry as read back out (a copy: the log keeps its own bytes).
pub struct Entry {
    pub kind: Kind,
    pub data: Box<[u8]>,
}

/// Bytes in a circular buffer. It doubles when full but never past a limit
/// (the log's `max_bytes`), so its capacity need not be a power of two:
/// wrapping is a compare and a subtraction, not a division.
#[derive(Default)]
struct ByteRing {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl ByteRing {
    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Physical index of logical position `i` (< capacity).
    fn at(&self, i: usize) -> usize {
        let p = self.head + i;
        if p >= self.buf.len() {
            p - self.buf.len()
        } else {
            p
        }
    }

    fn grow(&mut self, need: usize, limit: usize) {
        let want = self.len + need;
        let cap = (self.buf.len() * 2).max(256).min(limit).max(want);
        let mut buf = vec![0u8; cap];
        let (a, b) = self.slices(0, self.len);
        buf[..a.len()].copy_from_slice(a);
        buf[a.len()..self.len].copy_from_slice(b);
        self.buf = buf;
        self.head = 0;
    }

    /// Appends `data`, growing up to `limit` bytes of capacity (or what the
    /// data needs, if more).
    fn push(&mut self, data: &[u8], limit: usize) {
        if self.buf.len() - self.len < data.len() {
            self.grow(data.len(), limit);
        }
        if data.is_empty() {
            return;
        }
        let cap = self.buf.len();
        let at = self.at(self.len);
        let first = data.len().min(cap - at);
        self.buf[at..at + first].copy_from_slice(&data[..first]);
        self.buf[..data.len() - first].copy_from_slice(&data[first..]);
        self.len += data.len();
    }

    /// The `n` bytes from `start` (counted from the head), as up to two slices.
    fn slices(&self, start: usize, n: usize) -> (&[u8], &[u8]) {
        if n == 0 {
            return (&[], &[]);
        }
        let cap = self.buf.len();
        let at = self.at(start);
        let first = n.min(cap - at);
        (&self.buf[at..at + first], &self.buf[..n - first])
    }

    fn copy(&self, start: usize, n: usize) -> Vec<u8> {
        let (a, b) = self.slices(start, n);
        let mut v = Vec::with_capacity(n);
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        v
    }

    fn pop(&mut self, n: usize) {
        let n = n.min(self.len);
        if n > 0 {
            self.head = self.at(n);
            self.len -= n;
        }
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// Where an entry's bytes are: `offset` counts every byte ever stored, so
/// evicting from the front never renumbers the entries behind.
#[derive(Clone, Copy)]
struct Slot {
    offset: u64,
    len: u32,
    kind: Kind,
}

/// Bytes each entry costs beyond its payload: its slot in the slot ring.
pub const ENTRY_SLOT: usize = std::mem::size_of::<Slot>();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    pub max_entries: u64,
    pub max_bytes: u64,
    pub overflow: Overflow,
    pub spill_to: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open spill file {path}: {source}")]
    SpillOpen {
        path: String,
        source: std::io::Error,
    },
    #[error("maxEntries and maxBytes must be at least 1")]
    ZeroBound,
}

impl LogError {
    pub fn code(&self) -> &'static str {
        match self {
            LogError::SpillOpen { .. } => "ERR_LOG_SPILL",
            LogError::ZeroBound => "ERR_INVALID_ARG",
        }
    }
}

/// Opens a spill file for appending. Entries are the application's data, so
/// the file is created 0600, a link in its place is refused rather than
/// followed, and an existing file must be a regular file of this user's; one
/// with a looser mode is narrowed to 0600 before anything is written.
fn open_spill(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = file.metadata()?;
        let refuse = |why: &str| {
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                why.to_string(),
            ))
        };
        if !meta.is_file() {
            return refuse("not a regular file");
        }
        // SAFETY: geteuid has no preconditions.
        if meta.uid() != unsafe { libc::geteuid() } {
            return refuse("owned by another user");
        }
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

struct Spill {
    out: BufWriter<File>,
    lines: u64,
    errors: u64,
}

impl Spill {
    fn write(&mut self, kind: Kind, data: &[u8]) {
        let ok = write_json_line(&mut self.out, kind, data).is_ok();
        if ok {
            self.lines += 1;
        } else {
            self.errors += 1;
        }
    }
}

/// Strings as JSON strings, JSON values verbatim, bytes the way
/// `JSON.stringify(buffer)` writes them, so a reader needs no special format.
fn write_json_line(out: &mut impl Write, kind: Kind, data: &[u8]) -> std::io::Result<()> {
    match kind {
        Kind::Json => out.write_all(data)?,
        Kind::Text => {
            let s = String::from_utf8_lossy(data);
            serde_json::to_writer(&mut *out, &s).map_err(std::io::Error::other)?;
        }
        Kind::Bytes => {
            out.write_all(b"{\"type\":\"Buffer\",\"data\":[")?;
            for (i, b) in data.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{b}")?;
            }
            out.write_all(b"]}")?;
        }
    }
    out.write_all(b"\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    pub size: u64,
    pub bytes: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub spilled: u64,
    pub spill_errors: u64,
    pub held_bytes: u64,
}

/// Entries are stored back to back in one byte ring plus a ring of slots,
/// not one allocation each: a malloc/free pair per entry cost more than the
/// rest of a batched push.
pub struct BoundedLog {
    opts: LogOptions,
    data: ByteRing,
    /// `offset` of the first byte in `data`.
    data_start: u64,
    entries: VecDeque<Slot>,
    bytes: u64,
    dropped: u64,
    rejected: u64,
    /// Sequence number of `entries[0]`; lets readers page through a log that
    /// is evicting underneath them.
    first_seq: u64,
    spill: Option<Spill>,
}

impl BoundedLog {
    pub fn new(opts: LogOptions) -> Result<Self, LogError> {
        if opts.max_entries == 0 || opts.max_bytes == 0 {
            return Err(LogError::ZeroBound);
        }
        let spill = match &opts.spill_to {
            None => None,
            Some(path) => {
                let file = open_spill(Path::new(path)).map_err(|source| LogError::SpillOpen {
                    path: path.clone(),
                    source,
                })?;
                Some(Spill {
                    out: BufWriter::new(file),
                    lines: 0,
                    errors: 0,
                })
            }
        };
        Ok(BoundedLog {
            opts,
            data: ByteRing::default(),
            data_start: 0,
            entries: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            rejected: 0,
            first_seq: 0,
            spill,
        })
    }

    pub fn options(&self) -> &LogOptions {
        &self.opts
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Payload bytes held.
    pub fn payload_bytes(&self) -> u64 {
        self.bytes
    }

    fn bytes_of(&self, slot: &Slot) -> Vec<u8> {
        let start = (slot.offset - self.data_start) as usize;
        self.data.copy(start, slot.len as usize)
    }

    fn copy(&self, slot: &Slot) -> Entry {
        Entry {
            kind: slot.kind,
            data: self.bytes_of(slot).into(),
        }
    }

    /// Removes the oldest entry, spilling it when evicted rather than taken.
    fn pop_oldest(&mut self, spill: bool) -> Option<Slot> {
        let slot = self.entries.pop_front()?;
        if spill && self.spill.is_some() {
            let data = self.bytes_of(&slot);
            if let Some(s) = self.spill.as_mut() {
                s.write(slot.kind, &data);
            }
        }
        self.data.pop(slot.len as usize);
        self.data_start += u64::from(slot.len);
        self.bytes -= u64::from(slot.len);
        self.first_seq += 1;
        Some(slot)
    }

    /// Stores the entry, or refuses it; false means it was counted as rejected.
    pub fn push(&mut self, kind: Kind, data: &[u8]) -> bool {
        let len = data.len() as u64;
        let full = |log: &Self| {
            log.entries.len() as u64 >= log.opts.max_entries || log.bytes + len > log.opts.max_bytes
        };
        // An entry's length is kept as u32: a larger one is refused like an oversize one.
        if len > self.opts.max_bytes.min(u64::from(u32::MAX))
            || (self.opts.overflow == Overflow::Reject && full(self))
        {
            self.rejected += 1;
            if let Some(s) = self.spill.as_mut() {
                s.write(kind, data);
            }
            return false;
        }
        while full(self) && self.pop_oldest(true).is_some() {
            self.dropped += 1;
        }
        self.make_room(1);
        self.entries.push_back(Slot {
            offset: self.data_start + self.data.len() as u64,
            len: len as u32,
            kind,
        });
        self.data.push(data, self.byte_limit());
        self.bytes += len;
        true
    }

    /// The byte ring's capacity limit.
    fn byte_limit(&self) -> usize {
        usize::try_from(self.opts.max_bytes).unwrap_or(usize::MAX)
    }

    /// Grows the slot ring by doubling as `VecDeque` would, but never past
    /// `max_entries` slots, so the slots stay inside the documented bound.
    fn make_room(&mut self, n: usize) {
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if len + n <= cap {
            return;
        }
        let limit = usize::try_from(self.opts.max_entries).unwrap_or(usize::MAX);
        let want = (cap * 2).max(4).min(limit).max(len + n);
        self.entries.reserve_exact(want - len);
    }

    /// Heap and inline bytes this log owns: itself, its slot ring, its byte
    /// ring, and the spill buffer and path. (Allocator bookkeeping is not
    /// included.)
    pub fn held_bytes(&self) -> u64 {
        let spill = self.spill.as_ref().map_or(0, |s| s.out.capacity())
            + self.opts.spill_to.as_ref().map_or(0, String::capacity);
        (std::mem::size_of::<Self>()
            + self.entries.capacity() * ENTRY_SLOT
            + self.data.capacity()
            + spill) as u64
    }

    /// Stores a batch staged by the JS facade: `units` is the entries
    /// joined, as UTF-16; `meta[i]` is entry i's length in units times two,
    /// plus one for JSON. Each entry is converted on its own, so a lone
    /// surrogate becomes U+FFFD as it would in a single push even when the
    /// next entry starts with its partner. False, storing nothing, when the
    /// lengths do not add up to `units`.
    pub fn push_batch(&mut self, units: &[u16], meta: &[u32]) -> bool {
        let total: u64 = meta.iter().map(|m| u64::from(m >> 1)).sum();
        if total != units.len() as u64 {
            return false;
        }
        let mut bytes = Vec::with_capacity(units.len());
        let mut cuts = Vec::with_capacity(meta.len());
        // An OR over all units vectorises; `all()` stops early and does not.
        if units.iter().fold(0u16, |acc, &u| acc | u) < 0x80 {
            bytes.extend(units.iter().map(|&u| u as u8));
            let mut end = 0;
            for m in meta {
                end += (m >> 1) as usize;
                cuts.push(end);
            }
        } else {
            let mut start = 0;
            for m in meta {
                let end = start + (m >> 1) as usize;
                bytes.extend_from_slice(String::from_utf16_lossy(&units[start..end]).as_bytes());
                cuts.push(bytes.len());
                start = end;
            }
        }
        let kind = |m: u32| if m & 1 == 1 { Kind::Json } else { Kind::Text };
        let longest = cuts
            .iter()
            .scan(0, |prev, &end| Some(end - std::mem::replace(prev, end)))
            .max()
            .unwrap_or(0) as u64;
        if self.opts.overflow == Overflow::Reject || longest > self.opts.max_bytes {
            let mut start = 0;
            for (m, end) in meta.iter().zip(cuts) {
                self.push(kind(*m), &bytes[start..end]);
                start = end;
            }
            return true;
        }
        // Every entry fits on its own, so pushing them one by one would leave
        // the longest suffix of (held entries, batch) within both bounds.
        // That suffix is worked out first: the batch entries it starts
        // from, then evictions, so memory never exceeds the bounds; the
        // bytes kept go in with one copy.
        let lens: Vec<u64> = cuts
            .iter()
            .scan(0, |prev, &end| {
                Some((end - std::mem::replace(prev, end)) as u64)
            })
            .collect();
        let n = lens.len();
        let mut first = n;
        let mut kept_bytes = 0u64;
        while first > 0
            && (n - first + 1) as u64 <= self.opts.max_entries
            && kept_bytes + lens[first - 1] <= self.opts.max_bytes
        {
            first -= 1;
            kept_bytes += lens[first];
        }
        let kept = (n - first) as u64;
        // A batch entry that does not make it means no held entry does.
        while (first > 0
            || self.entries.len() as u64 + kept > self.opts.max_entries
            || self.bytes + kept_bytes > self.opts.max_bytes)
            && self.pop_oldest(true).is_some()
        {
            self.dropped += 1;
        }
        let start = if first == 0 { 0 } else { cuts[first - 1] };
        for i in 0..first {
            let from = if i == 0 { 0 } else { cuts[i - 1] };
            if let Some(s) = self.spill.as_mut() {
                s.write(kind(meta[i]), &bytes[from..cuts[i]]);
            }
        }
        self.dropped += first as u64;
        self.first_seq += first as u64;
        self.make_room(n - first);
        let next = self.data_start + self.data.len() as u64;
        let mut from = start;
        for i in first..n {
            self.entries.push_back(Slot {
                offset: next + (from - start) as u64,
                len: lens[i] as u32,
                kind: kind(meta[i]),
            });
            from = cuts[i];
        }
        self.data.push(&bytes[start..], self.byte_limit());
        self.bytes += kept_bytes;
        true
    }

    /// Entries dropped before they reached the store, counted: staged ones
    /// the facade overwrote (they were older than the newest `max_entries`
    /// pushes, so storing them would have evicted them too), and staged ones
    /// a thread stopped mid-job (`worker.terminate()`) never handed over.
    pub fn count_dropped_unstored(&mut self, n: u64) {
        self.dropped += n;
    }

    pub fn stats(&self) -> LogStats {
        LogStats {
            size: self.entries.len() as u64,
            bytes: self.bytes,
            dropped: self.dropped,
            rejected: self.rejected,
            spilled: self.spill.as_ref().map_or(0, |s| s.lines),
            spill_errors: self.spill.as_ref().map_or(0, |s| s.errors),
            held_bytes: self.held_bytes(),
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    /// Up to `max` entries starting at sequence number `from` (or at the
    /// oldest entry still held, if `from` was evicted), and the sequence
    /// number to continue from.
    pub fn read_from(&self, from: u64, max: usize) -> (Vec<Entry>, u64) {
        let start = from.saturating_sub(self.first_seq) as usize;
        let got: Vec<Entry> = self
            .entries
            .iter()
            .skip(start)
            .take(max)
            .map(|s| self.copy(s))
            .collect();
        let next = self.first_seq + (start + got.len()) as u64;
        (got, next)
    }

    pub fn tail(&self, n: usize) -> Vec<Entry> {
        let skip = self.entries.len().saturating_sub(n);
        self.entries
            .iter()
            .skip(skip)
            .map(|s| self.copy(s))
            .collect()
    }

    /// Removes and returns everything held; taken entries are not drops.
    pub fn drain(&mut self) -> Vec<Entry> {
        let taken = self.entries.iter().map(|s| self.copy(s)).collect();
        self.clear();
        taken
    }

    pub fn clear(&mut self) {
        self.first_seq = self.next_seq();
        self.data_start += self.data.len() as u64;
        self.bytes = 0;
        self.data.clear();
        self.entries.clear();
    }

    pub fn flush(&mut self) {
        if let Some(s) = self.spill.as_mut() {
            if s.out.flush().is_err() {
                s.errors += 1;
            }
        }
    }
}

impl Drop for BoundedLog {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(max_entries: u64, max_bytes: u64, overflow: Overflow) -> LogOptions {
        LogOptions {
            max_entries,
            max_bytes,
            overflow,
            spill_to: None,
        }
    }

    fn text(s: &str) -> &[u8] {
        s.as_bytes()
    }

    fn texts(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.data).into_owned())
            .collect()
    }

    #[test]
    fn drop_oldest_bounds_count_and_bytes() {
        let mut log = BoundedLog::new(opts(3, 10, Overflow::DropOldest)).unwrap();
        for s in ["aa", "bb", "cc", "dd"] {
            assert!(log.push(Kind::Text, text(s)));
        }
        assert_eq!(texts(&log.tail(10)), ["bb", "cc", "dd"]);
        assert!(log.push(Kind::Text, text("eeeeeeee")));
        assert_eq!(texts(&log.tail(10)), ["dd", "eeeeeeee"]);
        let st = log.stats();
        assert_eq!((st.size, st.bytes, st.dropped, st.rejected), (2, 10, 3, 0));
    }

    #[test]
    fn reject_refuses_when_full_and_oversize_is_always_refused() {
        let mut log = BoundedLog::new(opts(2, 100, Overflow::Reject)).unwrap();
        assert!(log.push(Kind::Text, text("a")));
        assert!(log.push(Kind::Text, text("b")));
        assert!(!log.push(Kind::Text, text("c")));
        let mut log2 = BoundedLog::new(opts(2, 4, Overflow::DropOldest)).unwrap();
        assert!(!log2.push(Kind::Text, text("12345")));
        assert_eq!(log.stats().rejected, 1);
        assert_eq!(log2.stats().rejected, 1);
        assert_eq!(log2.stats().size, 0);
    }

    #[test]
    fn read_from_pages_across_evictions() {
        let mut log = BoundedLog::new(opts(3, 100, Overflow::DropOldest)).unwrap();
        for s in ["a", "b", "c"] {
            log.push(Kind::Text, text(s));
        }
        let (got, next) = log.read_from(0, 2);
        assert_eq!(texts(&got), ["a", "b"]);
        log.push(Kind::Text, text("d"));
        log.push(Kind::Text, text("e"));
        let (got, next) = log.read_from(next, 10);
        assert_eq!(texts(&got), ["c", "d", "e"]);
        assert_eq!(next, 5);
        log.push(Kind::Text, text("f"));
        log.push(Kind::Text, text("g"));
        log.push(Kind::Text, text("h"));
        log.push(Kind::Text, text("i"));
        // "f" was evicted before the reader came back: it resumes at the oldest.
        let (got, _) = log.read_from(next, 10);
        assert_eq!(texts(&got), ["g", "h", "i"]);
    }

    #[test]
    fn drain_and_clear_empty_without_counting_drops() {
        let mut log = BoundedLog::new(opts(5, 100, Overflow::DropOldest)).unwrap();
        log.push(Kind::Text, text("a"));
        log.push(Kind::Json, text("{\"x\":1}"));
        let drained = log.drain();
        assert_eq!(drained.len(), 2);
        assert_eq!(drained[1].kind, Kind::Json);
        log.push(Kind::Text, text("b"));
        log.clear();
        let st = log.stats();
        assert_eq!((st.size, st.bytes, st.dropped), (0, 0, 0));
        assert_eq!(log.read_from(0, 10).1, 3);
    }

    #[cfg(unix)]
    #[test]
    fn spill_files_are_0600_never_through_a_link_never_someone_elses_kind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("leakwatch-spill-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let fresh = dir.join("new.jsonl");
        open_spill(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        let loose = dir.join("loose.jsonl");
        std::fs::write(&loose, "old line\n").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_spill(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600, "a looser existing file is narrowed");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(
            open_spill(&link).is_err(),
            "a link is refused, not followed"
        );
        assert!(open_spill(&dir).is_err(), "a directory is not a spill file");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spill_writes_json_lines_for_every_lost_entry() {
        let dir = std::env::temp_dir().join(format!("leakwatch-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spill.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut o = opts(1, 7, Overflow::DropOldest);
        o.spill_to = Some(path.to_string_lossy().into_owned());
        let mut log = BoundedLog::new(o).unwrap();
        log.push(Kind::Text, text("he\"y"));
        log.push(Kind::Bytes, &[1u8, 255]);
        log.push(Kind::Json, text("{\"a\":1}"));
        log.push(Kind::Text, text("too long!"));
        assert_eq!(log.stats().spilled, 3);
        drop(log);
        let got = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            got,
            "\"he\\\"y\"\n{\"type\":\"Buffer\",\"data\":[1,255]}\n\"too long!\"\n"
        );
    }

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn batches_split_by_utf16_lengths_each_entry_converted_alone() {
        let mut log = BoundedLog::new(opts(10, 100, Overflow::DropOldest)).unwrap();
        // "é" is one UTF-16 unit and two UTF-8 bytes; "😀" is two units, four bytes.
        let meta = [2 << 1, 3 << 1, (7 << 1) | 1, 1 << 1];
        assert!(log.push_batch(&utf16("abé😀{\"a\":1}x"), &meta));
        let got = log.tail(10);
        assert_eq!(texts(&got), ["ab", "é😀", "{\"a\":1}", "x"]);
        assert_eq!(got[2].kind, Kind::Json);
        assert_eq!(log.stats().bytes, 2 + 6 + 7 + 1);
        // A pair cut in two is two lone surrogates, each replaced.
        assert!(log.push_batch(&utf16("😀"), &[1 << 1, 1 << 1]));
        assert_eq!(texts(&log.tail(2)), ["\u{FFFD}", "\u{FFFD}"]);
        // Lengths that do not cover the units store nothing.
        assert!(!log.push_batch(&utf16("abc"), &[2 << 1]));
        assert!(!log.push_batch(&utf16("ab"), &[3 << 1]));
        assert_eq!(log.stats().size, 6);
    }

    #[test]
    fn a_batch_leaves_what_pushing_one_by_one_leaves() {
        let words: Vec<String> = (0..40).map(|i| "w".repeat(1 + i % 7)).collect();
        let text = utf16(&words.concat());
        let meta: Vec<u32> = words.iter().map(|w| (w.len() as u32) << 1).collect();
        let dir = std::env::temp_dir().join(format!("leakwatch-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut spilled = Vec::new();
        for (name, overflow) in [("drop", Overflow::DropOldest), ("reject", Overflow::Reject)] {
            let mut pair = Vec::new();
            for how in ["one", "batch"] {
                let path = dir.join(format!("{name}-{how}.jsonl"));
                let _ = std::fs::remove_file(&path);
                let mut o = opts(9, 30, overflow);
                o.spill_to = Some(path.to_string_lossy().into_owned());
                let mut log = BoundedLog::new(o).unwrap();
                if how == "one" {
                    for w in &words {
                        log.push(Kind::Text, w.as_bytes());
                    }
                } else {
                    assert!(log.push_batch(&text, &meta));
                }
                // Held memory depends on how the rings grew, not on what they hold.
                let stats = LogStats {
                    held_bytes: 0,
                    ..log.stats()
                };
                pair.push((texts(&log.tail(100)), stats, log.next_seq()));
                drop(log);
                spilled.push(std::fs::read_to_string(&path).unwrap());
            }
            assert_eq!(pair[0], pair[1], "{name}");
            assert!(
                pair[0].1.dropped + pair[0].1.rejected > 0,
                "{name} overflowed"
            );
        }
        assert_eq!(spilled[0], spilled[1]);
        assert_eq!(spilled[2], spilled[3]);
    }

    /// The documented bound: payload bound + one slot per allowed entry + the
    /// log itself (+ the spill buffer).
    fn bound(o: &LogOptions, spill: u64) -> u64 {
        o.max_bytes
            + o.max_entries * ENTRY_SLOT as u64
            + std::mem::size_of::<BoundedLog>() as u64
            + spill
    }

    #[test]
    fn held_bytes_are_the_allocations_and_stay_within_the_bound() {
        let dir = std::env::temp_dir().join(format!("leakwatch-held-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spill_path = dir.join("held.jsonl").to_string_lossy().into_owned();
        let spill_path_len = spill_path.len() as u64;
        let mut spilling = opts(40, 3_000, Overflow::Reject);
        spilling.spill_to = Some(spill_path);
        // Count-bound, byte-bound and spilling logs, with empty and oversize
        // payloads among the entries, pushed one by one and in batches.
        for (o, spill) in [
            (opts(50, 2_000, Overflow::DropOldest), 0),
            (opts(1_000, 1 << 20, Overflow::DropOldest), 0),
            (spilling, 8 * 1024 + spill_path_len),
        ] {
            let base = crate::test_alloc::live_bytes();
            let mut log = Box::new(BoundedLog::new(o.clone()).unwrap());
            for i in 0..5_000usize {
                let len = (i * 37) % 90;
                if i % 10 == 0 {
                    let words: Vec<String> =
                        (0..20).map(|j| "y".repeat((len + j * 7) % 90)).collect();
                    let meta: Vec<u32> = words.iter().map(|w| (w.len() as u32) << 1).collect();
                    assert!(log.push_batch(&utf16(&words.concat()), &meta));
                } else {
                    let kind = if i % 3 == 0 { Kind::Bytes } else { Kind::Text };
                    log.push(kind, &vec![b'x'; len]);
                }
                let held = log.held_bytes();
                assert_eq!(
                    held as isize,
                    crate::test_alloc::live_bytes() - base,
                    "push {i}"
                );
                assert!(
                    held <= bound(&o, spill),
                    "push {i}: {held} > {}",
                    bound(&o, spill)
                );
            }
            // Neither ring grows past its bound.
            assert!(log.entries.capacity() as u64 <= o.max_entries);
            assert!(log.data.capacity() as u64 <= o.max_bytes);
            log.clear();
            assert_eq!(
                log.held_bytes() as isize,
                crate::test_alloc::live_bytes() - base
            );
            drop(log);
            assert_eq!(crate::test_alloc::live_bytes(), base);
        }
    }

    #[test]
    fn zero_bounds_and_unwritable_spill_are_errors() {
        assert_eq!(
            BoundedLog::new(opts(0, 1, Overflow::Reject))
                .err()
                .map(|e| e.code()),
            Some("ERR_INVALID_ARG")
        );
        let mut o = opts(1, 1, Overflow::Reject);
        o.spill_to = Some("/nonexistent-dir/x/y.jsonl".into());
        assert_eq!(
            BoundedLog::new(o).err().map(|e| e.code()),
            Some("ERR_LOG_SPILL")
        );
    }
}
