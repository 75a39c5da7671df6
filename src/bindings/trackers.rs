//! Per-thread registries for listeners and timers, and the bounded log.
//!
//! Everything is a plain function over thread-local state: napi-rs class
//! methods create and drop a reference to `this` on every call, which made a
//! call several times slower than a plain function, and these calls sit on
//! the hot path of every `on()` and `setTimeout()`.

use super::errors::{invalid_arg, js_error, to_integer};
use crate::fault::{self, Site};
use crate::trackers::cells::CellPages;
use crate::trackers::listeners::{self, ListenerRegistry};
use crate::trackers::log::{BoundedLog, Entry, Kind, LogOptions, Overflow};
use crate::trackers::timers::{self, TimerRegistry};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

const DEFAULT_SAMPLES: u32 = 3;

static LIVE_STATES: AtomicUsize = AtomicUsize::new(0);

type SharedLog = Arc<Mutex<BoundedLog>>;

/// Every log with a spill file, so process exit can flush them all.
static SPILLING: Lazy<Mutex<Vec<Weak<Mutex<BoundedLog>>>>> = Lazy::new(|| Mutex::new(Vec::new()));
/// Named logs that several threads open together.
static SHARED: Lazy<Mutex<HashMap<String, Weak<Mutex<BoundedLog>>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// Tracker state of one JS thread. Node runs each worker on its own thread,
/// so a thread-local is per-environment state that the worker's exit frees,
/// without taking the environment's single instance-data slot.
struct ThreadState {
    listeners: Mutex<ListenerRegistry>,
    timers: Mutex<TimerRegistry>,
    logs: Mutex<HashMap<u32, OpenLog>>,
    /// Per open log: how many entries the facade has staged and not yet
    /// handed over (`STAGED`, written by JS on every staged push), and the
    /// entries and payload bytes the log held after this thread's last call
    /// (`SIZE`, `BYTES`, written here: a reject-mode log of one thread stages
    /// an entry only when these say it surely fits).
    staged: Mutex<CellPages>,
    next_log: Cell<u32>,
}

/// A log as this thread holds it.
struct OpenLog {
    log: SharedLog,
    /// Its record in `ThreadState::staged`.
    staged: u32,
}

const STAGED_PER_PAGE: usize = 256;
const STAGED: usize = 0;
const SIZE: usize = 1;
const BYTES: usize = 2;
const STAGED_FIELDS: usize = 3;

impl ThreadState {
    fn new() -> Self {
        LIVE_STATES.fetch_add(1, Ordering::Relaxed);
        ThreadState {
            listeners: Mutex::new(ListenerRegistry::new(DEFAULT_SAMPLES)),
            timers: Mutex::new(TimerRegistry::new()),
            logs: Mutex::new(HashMap::new()),
            staged: Mutex::new(CellPages::new(STAGED_FIELDS, STAGED_PER_PAGE)),
            next_log: Cell::new(1),
        }
    }
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        let staged = self.staged.get_mut();
        for open in self.logs.get_mut().values() {
            let mut log = open.log.lock();
            // Only a thread stopped mid-job leaves staged entries behind.
            log.count_dropped_unstored(staged.get(open.staged, STAGED) as u64);
            log.flush();
        }
        LIVE_STATES.fetch_sub(1, Ordering::Relaxed);
    }
}

thread_local! {
    static STATE: ThreadState = ThreadState::new();
}

fn with_state<T>(f: impl FnOnce(&ThreadState) -> T) -> T {
    STATE.with(f)
}

/// An ArrayBuffer over memory that Rust keeps owning (no finalizer frees it).
/// A runtime that refuses external buffers would hand JS a copy, and the
/// counters JS writes would never reach Rust: that is an error, not a
/// silent zero.
fn external<'e>(env: &'e Env, ptr: *mut u8, bytes: usize) -> napi::Result<ArrayBuffer<'e>> {
    // SAFETY: `ptr..ptr+bytes` is a live allocation owned by this thread's
    // registry, never moved or freed before the thread's JS is gone.
    let ab = unsafe { ArrayBuffer::from_external(env, ptr, bytes, (), |_, _| {}) }?;
    if !std::ptr::eq(ab.as_ptr(), ptr) {
        return Err(js_error(
            "ERR_NO_EXTERNAL_MEMORY",
            "this runtime copies external ArrayBuffers; leakwatch's trackers need them shared",
        ));
    }
    Ok(ab)
}

