//! The one-call report: totals, class summary, and the largest objects with
//! the path that keeps each alive, ready to print or to assert on in CI.

use super::snapshot::Snapshot;

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

impl Snapshot {
    pub fn summarize_node(&self, o: u32) -> NodeSummary {
        NodeSummary {
            ordinal: o,
            id: self.graph.node_id[o as usize] as u64,
            name: self.node_name(o),
            node_type: self.node_type_name(o).to_string(),
            class_name: self.class_of(o).name.clone(),
            self_size: self.graph.self_size.get(o),
            retained_size: self.retained[o as usize],
            distance: self.distance[o as usize],
        }
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

    /// The retainer path root-first, each step with the edge that leads into it.
    pub fn path_steps(&self, o: u32) -> Vec<PathStep> {
        let path = self.retainer_path(o);
        let mut previous_edge = None;
        path.into_iter()
            .map(|(node, edge_to_next)| {
                let edge = std::mem::replace(&mut previous_edge, edge_to_next);
                PathStep {
                    node: self.summarize_node(node),
                    edge_type: edge.map(|e| self.edge_type_name(e).to_string()),
                    edge_name: edge.map(|e| self.edge_name(e)),
                    edge_label: edge.map(|e| self.edge_label(e)),
                }
            })
            .collect()
    }

    /// Totals, every class (largest retained first, capped at `max_classes`),
    /// and the `top` objects by retained size with their retainer paths.
    pub fn report(&self, top: usize, max_classes: usize) -> Report {
        let mut classes = self.class_table();
        classes.sort_by(|a, b| {
            b.retained_size
                .cmp(&a.retained_size)
                .then_with(|| a.key.cmp(&b.key))
        });
        classes.truncate(max_classes);
        let top = self
            .top_retainers(top)
            .into_iter()
            .map(|o| TopObject {
                node: self.summarize_node(o),
                path: self.path_steps(o),
            })
            .collect();
        Report {
            node_count: self.node_count() as u64,
            edge_count: self.edge_count() as u64,
            total_size: self.total_size(),
            classes,
            top,
        }
    }
}
