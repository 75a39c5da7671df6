//! Bounded snapshot queries (`crate::analyzer::queries`) for JS, each on the
//! libuv pool: the first lookup by id or by retainer builds an index over the
//! whole graph, and a page of a class scans every node, which on a 50M-node
//! heap is long enough to matter to an event loop.

use super::errors::{from_core, guarded, js_error, to_integer};
use super::snapshot::{Held, NativeSnapshot};
use crate::analyzer::queries::{
    After, ClassMatch, EdgeBrief, Ends, Instances, Link, LinkPage, NodeBrief, NodeDetails,
    NodePage, Step, TopObject,
};
use crate::analyzer::Snapshot;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi(object)]
pub struct QueryNode {
    pub id: f64,
    #[napi(js_name = "type")]
    pub node_type: String,
    /// Clipped to the query's `maxChars` (an ellipsis marks the cut).
    pub name: String,
    /// The whole name's length before clipping.
    pub name_length: f64,
    pub class_name: String,
    pub self_size: f64,
    pub retained_size: f64,
    pub distance: i32,
}

impl From<NodeBrief> for QueryNode {
    fn from(n: NodeBrief) -> Self {
        QueryNode {
            id: n.id as f64,
            node_type: n.node_type,
            name: n.name,
            name_length: n.name_length as f64,
            class_name: n.class_name,
            self_size: n.self_size as f64,
            retained_size: n.retained_size as f64,
            distance: n.distance,
        }
    }
}

#[napi(object)]
pub struct QueryEdge {
    #[napi(js_name = "type")]
    pub edge_type: String,
    pub name: String,
    pub label: String,
}

impl From<EdgeBrief> for QueryEdge {
    fn from(e: EdgeBrief) -> Self {
        QueryEdge {
            edge_type: e.edge_type,
            name: e.name,
            label: e.label,
        }
    }
}

#[napi(object)]
pub struct QueryLink {
    pub edge: QueryEdge,
    /// The node at the other end: the target of an outgoing edge, the source of a retainer.
    pub node: QueryNode,
}

#[napi(object)]
pub struct QueryLinkPage {
    pub links: Vec<QueryLink>,
    pub total: f64,
}

impl From<LinkPage> for QueryLinkPage {
    fn from(p: LinkPage) -> Self {
        QueryLinkPage {
            links: p
                .links
                .into_iter()
                .map(|Link { edge, node }| QueryLink {
                    edge: edge.into(),
                    node: node.into(),
                })
                .collect(),
            total: p.total as f64,
        }
    }
}

/// Resumes a listing by retained size after the node with this key.
#[napi(object)]
pub struct QueryAfter {
    pub retained: f64,
    pub id: f64,
}

#[napi(object)]
pub struct QueryNodePage {
    pub nodes: Vec<QueryNode>,
    pub total: f64,
    pub total_retained: f64,
    pub next: Option<QueryAfter>,
}

impl From<NodePage> for QueryNodePage {
    fn from(p: NodePage) -> Self {
        QueryNodePage {
            nodes: p.nodes.into_iter().map(Into::into).collect(),
            total: p.total as f64,
            total_retained: p.total_retained as f64,
            next: p.next.map(|a| QueryAfter {
                retained: a.retained as f64,
                id: a.id as f64,
            }),
        }
    }
}

#[napi(object)]
pub struct QueryClass {
    pub key: String,
    pub name: String,
    pub count: f64,
}

#[napi(object)]
pub struct QueryInstances {
    pub classes: Vec<QueryClass>,
    pub page: QueryNodePage,
}

impl From<Instances> for QueryInstances {
    fn from(i: Instances) -> Self {
        QueryInstances {
            classes: i
                .classes
                .into_iter()
                .map(|ClassMatch { key, name, count }| QueryClass {
                    key,
                    name,
                    count: count as f64,
                })
                .collect(),
            page: i.page.into(),
        }
    }
}

#[napi(object)]
pub struct QueryStep {
    pub node: QueryNode,
    /// The edge into this node from the step before (none on the first).
    pub edge: Option<QueryEdge>,
}

