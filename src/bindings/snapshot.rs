//! `loadSnapshot` / `loadSnapshotSync`, the streaming loader, and the
//! `NativeSnapshot` handle whose graph stays in Rust memory.

use super::errors::{from_core, guarded, invalid_arg, js_error, to_integer};
use crate::analyzer::redact::Names;
use crate::analyzer::report::{
    ClassRow, EdgeSummary, NodeSummary, PathStep as CorePathStep, Report, View, DEFAULT_PAGE,
    MAX_CLASSES, MAX_PAGE, MAX_PATH_STEPS, MAX_TOP,
};
use crate::analyzer::snapshot::{DEFAULT_PATH_STEPS, MIN_PATH_STEPS};
use crate::analyzer::{Parser, Progress, Snapshot};
use crate::fault::{self, Site};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

static LIVE_GRAPHS: AtomicUsize = AtomicUsize::new(0);
static LIVE_PARSERS: AtomicUsize = AtomicUsize::new(0);

/// Counts one native allocation from creation to drop, wherever the drop
/// happens: a JS finalizer, a terminated worker's teardown, a task whose
/// promise could no longer settle.
struct Live(&'static AtomicUsize);

impl Live {
    fn new(counter: &'static AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Live(counter)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An analysed graph held for JS (by a `NativeSnapshot` or a running task).
pub struct Held {
    snapshot: Snapshot,
    _live: Live,
}

impl Held {
    fn new(snapshot: Snapshot) -> Self {
        Held {
            snapshot,
            _live: Live::new(&LIVE_GRAPHS),
        }
    }
}

impl std::ops::Deref for Held {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// A parser fed by a `SnapshotStream`, until its graph is analysed.
pub struct StreamParser {
    parser: Parser,
    _live: Live,
}

impl StreamParser {
    fn new() -> Self {
        StreamParser {
            parser: Parser::new(),
            _live: Live::new(&LIVE_PARSERS),
        }
    }
}

/// Shared between a running load and the JS side that polls its progress or
/// aborts it: the libuv thread writes, the main thread reads.
#[derive(Default)]
struct JobState {
    phase: Mutex<String>,
    done: AtomicU64,
    total: AtomicU64,
    aborted: AtomicBool,
}

impl Progress for JobState {
    fn report(&self, phase: &str, done: u64, total: u64) {
        {
            let mut p = self.phase.lock();
            if p.as_str() != phase {
                p.clear();
                p.push_str(phase);
            }
        }
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }
    fn aborted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed)
    }
}

#[napi(object)]
pub struct JobProgress {
    pub phase: String,
    pub done: f64,
    pub total: f64,
}

/// A handle on one load, so JS can watch progress and abort a running parse.
#[napi]
pub struct LoadJob {
    state: Arc<JobState>,
}

#[napi]
impl LoadJob {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        LoadJob {
            state: Arc::new(JobState::default()),
        }
    }

    #[napi(catch_unwind)]
    pub fn progress(&self) -> JobProgress {
        JobProgress {
            phase: self.state.phase.lock().clone(),
            done: self.state.done.load(Ordering::Relaxed) as f64,
            total: self.state.total.load(Ordering::Relaxed) as f64,
        }
    }

    #[napi(catch_unwind)]
    pub fn abort(&self) {
        self.state.aborted.store(true, Ordering::Relaxed);
    }
}

impl Default for LoadJob {
    fn default() -> Self {
        Self::new()
    }
}

pub enum Source {
    Path(String),
    Bytes(Buffer),
    Parsed(Box<StreamParser>),
}

/// Loads from any source; callers run it under `guarded`.
fn load(source: Source, state: &JobState) -> napi::Result<Held> {
    let result = match source {
        Source::Path(p) => Snapshot::from_path(std::path::Path::new(&p), state),
        Source::Bytes(b) => Snapshot::from_bytes(&b, state),
        Source::Parsed(stream) => {
            let StreamParser { parser, _live } = *stream;
            parser.finish().and_then(|g| Snapshot::analyze(g, state))
        }
    };
    result.map(Held::new).map_err(from_core)
}

pub struct LoadTask {
    source: Option<Source>,
    state: Arc<JobState>,
}

#[napi]
impl Task for LoadTask {
    type Output = Held;
    type JsValue = NativeSnapshot;

    /// Runs on a libuv thread, where an unwinding panic would abort Node:
    /// the whole body is guarded, and a panic rejects the Promise.
    fn compute(&mut self) -> napi::Result<Held> {
        guarded(|| {
            fault::inject(Site::Task);
            let source = self
                .source
                .take()
                .ok_or_else(|| js_error("ERR_INTERNAL", "load task ran twice"))?;
            load(source, &self.state)
        })
    }

    fn resolve(&mut self, _env: Env, output: Held) -> napi::Result<NativeSnapshot> {
        Ok(NativeSnapshot::wrap(output))
    }
}

fn source_of(source: Either<String, Buffer>) -> napi::Result<Source> {
    match source {
        Either::A(path) if path.is_empty() => Err(invalid_arg("snapshot path is empty")),
        Either::A(path) => Ok(Source::Path(path)),
        Either::B(buf) => Ok(Source::Bytes(buf)),
    }
}

fn state_of(job: Option<&LoadJob>) -> Arc<JobState> {
    job.map(|j| j.state.clone()).unwrap_or_default()
}

/// Parses and analyses a snapshot (file path or Buffer) on the libuv pool.
#[napi(catch_unwind)]
pub fn load_snapshot(
    source: Either<String, Buffer>,
    job: Option<&LoadJob>,
    signal: Option<AbortSignal>,
) -> napi::Result<AsyncTask<LoadTask>> {
    let task = LoadTask {
        source: Some(source_of(source)?),
        state: state_of(job),
    };
    Ok(AsyncTask::with_optional_signal(task, signal))
}

/// The same work on the calling thread, for scripts that prefer to block.
#[napi(catch_unwind)]
pub fn load_snapshot_sync(
    source: Either<String, Buffer>,
    job: Option<&LoadJob>,
) -> napi::Result<NativeSnapshot> {
    let state = state_of(job);
    let source = source_of(source)?;
    guarded(|| load(source, &state)).map(NativeSnapshot::wrap)
}

/// Accepts a snapshot chunk by chunk (e.g. from `v8.getHeapSnapshot()`), so it
/// can be analysed without touching disk. Parsing keeps up with the stream;
/// the analysis itself runs off the main thread in `finish`.
#[napi]
pub struct SnapshotStream {
    parser: Option<StreamParser>,
}

#[napi]
impl SnapshotStream {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        SnapshotStream {
            parser: Some(StreamParser::new()),
        }
    }

    #[napi(catch_unwind)]
    pub fn write(&mut self, chunk: &[u8]) -> napi::Result<()> {
        let parser = self.parser.as_mut().ok_or_else(|| {
            js_error(
                "ERR_STREAM_FINISHED",
                "the snapshot stream has already finished",
            )
        })?;
        let result = guarded(|| parser.parser.feed(chunk).map_err(from_core));
        if result.is_err() {
            // A stream that failed cannot resume (after a panic the parser's
            // state is unknown); free what it had parsed.
            self.parser = None;
        }
        result
    }

    #[napi(catch_unwind)]
    pub fn finish(
        &mut self,
        job: Option<&LoadJob>,
        signal: Option<AbortSignal>,
    ) -> napi::Result<AsyncTask<LoadTask>> {
        let parser = self.parser.take().ok_or_else(|| {
            js_error(
                "ERR_STREAM_FINISHED",
                "the snapshot stream has already finished or failed",
            )
        })?;
        let task = LoadTask {
            source: Some(Source::Parsed(Box::new(parser))),
            state: state_of(job),
        };
        Ok(AsyncTask::with_optional_signal(task, signal))
    }
}

