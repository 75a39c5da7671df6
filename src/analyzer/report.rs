//! The one-call report: totals, class summary, and the largest objects with
//! the path that keeps each alive, ready to print or to assert on in CI.
//! Every text in it comes through a [`View`], which applies the caller's
//! redaction policy and bounds the work per node.

use super::redact::Names;
use super::snapshot::{Snapshot, DEFAULT_PATH_STEPS};
use std::cell::RefCell;
use std::collections::HashMap;

/// Objects a report lists at most (`top`).
pub const MAX_TOP: usize = 1000;
/// Class rows a report lists at most (`maxClasses`).
pub const MAX_CLASSES: usize = 100_000;
/// Steps a shown retainer path may be asked for at most (`maxSteps`).
pub const MAX_PATH_STEPS: usize = 1000;
/// Items one page of edges, retainers, children or dominators holds at most.
pub const MAX_PAGE: usize = 100_000;
/// Items a page holds unless the caller asks for another number.
pub const DEFAULT_PAGE: usize = 10_000;

#[derive(Debug, Clone)]
pub struct NodeSummary {
    pub ordinal: u32,
    pub id: u64,
    pub name: String,
    pub node_type: String,
    pub class_name: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

#[derive(Debug, Clone)]
pub struct PathStep {
    pub node: NodeSummary,
    /// The edge from the previous step into this node (none on the first).
    pub edge_type: Option<String>,
    pub edge_name: Option<String>,
    pub edge_label: Option<String>,
    /// Steps of a long path left out between the previous step and this one.
    pub skipped: u64,
}

#[derive(Debug, Clone)]
pub struct TopObject {
    pub node: NodeSummary,
    pub path: Vec<PathStep>,
}

#[derive(Debug, Clone)]
pub struct ClassRow {
    pub key: String,
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub node_count: u64,
    pub edge_count: u64,
    pub total_size: u64,
    pub classes: Vec<ClassRow>,
    pub top: Vec<TopObject>,
}

/// An edge with the node at its other end, as queries return it.
#[derive(Debug, Clone)]
pub struct EdgeSummary {
    pub edge_type: String,
    pub name: String,
    pub label: String,
    pub node: NodeSummary,
}

/// What one call shows of a snapshot: names under one policy, each node
/// described once however many paths pass through it (a node's name can
/// cost a scan of its edges, so a call costs at most one scan per distinct
/// node it shows).
pub struct View<'a> {
    pub snapshot: &'a Snapshot,
    pub names: Names<'a>,
    nodes: RefCell<HashMap<u32, NodeSummary>>,
}

impl<'a> View<'a> {
    pub fn new(snapshot: &'a Snapshot, names: Names<'a>) -> Self {
        View {
            snapshot,
            names,
            nodes: RefCell::new(HashMap::new()),
        }
    }

    /// Shows every name as the snapshot has it.
    pub fn plain(snapshot: &'a Snapshot) -> Self {
        View::new(snapshot, Names::plain())
    }

    pub fn node(&self, o: u32) -> NodeSummary {
        if let Some(n) = self.nodes.borrow().get(&o) {
            return n.clone();
        }
        let s = self.snapshot;
        let n = NodeSummary {
            ordinal: o,
            id: s.graph.node_id[o as usize] as u64,
            name: s.shown_node_name(o, &self.names),
            node_type: s.node_type_name(o).to_string(),
            class_name: s.shown_class_name(o, &self.names),
            self_size: s.graph.self_size.get(o),
            retained_size: s.retained[o as usize],
            distance: s.distance[o as usize],
        };
        self.nodes.borrow_mut().insert(o, n.clone());
        n
    }

    /// An edge, with `other` (its target or source) summarised.
    pub fn edge(&self, e: usize, src: u32, other: u32) -> EdgeSummary {
        let s = self.snapshot;
        EdgeSummary {
            edge_type: s.edge_type_name(e).to_string(),
            name: s.shown_edge_name(e, Some(src), &self.names),
            label: s.shown_edge_label(e, Some(src), &self.names),
            node: self.node(other),
        }
    }

    /// A path step entering `node` through `edge` (none on the first step).
    pub fn step(&self, node: u32, edge: Option<usize>, skipped: u64) -> PathStep {
        let s = self.snapshot;
        PathStep {
            node: self.node(node),
            edge_type: edge.map(|e| s.edge_type_name(e).to_string()),
            edge_name: edge.map(|e| s.shown_edge_name(e, None, &self.names)),
            edge_label: edge.map(|e| s.shown_edge_label(e, None, &self.names)),
            skipped,
        }
    }

    /// The retainer path root-first, at most `max_steps` steps shown.
    pub fn path(&self, o: u32, max_steps: usize) -> Vec<PathStep> {
        self.snapshot
            .retainer_path_capped(o, max_steps)
            .into_iter()
            .map(|p| self.step(p.node, p.edge_in, p.skipped))
            .collect()
    }

    pub fn class_row(&self, c: &ClassRow) -> ClassRow {
        ClassRow {
            key: self.names.class_key(self.snapshot, &c.key),
            name: self.names.class_name(self.snapshot, &c.name),
            ..c.clone()
        }
    }

    pub fn class_table(&self) -> Vec<ClassRow> {
        self.snapshot
            .class_table()
            .iter()
            .map(|c| self.class_row(c))
            .collect()
    }

    /// Totals, every class (largest retained first, capped at `max_classes`),
    /// and the `top` objects by retained size with their retainer paths.
    pub fn report(&self, top: usize, max_classes: usize, max_steps: usize) -> Report {
        let s = self.snapshot;
        let mut classes = s.class_table();
        classes.sort_by(|a, b| {
            b.retained_size
                .cmp(&a.retained_size)
                .then_with(|| a.key.cmp(&b.key))
        });
        classes.truncate(max_classes);
        let classes = classes.iter().map(|c| self.class_row(c)).collect();
        let top = s
            .top_retainers(top)
            .into_iter()
            .map(|o| TopObject {
                node: self.node(o),
                path: self.path(o, max_steps),
            })
            .collect();
        Report {
            node_count: s.node_count() as u64,
            edge_count: s.edge_count() as u64,
            total_size: s.total_size(),
            classes,
            top,
        }
    }
}

impl Snapshot {
    pub fn summarize_node(&self, o: u32) -> NodeSummary {
        View::plain(self).node(o)
    }

    pub fn class_table(&self) -> Vec<ClassRow> {
        self.class_rows()
            .map(|c| ClassRow {
                key: c.key.clone(),
                name: c.name.clone(),
                count: c.count,
                self_size: c.self_size,
                retained_size: c.retained_size,
                distance: c.distance,
            })
            .collect()
    }

    /// The retainer path root-first, each step with the edge that leads into
    /// it, capped at [`DEFAULT_PATH_STEPS`] steps.
    pub fn path_steps(&self, o: u32) -> Vec<PathStep> {
        View::plain(self).path(o, DEFAULT_PATH_STEPS)
    }

    /// [`View::report`] with names as the snapshot has them and paths capped
    /// at [`DEFAULT_PATH_STEPS`].
    pub fn report(&self, top: usize, max_classes: usize) -> Report {
        View::plain(self).report(top, max_classes, DEFAULT_PATH_STEPS)
    }
}
