//! What the MCP server asks of a loaded snapshot beyond the public
//! `Snapshot` API (`crate::analyzer::queries`): one node's details, and the
//! memory the snapshot holds, which the server's cache budgets by.

use super::errors::{js_error, to_integer};
use super::snapshot::{query, view, NativeSnapshot, NodeInfo, QueryOptions};
use crate::analyzer::queries::NodeDetails;
use napi_derive::napi;

#[napi(object)]
pub struct QueryNodeDetails {
    pub node: NodeInfo,
    pub class_key: String,
    pub edge_count: f64,
    pub retainer_count: f64,
    pub dominator: Option<NodeInfo>,
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

/// A node's summary, class key, edge and retainer counts, and immediate
/// dominator, named under the options' redaction.
#[napi(catch_unwind)]
pub fn query_node_details(
    snapshot: &NativeSnapshot,
    id: f64,
    options: Option<QueryOptions>,
) -> napi::Result<QueryNodeDetails> {
    let q = query(options)?;
    let s = snapshot.get()?;
    let id = to_integer(id, "node id")?;
    let o = s.ordinal_of_id(id).ok_or_else(|| {
        js_error(
            "ERR_UNKNOWN_NODE",
            format!("no node with id {id} in this snapshot"),
        )
    })?;
    Ok(view(s, &q).node_details(o).into())
}

/// Bytes the loaded snapshot holds, with the query indexes counted as built.
#[napi(catch_unwind)]
pub fn query_memory_bytes(snapshot: &NativeSnapshot) -> napi::Result<f64> {
    Ok(snapshot.get()?.memory_bytes() as f64)
}