impl Default for SnapshotStream {
    fn default() -> Self {
        Self::new()
    }
}

#[napi(object)]
pub struct NodeInfo {
    pub id: f64,
    pub name: String,
    #[napi(js_name = "type")]
    pub node_type: String,
    pub class_name: String,
    pub self_size: f64,
    pub retained_size: f64,
    pub distance: i32,
}

impl From<NodeSummary> for NodeInfo {
    fn from(n: NodeSummary) -> Self {
        NodeInfo {
            id: n.id as f64,
            name: n.name,
            node_type: n.node_type,
            class_name: n.class_name,
            self_size: n.self_size as f64,
            retained_size: n.retained_size as f64,
            distance: n.distance,
        }
    }
}

#[napi(object)]
pub struct PathStep {
    pub node: NodeInfo,
    pub edge_type: Option<String>,
    pub edge_name: Option<String>,
    pub edge_label: Option<String>,
    /// On a capped path: steps left out between the previous step and this one.
    pub skipped: Option<f64>,
}

impl From<CorePathStep> for PathStep {
    fn from(s: CorePathStep) -> Self {
        PathStep {
            node: s.node.into(),
            edge_type: s.edge_type,
            edge_name: s.edge_name,
            edge_label: s.edge_label,
            skipped: (s.skipped > 0).then_some(s.skipped as f64),
        }
    }
}