/// A bound: a positive integer, or Infinity for none.
fn to_bound(v: f64, what: &str) -> napi::Result<u64> {
    if v == f64::INFINITY {
        return Ok(u64::MAX);
    }
    match to_integer(v, what)? {
        0 => Err(invalid_arg(format!("{what} must be at least 1"))),
        n => Ok(n),
    }
}

// ---------------------------------------------------------------- listeners

#[napi(object)]
pub struct ListenerGrowth {
    pub emitter: String,
    pub event: String,
    pub count: f64,
    pub peak: f64,
    pub top_site: Option<String>,
    /// Listeners still attached that the top site's samples stand for.
    pub top_site_count: f64,
    /// The top site's part of the sampled listeners still attached, 0 to 1.
    pub top_site_share: f64,
    /// Stacks captured for this event.
    pub samples: f64,
}

#[napi(object)]
pub struct AddSite {
    pub site: String,
    /// Listeners from this site still attached, as its samples stand for them.
    pub count: f64,
    /// Adds from this site, estimated the same way.
    pub adds: f64,
    pub samples: f64,
    /// This site's part of the sampled listeners still attached.
    pub share: f64,
}

#[napi(object)]
pub struct ListenerEventReport {
    pub event: String,
    pub count: f64,
    pub peak: f64,
    pub adds: f64,
    pub removes: f64,
    pub rising: u32,
    pub warned: bool,
    pub sites: Vec<AddSite>,
}

#[napi(object)]
pub struct ListenerEmitterReport {
    pub id: u32,
    pub name: String,
    pub threshold: f64,
    pub events: Vec<ListenerEventReport>,
}

impl From<listeners::Growth> for ListenerGrowth {
    fn from(g: listeners::Growth) -> Self {
        ListenerGrowth {
            emitter: g.emitter,
            event: g.event,
            count: g.count as f64,
            peak: g.peak as f64,
            top_site: g.top_site,
            top_site_count: g.top_site_count as f64,
            top_site_share: g.top_site_share,
            samples: g.samples as f64,
        }
    }
}