impl From<Step> for QueryStep {
    fn from(s: Step) -> Self {
        QueryStep {
            node: s.node.into(),
            edge: s.edge.map(Into::into),
        }
    }
}

#[napi(object)]
pub struct QueryEnds {
    pub first: Vec<QueryStep>,
    /// Steps between `first` and `last` that were left out.
    pub elided: f64,
    pub last: Vec<QueryStep>,
}

impl From<Ends> for QueryEnds {
    fn from(e: Ends) -> Self {
        QueryEnds {
            first: e.first.into_iter().map(Into::into).collect(),
            elided: e.elided as f64,
            last: e.last.into_iter().map(Into::into).collect(),
        }
    }
}

#[napi(object)]
pub struct QueryNodeDetails {
    pub node: QueryNode,
    pub class_key: String,
    pub edge_count: f64,
    pub retainer_count: f64,
    pub dominator: Option<QueryNode>,
    pub detachedness: u32,
}

impl From<NodeDetails> for QueryNodeDetails {
    fn from(d: NodeDetails) -> Self {
        QueryNodeDetails {
            node: d.node.into(),
            class_key: d.class_key,
            edge_count: d.edge_count as f64,
            retainer_count: d.retainer_count as f64,
            dominator: d.dominator.map(Into::into),
            detachedness: d.detachedness as u32,
        }
    }
}

#[napi(object)]
pub struct QueryTopObject {
    pub node: QueryNode,
    pub path: QueryEnds,
}

impl From<TopObject> for QueryTopObject {
    fn from(t: TopObject) -> Self {
        QueryTopObject {
            node: t.node.into(),
            path: t.path.into(),
        }
    }
}

type Job<T> = Box<dyn FnOnce(&Snapshot) -> crate::analyzer::Result<T> + Send>;

fn run<T>(held: &Arc<Held>, job: &mut Option<Job<T>>) -> napi::Result<T> {
    guarded(|| {
        let job = job
            .take()
            .ok_or_else(|| js_error("ERR_INTERNAL", "query task ran twice"))?;
        job(held).map_err(from_core)
    })
}

/// One task type per answer type, so the generated typings name each answer.
macro_rules! query_task {
    ($task:ident, $core:ty, $js:ty) => {
        pub struct $task {
            held: Arc<Held>,
            job: Option<Job<$core>>,
        }

        impl $task {
            fn on(
                snapshot: &NativeSnapshot,
                job: impl FnOnce(&Snapshot) -> crate::analyzer::Result<$core> + Send + 'static,
            ) -> napi::Result<AsyncTask<$task>> {
                Ok(AsyncTask::new($task {
                    held: snapshot.get()?.clone(),
                    job: Some(Box::new(job)),
                }))
            }
        }

        #[napi]
        impl Task for $task {
            type Output = $core;
            type JsValue = $js;

            fn compute(&mut self) -> napi::Result<$core> {
                run(&self.held, &mut self.job)
            }

            fn resolve(&mut self, _env: Env, output: $core) -> napi::Result<$js> {
                Ok(output.into())
            }
        }
    };
}

query_task!(NodeDetailsTask, NodeDetails, QueryNodeDetails);
query_task!(LinkPageTask, LinkPage, QueryLinkPage);
query_task!(NodePageTask, NodePage, QueryNodePage);
query_task!(InstancesTask, Instances, QueryInstances);
query_task!(EndsTask, Ends, QueryEnds);
query_task!(TopObjectsTask, TopObjectList, Vec<QueryTopObject>);

pub struct TopObjectList(Vec<TopObject>);

impl From<TopObjectList> for Vec<QueryTopObject> {
    fn from(list: TopObjectList) -> Self {
        list.0.into_iter().map(Into::into).collect()
    }
}

fn after_of(after: Option<QueryAfter>) -> napi::Result<Option<After>> {
    after
        .map(|a| {
            Ok(After {
                retained: to_integer(a.retained, "after.retained")?,
                id: to_integer(a.id, "after.id")?,
            })
        })
        .transpose()
}