#[napi(object)]
pub struct EdgeInfo {
    #[napi(js_name = "type")]
    pub edge_type: String,
    pub name: String,
    pub label: String,
    /// The node at the other end: the target for `edges`, the source for `retainers`.
    pub node: NodeInfo,
}

impl From<EdgeSummary> for EdgeInfo {
    fn from(e: EdgeSummary) -> Self {
        EdgeInfo {
            edge_type: e.edge_type,
            name: e.name,
            label: e.label,
            node: e.node.into(),
        }
    }
}

/// One page of a query whose answer can be as long as the heap is large.
#[napi(object)]
pub struct EdgePage {
    pub items: Vec<EdgeInfo>,
    /// How many there are in all.
    pub total: f64,
}

#[napi(object)]
pub struct NodePage {
    pub items: Vec<NodeInfo>,
    pub total: f64,
}

/// Options every query takes; the JS facade checks them first, so a
/// wrong value here is a second line of defence.
#[napi(object)]
pub struct QueryOptions {
    /// Show names under the redaction policy.
    pub redact: Option<bool>,
    /// First item of the page.
    pub offset: Option<f64>,
    /// Items in the page.
    pub limit: Option<u32>,
    /// Steps a retainer path shows at most.
    pub max_steps: Option<u32>,
}

pub(crate) struct Query {
    redact: bool,
    offset: u64,
    limit: usize,
    max_steps: usize,
}

pub(crate) fn query(options: Option<QueryOptions>) -> napi::Result<Query> {
    let o = options.unwrap_or(QueryOptions {
        redact: None,
        offset: None,
        limit: None,
        max_steps: None,
    });
    let limit = o.limit.map_or(DEFAULT_PAGE, |l| l as usize);
    if limit > MAX_PAGE {
        return Err(invalid_arg(format!(
            "limit must be at most {MAX_PAGE}, got {limit}"
        )));
    }
    let max_steps = o.max_steps.map_or(DEFAULT_PATH_STEPS, |m| m as usize);
    if !(MIN_PATH_STEPS..=MAX_PATH_STEPS).contains(&max_steps) {
        return Err(invalid_arg(format!(
            "maxSteps must be from {MIN_PATH_STEPS} to {MAX_PATH_STEPS}, got {max_steps}"
        )));
    }
    Ok(Query {
        redact: o.redact.unwrap_or(false),
        offset: o.offset.map_or(Ok(0), |v| to_integer(v, "offset"))?,
        limit,
        max_steps,
    })
}

pub(crate) fn view<'a>(s: &'a Snapshot, q: &Query) -> View<'a> {
    View::new(s, Names::new(q.redact, &[s]))
}

#[napi(object)]
pub struct ClassSummaryRow {
    pub key: String,
    pub name: String,
    pub count: f64,
    pub self_size: f64,
    pub retained_size: f64,
    pub distance: i32,
}

impl From<ClassRow> for ClassSummaryRow {
    fn from(c: ClassRow) -> Self {
        ClassSummaryRow {
            key: c.key,
            name: c.name,
            count: c.count as f64,
            self_size: c.self_size as f64,
            retained_size: c.retained_size as f64,
            distance: c.distance,
        }
    }
}

/// One page of a class's objects, with the summary rows the selector named.
#[napi(object)]
pub struct InstancePage {
    pub items: Vec<NodeInfo>,
    pub total: f64,
    pub classes: Vec<ClassSummaryRow>,
}

#[napi(object)]
pub struct TopObject {
    pub node: NodeInfo,
    pub retainer_path: Vec<PathStep>,
}

#[napi(object)]
pub struct SnapshotReport {
    pub node_count: f64,
    pub edge_count: f64,
    pub total_size: f64,
    pub classes: Vec<ClassSummaryRow>,
    pub top: Vec<TopObject>,
}

