//! Per-thread registries for listeners and timers, and the bounded log.
//!
//! Everything is a plain function over thread-local state: napi-rs class
//! methods create and drop a reference to `this` on every call, which made a
//! call several times slower than a plain function, and these calls sit on
//! the hot path of every `on()` and `setTimeout()`.

use super::errors::{invalid_arg, js_error, to_integer};
use crate::fault::{self, Site};
use crate::trackers::listeners::{self, ListenerRegistry};
use crate::trackers::log::{BoundedLog, Entry, Kind, LogOptions, Overflow};
use crate::trackers::timers::{self, TimerKind, TimerRegistry};
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
    logs: Mutex<HashMap<u32, SharedLog>>,
    next_log: Cell<u32>,
}

impl ThreadState {
    fn new() -> Self {
        LIVE_STATES.fetch_add(1, Ordering::Relaxed);
        ThreadState {
            listeners: Mutex::new(ListenerRegistry::new(DEFAULT_SAMPLES)),
            timers: Mutex::new(TimerRegistry::new()),
            logs: Mutex::new(HashMap::new()),
            next_log: Cell::new(1),
        }
    }
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        for log in self.logs.get_mut().values() {
            log.lock().flush();
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
    pub top_site_count: f64,
}

#[napi(object)]
pub struct AddSite {
    pub site: String,
    pub count: f64,
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
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Listener ids are handed out here and cached by the facade, so the hot
/// path passes one integer.
#[napi(catch_unwind)]
pub fn listener_set_samples(samples: u32) {
    with_state(|s| s.listeners.lock().set_samples(samples))
}

#[napi(catch_unwind)]
pub fn listener_register(name: String, threshold: f64) -> napi::Result<u32> {
    let threshold = to_bound(threshold, "threshold")?;
    Ok(with_state(|s| {
        s.listeners.lock().register(&name, threshold)
    }))
}

/// The key for an event, or null when the emitter is no longer tracked.
#[napi(catch_unwind)]
pub fn listener_key(emitter: u32, event: String, initial: u32) -> Option<u32> {
    with_state(|s| s.listeners.lock().key(emitter, &event, initial as u64))
}

/// True when the facade should capture the add site.
#[napi(catch_unwind)]
pub fn listener_add(key: u32) -> bool {
    with_state(|s| s.listeners.lock().add(key))
}

#[napi(catch_unwind)]
pub fn listener_remove(key: u32) {
    with_state(|s| s.listeners.lock().remove(key))
}

#[napi(catch_unwind)]
pub fn listener_set_count(key: u32, count: u32) -> bool {
    with_state(|s| s.listeners.lock().set_count(key, count as u64))
}

#[napi(catch_unwind)]
pub fn listener_add_site(key: u32, site: String) {
    with_state(|s| s.listeners.lock().add_site(key, &site))
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
pub fn listener_observe() -> Vec<ListenerGrowth> {
    let found = with_state(|s| s.listeners.lock().observe());
    found.into_iter().map(Into::into).collect()
}

#[napi(catch_unwind)]
pub fn listener_report() -> Vec<ListenerEmitterReport> {
    let report = with_state(|s| s.listeners.lock().report());
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

/// Timer ids are Node's async ids, so `clearTimeout(numericId)` needs no map.
#[napi(catch_unwind)]
pub fn timer_add(id: f64, kind: u32, delay: f64) -> napi::Result<()> {
    let id = to_integer(id, "timer id")?;
    let kind = TimerKind::from_u32(kind)
        .ok_or_else(|| invalid_arg(format!("unknown timer kind {kind}")))?;
    let delay = if delay.is_finite() { delay } else { 0.0 };
    with_state(|s| s.timers.lock().add(id, kind, delay));
    Ok(())
}

#[napi(catch_unwind)]
pub fn timer_fire(id: f64) -> napi::Result<()> {
    let id = to_integer(id, "timer id")?;
    with_state(|s| s.timers.lock().fire(id));
    Ok(())
}

#[napi(catch_unwind)]
pub fn timer_remove(id: f64) -> bool {
    to_integer(id, "timer id").is_ok_and(|id| with_state(|s| s.timers.lock().remove(id)))
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
}

/// Entries as JS values: `kinds[i]` says whether `values[i]` is text (0),
/// bytes (1) or JSON text the facade parses (2).
#[napi(object)]
pub struct LogChunk {
    pub kinds: Vec<u32>,
    pub values: Vec<Either<String, Buffer>>,
    pub next: f64,
}

fn chunk<'a>(entries: impl IntoIterator<Item = &'a Entry>, next: u64) -> LogChunk {
    let mut kinds = Vec::new();
    let mut values = Vec::new();
    for e in entries {
        kinds.push(e.kind as u32);
        values.push(match e.kind {
            Kind::Bytes => Either::B(Buffer::from(e.data.to_vec())),
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
    let log = with_state(|s| s.logs.lock().get(&handle).cloned())
        .ok_or_else(|| js_error("ERR_LOG_CLOSED", "the log has been closed"))?;
    let mut log = log.lock();
    fault::inject(Site::Tracker);
    Ok(f(&mut log))
}

fn adopt(log: SharedLog) -> u32 {
    with_state(|s| {
        let id = s.next_log.get();
        s.next_log.set(id.wrapping_add(1).max(1));
        s.logs.lock().insert(id, log);
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
    with_log(handle, |l| l.push(Kind::Text, text.into_bytes().into()))
}

#[napi(catch_unwind)]
pub fn log_push_json(handle: u32, json: String) -> napi::Result<bool> {
    with_log(handle, |l| l.push(Kind::Json, json.into_bytes().into()))
}

#[napi(catch_unwind)]
pub fn log_push_bytes(handle: u32, bytes: &[u8]) -> napi::Result<bool> {
    with_log(handle, |l| l.push(Kind::Bytes, bytes.into()))
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
        chunk(&taken, l.next_seq())
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
    if let Some(log) = with_state(|s| s.logs.lock().remove(&handle)) {
        log.lock().flush();
    }
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
}

/// Tracker state alive in the process; lets tests see a worker's state
/// freed when it exits.
#[napi(catch_unwind)]
pub fn tracker_counts() -> TrackerCounts {
    let logs = with_state(|s| s.logs.lock().len() as u32);
    TrackerCounts {
        threads: LIVE_STATES.load(Ordering::Relaxed) as u32,
        logs,
    }
}