/// A node's summary, edge and retainer counts, and immediate dominator.
#[napi(catch_unwind)]
pub fn query_node_details(
    snapshot: &NativeSnapshot,
    id: f64,
    max_chars: u32,
) -> napi::Result<AsyncTask<NodeDetailsTask>> {
    let id = to_integer(id, "node id")?;
    NodeDetailsTask::on(snapshot, move |s| s.node_details(id, max_chars as usize))
}

/// A page of the node's outgoing edges, in the snapshot's order.
#[napi(catch_unwind)]
pub fn query_edges(
    snapshot: &NativeSnapshot,
    id: f64,
    offset: f64,
    limit: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<LinkPageTask>> {
    let id = to_integer(id, "node id")?;
    let offset = to_integer(offset, "offset")?;
    LinkPageTask::on(snapshot, move |s| {
        s.edges_page(id, offset, limit as usize, max_chars as usize)
    })
}

/// A page of the edges that hold the node, in source order.
#[napi(catch_unwind)]
pub fn query_retainers(
    snapshot: &NativeSnapshot,
    id: f64,
    offset: f64,
    limit: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<LinkPageTask>> {
    let id = to_integer(id, "node id")?;
    let offset = to_integer(offset, "offset")?;
    LinkPageTask::on(snapshot, move |s| {
        s.retainers_page(id, offset, limit as usize, max_chars as usize)
    })
}

/// A page of what the node alone keeps alive, largest retained first.
#[napi(catch_unwind)]
pub fn query_dominated(
    snapshot: &NativeSnapshot,
    id: f64,
    after: Option<QueryAfter>,
    limit: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<NodePageTask>> {
    let id = to_integer(id, "node id")?;
    let after = after_of(after)?;
    NodePageTask::on(snapshot, move |s| {
        s.dominated_page(id, after, limit as usize, max_chars as usize)
    })
}

/// A page of a class's instances (by key, or by name), largest retained first.
#[napi(catch_unwind)]
pub fn query_instances(
    snapshot: &NativeSnapshot,
    selector: String,
    after: Option<QueryAfter>,
    limit: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<InstancesTask>> {
    let after = after_of(after)?;
    InstancesTask::on(snapshot, move |s| {
        s.instances_page(&selector, after, limit as usize, max_chars as usize)
    })
}

/// The retainer path, root first, with its first and last steps described.
#[napi(catch_unwind)]
pub fn query_retainer_path(
    snapshot: &NativeSnapshot,
    id: f64,
    first: u32,
    last: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<EndsTask>> {
    let id = to_integer(id, "node id")?;
    EndsTask::on(snapshot, move |s| {
        s.retainer_path_ends(id, first as usize, last as usize, max_chars as usize)
    })
}

/// Immediate dominators from the node up to the root, ends described.
#[napi(catch_unwind)]
pub fn query_dominator_chain(
    snapshot: &NativeSnapshot,
    id: f64,
    first: u32,
    last: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<EndsTask>> {
    let id = to_integer(id, "node id")?;
    EndsTask::on(snapshot, move |s| {
        s.dominator_chain_ends(id, first as usize, last as usize, max_chars as usize)
    })
}

/// The largest objects by retained size, each with its path's ends.
#[napi(catch_unwind)]
pub fn query_top_objects(
    snapshot: &NativeSnapshot,
    n: u32,
    first: u32,
    last: u32,
    max_chars: u32,
) -> napi::Result<AsyncTask<TopObjectsTask>> {
    TopObjectsTask::on(snapshot, move |s| {
        s.top_objects(
            n as usize,
            first as usize,
            last as usize,
            max_chars as usize,
        )
        .map(TopObjectList)
    })
}

/// Bytes the loaded snapshot holds, with the query indexes counted as built.
#[napi(catch_unwind)]
pub fn query_memory_bytes(snapshot: &NativeSnapshot) -> napi::Result<f64> {
    Ok(snapshot.get()?.memory_bytes() as f64)
}