impl From<listeners::EmitterReport> for ListenerEmitterReport {
    fn from(e: listeners::EmitterReport) -> Self {
        ListenerEmitterReport {
            id: e.id,
            name: e.name,
            threshold: e.threshold as f64,
            events: e
                .events
                .into_iter()
                .map(|ev| ListenerEventReport {
                    event: ev.event,
                    count: ev.count as f64,
                    peak: ev.peak as f64,
                    adds: ev.adds as f64,
                    removes: ev.removes as f64,
                    rising: ev.rising,
                    warned: ev.warned,
                    sites: ev
                        .sites
                        .into_iter()
                        .map(|s| AddSite {
                            site: s.site,
                            count: s.count as f64,
                            adds: s.adds as f64,
                            samples: s.samples as f64,
                            share: s.share,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[napi(catch_unwind)]
pub fn listener_set_samples(samples: u32) {
    with_state(|s| s.listeners.lock().set_samples(samples))
}

/// An emitter the facade watches; its id is cached by the facade.
#[napi(catch_unwind)]
pub fn listener_register(name: String, threshold: f64) -> napi::Result<u32> {
    let threshold = to_bound(threshold, "threshold")?;
    Ok(with_state(|s| {
        s.listeners.lock().register(&name, threshold)
    }))
}

/// The key for an event, or null when the emitter is no longer tracked.
#[napi(catch_unwind)]
pub fn listener_key(emitter: u32, event: String, floor: f64) -> napi::Result<Option<u32>> {
    let floor = to_integer(floor, "floor")?;
    Ok(with_state(|s| {
        s.listeners.lock().key(emitter, &event, floor)
    }))
}

#[napi(catch_unwind)]
pub fn listener_add_site(key: u32, site: String, adds: f64) {
    let adds = to_integer(adds, "adds").unwrap_or(1);
    with_state(|s| s.listeners.lock().add_site(key, &site, adds))
}

/// A sampled listener from `site` was found no longer attached.
#[napi(catch_unwind)]
pub fn listener_detach_site(key: u32, site: String, adds: f64) {
    let adds = to_integer(adds, "adds").unwrap_or(1);
    with_state(|s| s.listeners.lock().detach_site(key, &site, adds))
}

#[napi(catch_unwind)]
pub fn listener_forget(emitter: u32) {
    with_state(|s| s.listeners.lock().forget(emitter))
}

#[napi(catch_unwind)]
pub fn listener_emitter_count() -> u32 {
    with_state(|s| s.listeners.lock().emitter_count() as u32)
}

#[napi(catch_unwind)]
pub fn listener_key_count() -> u32 {
    with_state(|s| s.listeners.lock().key_count() as u32)
}

/// Closes an observation window over the watched keys' counter rows (see
/// `trackers::listeners::ROW`) and writes each row's new arm level back.
#[napi(catch_unwind)]
pub fn listener_observe(mut rows: Float64Array) -> Vec<ListenerGrowth> {
    // SAFETY: the view's memory is the caller's Float64Array, and no JS runs
    // on this thread until this call returns.
    let rows = unsafe { rows.as_mut() };
    let found = with_state(|s| s.listeners.lock().observe(rows));
    found.into_iter().map(Into::into).collect()
}

/// The report, after taking the watched keys' current counter rows.
#[napi(catch_unwind)]
pub fn listener_report(rows: &[f64]) -> Vec<ListenerEmitterReport> {
    let report = with_state(|s| {
        let mut reg = s.listeners.lock();
        reg.update(rows);
        reg.report()
    });
    report.into_iter().map(Into::into).collect()
}

// ------------------------------------------------------------------- timers

#[napi(object)]
pub struct TimerInfo {
    pub id: f64,
    pub kind: String,
    pub delay: f64,
    pub age: f64,
    pub fired: f64,
    pub site: Option<String>,
    pub has_owner: bool,
    pub outlived_owner: bool,
}

impl From<timers::TimerInfo> for TimerInfo {
    fn from(t: timers::TimerInfo) -> Self {
        TimerInfo {
            id: t.id as f64,
            kind: t.kind.name().to_string(),
            delay: t.delay_ms,
            age: t.age_ms,
            fired: t.fired as f64,
            site: t.site,
            has_owner: t.has_owner,
            outlived_owner: t.outlived_owner,
        }
    }
}

#[napi(object)]
pub struct TimerSiteGroup {
    pub site: Option<String>,
    pub count: f64,
    pub ids: Vec<f64>,
}

/// The timer journal (see `trackers::timers`) as an ArrayBuffer over the
/// registry's own memory, which lives as long as this thread's registry.
#[napi(catch_unwind)]
pub fn timer_journal(env: &Env) -> napi::Result<ArrayBuffer<'_>> {
    let (ptr, len) = with_state(|s| s.timers.lock().journal());
    external(env, ptr.cast(), len * std::mem::size_of::<f64>())
}

/// Applies the journal; `loop_now` is the event loop's clock now, the
/// clock of the records' creation times.
#[napi(catch_unwind)]
pub fn timer_apply(loop_now: f64) {
    with_state(|s| s.timers.lock().apply_journal(loop_now))
}

/// Where the facade holds the live timer `id`, after `timer_apply`.
#[napi(catch_unwind)]
pub fn timer_slot(id: f64) -> Option<u32> {
    to_integer(id, "timer id")
        .ok()
        .and_then(|id| with_state(|s| s.timers.lock().slot_of(id)))
}

#[napi(catch_unwind)]
pub fn timer_has(id: f64) -> bool {
    to_integer(id, "timer id").is_ok_and(|id| with_state(|s| s.timers.lock().contains(id)))
}

#[napi(catch_unwind)]
pub fn timer_set_site(id: f64, site: String) -> napi::Result<()> {
    let id = to_integer(id, "timer id")?;
    with_state(|s| s.timers.lock().set_site(id, &site));
    Ok(())
}

#[napi(catch_unwind)]
pub fn timer_set_owner(id: f64, owner: f64) -> napi::Result<bool> {
    let id = to_integer(id, "timer id")?;
    let owner = to_integer(owner, "owner token")?;
    Ok(with_state(|s| s.timers.lock().set_owner(id, owner)))
}

#[napi(catch_unwind)]
pub fn timer_owner_collected(owner: f64) -> napi::Result<Vec<TimerInfo>> {
    let owner = to_integer(owner, "owner token")?;
    let out = with_state(|s| s.timers.lock().owner_collected(owner));
    Ok(out.into_iter().map(Into::into).collect())
}

#[napi(catch_unwind)]
pub fn timer_active() -> Vec<TimerInfo> {
    let out = with_state(|s| s.timers.lock().active());
    out.into_iter().map(Into::into).collect()
}

#[napi(catch_unwind)]
pub fn timer_by_site() -> Vec<TimerSiteGroup> {
    let groups = with_state(|s| s.timers.lock().by_site());
    groups
        .into_iter()
        .map(|g| TimerSiteGroup {
            site: g.site,
            count: g.count as f64,
            ids: g.ids.into_iter().map(|i| i as f64).collect(),
        })
        .collect()
}

#[napi(catch_unwind)]
pub fn timer_select(site: Option<String>, owner: Option<f64>) -> napi::Result<Vec<f64>> {
    let owner = owner.map(|o| to_integer(o, "owner token")).transpose()?;
    let ids = with_state(|s| s.timers.lock().select(site.as_deref(), owner));
    Ok(ids.into_iter().map(|i| i as f64).collect())
}

#[napi(catch_unwind)]
pub fn timer_count() -> u32 {
    with_state(|s| s.timers.lock().len() as u32)
}

// --------------------------------------------------------------- bounded log

#[napi(object)]
pub struct NativeLogOptions {
    pub max_entries: f64,
    pub max_bytes: f64,
    pub on_overflow: String,
    pub spill_to: Option<String>,
}

impl NativeLogOptions {
    fn to_core(&self) -> napi::Result<LogOptions> {
        Ok(LogOptions {
            max_entries: to_bound(self.max_entries, "maxEntries")?,
            max_bytes: to_bound(self.max_bytes, "maxBytes")?,
            overflow: Overflow::parse(&self.on_overflow).ok_or_else(|| {
                invalid_arg(format!(
                    "onOverflow must be 'drop-oldest' or 'reject', got '{}'",
                    self.on_overflow
                ))
            })?,
            spill_to: self.spill_to.clone(),
        })
    }
}

#[napi(object)]
pub struct NativeLogStats {
    pub size: f64,
    pub bytes: f64,
    pub dropped: f64,
    pub rejected: f64,
    pub spilled: f64,
    pub spill_errors: f64,
    pub held_bytes: f64,
}

/// Entries as JS values: `kinds[i]` says whether `values[i]` is text (0),
/// bytes (1) or JSON text the facade parses (2).
#[napi(object)]
pub struct LogChunk {
    pub kinds: Vec<u32>,
    pub values: Vec<Either<String, Buffer>>,
    pub next: f64,
}

fn chunk(entries: Vec<Entry>, next: u64) -> LogChunk {
    let mut kinds = Vec::new();
    let mut values = Vec::new();
    for e in entries {
        kinds.push(e.kind as u32);
        values.push(match e.kind {
            Kind::Bytes => Either::B(Buffer::from(e.data.into_vec())),
            Kind::Text | Kind::Json => Either::A(String::from_utf8_lossy(&e.data).into_owned()),
        });
    }
    LogChunk {
        kinds,
        values,
        next: next as f64,
    }
}

fn open_log(opts: LogOptions) -> napi::Result<SharedLog> {
    let spills = opts.spill_to.is_some();
    let log = BoundedLog::new(opts).map_err(|e| js_error(e.code(), &e))?;
    let log = Arc::new(Mutex::new(log));
    if spills {
        let mut all = SPILLING.lock();
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&log));
    }
    Ok(log)
}

fn with_log<T>(handle: u32, f: impl FnOnce(&mut BoundedLog) -> T) -> napi::Result<T> {
    let (log, record) = with_state(|s| {
        s.logs
            .lock()
            .get(&handle)
            .map(|o| (o.log.clone(), o.staged))
    })
    .ok_or_else(|| js_error("ERR_LOG_CLOSED", "the log has been closed"))?;
    let mut log = log.lock();
    fault::inject(Site::Tracker);
    let out = f(&mut log);
    let (size, bytes) = (log.len() as f64, log.payload_bytes() as f64);
    drop(log);
    with_state(|s| {
        let staged = s.staged.lock();
        staged.set(record, SIZE, size);
        staged.set(record, BYTES, bytes);
    });
    Ok(out)
}

fn adopt(log: SharedLog) -> u32 {
    with_state(|s| {
        let id = s.next_log.get();
        s.next_log.set(id.wrapping_add(1).max(1));
        let staged = s.staged.lock().alloc();
        s.logs.lock().insert(id, OpenLog { log, staged });
        id
    })
}

/// Opens a log private to this thread; returns its handle.
#[napi(catch_unwind)]
pub fn log_open(options: NativeLogOptions) -> napi::Result<u32> {
    Ok(adopt(open_log(options.to_core()?)?))
}

/// Opens the log called `name`, creating it with `options` if no thread
/// holds it. Opening it again with different options is an error.
#[napi(catch_unwind)]
pub fn log_shared(name: String, options: NativeLogOptions) -> napi::Result<u32> {
    let opts = options.to_core()?;
    let mut shared = SHARED.lock();
    shared.retain(|_, w| w.strong_count() > 0);
    if let Some(log) = shared.get(&name).and_then(Weak::upgrade) {
        if log.lock().options() != &opts {
            return Err(js_error(
                "ERR_LOG_OPTIONS",
                format!("shared log '{name}' is already open with other options"),
            ));
        }
        return Ok(adopt(log));
    }
    let log = open_log(opts)?;
    shared.insert(name, Arc::downgrade(&log));
    Ok(adopt(log))
}

#[napi(catch_unwind)]
pub fn log_push_text(handle: u32, text: String) -> napi::Result<bool> {
    with_log(handle, |l| l.push(Kind::Text, text.as_bytes()))
}

/// Entries staged by the facade, in one call (see `BoundedLog::push_batch`),
/// and how many staged ones it overwrote, which count as dropped.
#[napi(catch_unwind)]
pub fn log_push_batch(
    handle: u32,
    text: Utf16String,
    meta: &[u32],
    overwritten: u32,
) -> napi::Result<()> {
    let stored = with_log(handle, |l| {
        let stored = l.push_batch(&text, meta);
        if stored {
            l.count_dropped_unstored(u64::from(overwritten));
        }
        stored
    })?;
    if stored {
        // Cleared here, in the same call that stored them, so a thread
        // stopped right after cannot count them as lost as well.
        with_state(|s| {
            if let Some(open) = s.logs.lock().get(&handle) {
                s.staged.lock().set(open.staged, STAGED, 0.0);
            }
        });
        Ok(())
    } else {
        Err(js_error(
            "ERR_INTERNAL",
            "staged log entries do not match their lengths",
        ))
    }
}

#[napi(catch_unwind)]
pub fn log_push_json(handle: u32, json: String) -> napi::Result<bool> {
    with_log(handle, |l| l.push(Kind::Json, json.as_bytes()))
}

#[napi(catch_unwind)]
pub fn log_push_bytes(handle: u32, bytes: &[u8]) -> napi::Result<bool> {
    with_log(handle, |l| l.push(Kind::Bytes, bytes))
}

#[napi(catch_unwind)]
pub fn log_stats(handle: u32) -> napi::Result<NativeLogStats> {
    let s = with_log(handle, |l| l.stats())?;
    Ok(NativeLogStats {
        size: s.size as f64,
        bytes: s.bytes as f64,
        dropped: s.dropped as f64,
        rejected: s.rejected as f64,
        spilled: s.spilled as f64,
        spill_errors: s.spill_errors as f64,
        held_bytes: s.held_bytes as f64,
    })
}

#[napi(catch_unwind)]
pub fn log_read(handle: u32, from: f64, max: u32) -> napi::Result<LogChunk> {
    let from = to_integer(from, "sequence number")?;
    with_log(handle, |l| {
        let (entries, next) = l.read_from(from, max as usize);
        chunk(entries, next)
    })
}

#[napi(catch_unwind)]
pub fn log_tail(handle: u32, n: u32) -> napi::Result<LogChunk> {
    with_log(handle, |l| chunk(l.tail(n as usize), l.next_seq()))
}

#[napi(catch_unwind)]
pub fn log_drain(handle: u32) -> napi::Result<LogChunk> {
    with_log(handle, |l| {
        let taken = l.drain();
        chunk(taken, l.next_seq())
    })
}

#[napi(catch_unwind)]
pub fn log_clear(handle: u32) -> napi::Result<()> {
    with_log(handle, |l| l.clear())
}

/// Flushes the spill file and lets go of this thread's handle; a shared log
/// stays open for the other threads. Closing twice is harmless.
#[napi(catch_unwind)]
pub fn log_close(handle: u32) {
    if let Some(open) = with_state(|s| s.logs.lock().remove(&handle)) {
        with_state(|s| s.staged.lock().free(open.staged));
        open.log.lock().flush();
    }
}

/// Where the facade counts this log's staged entries: the record's index
/// in the pages of `log_staged_page`, of `STAGED_FIELDS` numbers each.
#[napi(catch_unwind)]
pub fn log_staged_slot(handle: u32) -> napi::Result<u32> {
    with_state(|s| s.logs.lock().get(&handle).map(|o| o.staged))
        .ok_or_else(|| js_error("ERR_LOG_CLOSED", "the log has been closed"))
}

/// Page `p` of the staged-entry counters, over this thread's own memory.
#[napi(catch_unwind)]
pub fn log_staged_page(env: &Env, p: u32) -> napi::Result<ArrayBuffer<'_>> {
    let (ptr, len) = with_state(|s| s.staged.lock().page(p as usize))
        .ok_or_else(|| invalid_arg(format!("no staged-counter page {p}")))?;
    external(env, ptr.cast(), len * std::mem::size_of::<f64>())
}

/// Flushes every log's spill file (called on process and worker exit).
#[napi(catch_unwind)]
pub fn flush_logs() {
    let logs: Vec<SharedLog> = SPILLING.lock().iter().filter_map(Weak::upgrade).collect();
    for log in logs {
        log.lock().flush();
    }
}

#[napi(object)]
pub struct TrackerCounts {
    /// Threads holding tracker state.
    pub threads: u32,
    /// Logs open on this thread.
    pub logs: u32,
    /// Distinct timer creation sites held on this thread.
    pub timer_sites: u32,
}

/// Tracker state alive in the process; lets tests see a worker's state
/// freed when it exits.
#[napi(catch_unwind)]
pub fn tracker_counts() -> TrackerCounts {
    let (logs, timer_sites) = with_state(|s| {
        (
            s.logs.lock().len() as u32,
            s.timers.lock().site_count() as u32,
        )
    });
    TrackerCounts {
        threads: LIVE_STATES.load(Ordering::Relaxed) as u32,
        logs,
        timer_sites,
    }
}