impl From<Report> for SnapshotReport {
    fn from(r: Report) -> Self {
        SnapshotReport {
            node_count: r.node_count as f64,
            edge_count: r.edge_count as f64,
            total_size: r.total_size as f64,
            classes: r.classes.into_iter().map(Into::into).collect(),
            top: r
                .top
                .into_iter()
                .map(|t| TopObject {
                    node: t.node.into(),
                    retainer_path: t.path.into_iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}

/// Every node's numbers at once, in file order, for bulk consumers.
#[napi(object)]
pub struct SnapshotColumns {
    pub ids: Uint32Array,
    pub self_sizes: Float64Array,
    pub retained_sizes: Float64Array,
    pub dominator_ids: Uint32Array,
    pub distances: Int32Array,
    /// Index into `classKeys` / `classNames` per node.
    pub class_ids: Uint32Array,
    pub class_keys: Vec<String>,
    pub class_names: Vec<String>,
}

/// A loaded snapshot. The graph lives in Rust memory; `close()` frees it
/// before the JS object is collected.
#[napi]
pub struct NativeSnapshot {
    inner: Option<Arc<Held>>,
}

impl NativeSnapshot {
    fn wrap(s: Held) -> Self {
        NativeSnapshot {
            inner: Some(Arc::new(s)),
        }
    }

    pub(crate) fn get(&self) -> napi::Result<&Arc<Held>> {
        self.inner
            .as_ref()
            .ok_or_else(|| js_error("ERR_SNAPSHOT_CLOSED", "the snapshot was closed"))
    }

    fn ordinal(&self, id: f64) -> napi::Result<Option<u32>> {
        let id = to_integer(id, "node id")?;
        Ok(self.get()?.ordinal_of_id(id))
    }

    fn require(&self, id: f64) -> napi::Result<u32> {
        self.ordinal(id)?.ok_or_else(|| {
            js_error(
                "ERR_UNKNOWN_NODE",
                format!("no node with id {id} in this snapshot"),
            )
        })
    }
}

#[napi]
impl NativeSnapshot {
    #[napi(getter, catch_unwind)]
    pub fn node_count(&self) -> napi::Result<f64> {
        Ok(self.get()?.node_count() as f64)
    }

    #[napi(getter, catch_unwind)]
    pub fn edge_count(&self) -> napi::Result<f64> {
        Ok(self.get()?.edge_count() as f64)
    }

    #[napi(getter, catch_unwind)]
    pub fn total_size(&self) -> napi::Result<f64> {
        Ok(self.get()?.total_size() as f64)
    }

    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    #[napi(catch_unwind)]
    pub fn summary(&self, options: Option<QueryOptions>) -> napi::Result<Vec<ClassSummaryRow>> {
        fault::inject(Site::SyncCall);
        let q = query(options)?;
        Ok(view(self.get()?, &q)
            .class_table()
            .into_iter()
            .map(Into::into)
            .collect())
    }

    #[napi(catch_unwind)]
    pub fn top_retainers(
        &self,
        n: u32,
        options: Option<QueryOptions>,
    ) -> napi::Result<Vec<NodeInfo>> {
        let q = query(options)?;
        if n as usize > MAX_PAGE {
            return Err(invalid_arg(format!(
                "n must be at most {MAX_PAGE}, got {n}"
            )));
        }
        let s = self.get()?;
        let v = view(s, &q);
        Ok(s.top_retainers(n as usize)
            .into_iter()
            .map(|o| v.node(o).into())
            .collect())
    }

    #[napi(catch_unwind)]
    pub fn node(&self, id: f64, options: Option<QueryOptions>) -> napi::Result<Option<NodeInfo>> {
        let q = query(options)?;
        let s = self.get()?;
        Ok(self.ordinal(id)?.map(|o| view(s, &q).node(o).into()))
    }

    /// The shortest path from a root, capped at `maxSteps` shown steps.
    #[napi(catch_unwind)]
    pub fn retainer_path(
        &self,
        id: f64,
        options: Option<QueryOptions>,
    ) -> napi::Result<Vec<PathStep>> {
        let q = query(options)?;
        let o = self.require(id)?;
        Ok(view(self.get()?, &q)
            .path(o, q.max_steps)
            .into_iter()
            .map(Into::into)
            .collect())
    }

    #[napi(catch_unwind)]
    pub fn dominator_chain(
        &self,
        id: f64,
        options: Option<QueryOptions>,
    ) -> napi::Result<NodePage> {
        let q = query(options)?;
        let o = self.require(id)?;
        let s = self.get()?;
        let v = view(s, &q);
        let (page, total) = s.dominator_chain_page(o, q.offset, q.limit);
        Ok(NodePage {
            items: page.into_iter().map(|x| v.node(x).into()).collect(),
            total: total as f64,
        })
    }

    #[napi(catch_unwind)]
    pub fn children(&self, id: f64, options: Option<QueryOptions>) -> napi::Result<NodePage> {
        let q = query(options)?;
        let o = self.require(id)?;
        let s = self.get()?;
        let v = view(s, &q);
        let (page, total) = s.children_page(o, q.offset, q.limit);
        Ok(NodePage {
            items: page.into_iter().map(|x| v.node(x).into()).collect(),
            total: total as f64,
        })
    }

    #[napi(catch_unwind)]
    pub fn edges(&self, id: f64, options: Option<QueryOptions>) -> napi::Result<EdgePage> {
        let q = query(options)?;
        let o = self.require(id)?;
        let s = self.get()?;
        let v = view(s, &q);
        let (page, total) = s.edges_slice(o, q.offset, q.limit);
        Ok(EdgePage {
            items: page
                .map(|e| v.edge(e, o, s.graph.edge_target(e)).into())
                .collect(),
            total: total as f64,
        })
    }

    #[napi(catch_unwind)]
    pub fn retainers(&self, id: f64, options: Option<QueryOptions>) -> napi::Result<EdgePage> {
        let q = query(options)?;
        let o = self.require(id)?;
        let s = self.get()?;
        let v = view(s, &q);
        let (page, total) = s.retaining_edges_page(o, q.offset, q.limit);
        Ok(EdgePage {
            items: page
                .into_iter()
                .map(|(src, e)| v.edge(e, src, src).into())
                .collect(),
            total: total as f64,
        })
    }

    /// The objects of a class (by key, or every class of a name, as the
    /// query's redaction shows them), largest retained first (one page).
    #[napi(catch_unwind)]
    pub fn instances(
        &self,
        selector: String,
        options: Option<QueryOptions>,
    ) -> napi::Result<InstancePage> {
        let q = query(options)?;
        let page = view(self.get()?, &q).instances(&selector, q.offset, q.limit);
        Ok(InstancePage {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total as f64,
            classes: page.classes.into_iter().map(Into::into).collect(),
        })
    }

    #[napi(catch_unwind)]
    pub fn report(
        &self,
        top: u32,
        max_classes: u32,
        options: Option<QueryOptions>,
    ) -> napi::Result<SnapshotReport> {
        let q = query(options)?;
        if top as usize > MAX_TOP {
            return Err(invalid_arg(format!(
                "top must be at most {MAX_TOP}, got {top}"
            )));
        }
        if max_classes as usize > MAX_CLASSES {
            return Err(invalid_arg(format!(
                "maxClasses must be at most {MAX_CLASSES}, got {max_classes}"
            )));
        }
        Ok(view(self.get()?, &q)
            .report(top as usize, max_classes as usize, q.max_steps)
            .into())
    }

    #[napi(catch_unwind)]
    pub fn columns(&self, options: Option<QueryOptions>) -> napi::Result<SnapshotColumns> {
        let q = query(options)?;
        let s = self.get()?;
        let shown = Names::new(q.redact, &[s]);
        let g = &s.graph;
        let n = g.node_count();
        let classes = &s.classes;
        let (mut keys, mut names) = (Vec::new(), Vec::new());
        for c in 0..classes.class_count() as u32 {
            let info = classes.info(c);
            keys.push(shown.class_key(s, &info.key));
            names.push(shown.class_name(s, &info.name));
        }
        Ok(SnapshotColumns {
            ids: Uint32Array::new(g.node_id.clone()),
            self_sizes: Float64Array::new(
                (0..n as u32).map(|o| g.self_size.get(o) as f64).collect(),
            ),
            retained_sizes: Float64Array::new(s.retained.iter().map(|&r| r as f64).collect()),
            dominator_ids: Uint32Array::new(
                s.dominator.iter().map(|&d| g.node_id[d as usize]).collect(),
            ),
            distances: Int32Array::new(s.distance.clone()),
            class_ids: Uint32Array::new(classes.node_class.clone()),
            class_keys: keys,
            class_names: names,
        })
    }

    /// Frees the graph now; later calls throw `ERR_SNAPSHOT_CLOSED`.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
    }
}

#[napi(object)]
pub struct SnapshotCounts {
    /// Analysed graphs alive in the process (open snapshots and results in flight).
    pub graphs: u32,
    /// Stream parsers not yet turned into a graph (fed or being analysed).
    pub parsers: u32,
}

/// Native snapshot memory alive in the process, from every thread; lets tests
/// see that closed snapshots, terminated workers and abandoned streams free it.
#[napi(catch_unwind)]
pub fn snapshot_counts() -> SnapshotCounts {
    SnapshotCounts {
        graphs: LIVE_GRAPHS.load(Ordering::Relaxed) as u32,
        parsers: LIVE_PARSERS.load(Ordering::Relaxed) as u32,
    }
}
