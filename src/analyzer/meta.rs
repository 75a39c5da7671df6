//! `snapshot.meta`: the self-description of the node and edge layouts.
//! Field positions are read from here, never assumed.

use super::error::{Result, SnapshotError};
use serde_json::Value;

/// Per-node field roles the engine understands; anything else is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeField {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    Detachedness,
    /// The allocation-trace node that allocated this object (0: unknown).
    TraceNodeId,
    Ignored,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeField {
    Type,
    NameOrIndex,
    ToNode,
    Ignored,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationField {
    ObjectIndex,
    ScriptId,
    Line,
    Column,
    Ignored,
}

/// Fields of one `trace_function_infos` record (written with allocation tracking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFunctionField {
    Name,
    ScriptName,
    Line,
    Column,
    Ignored,
}

/// Fields of one `trace_tree` node; `Children` is the nested array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceNodeField {
    Id,
    FunctionInfoIndex,
    Count,
    Size,
    Children,
    Ignored,
}

#[derive(Debug, Clone)]
pub struct Meta {
    pub node_fields: Vec<NodeField>,
    pub node_types: Vec<String>,
    pub edge_fields: Vec<EdgeField>,
    /// Edge type names, with DevTools' synthetic `invisible` appended.
    pub edge_types: Vec<String>,
    pub location_fields: Vec<LocationField>,
    pub trace_function_fields: Vec<TraceFunctionField>,
    pub trace_node_fields: Vec<TraceNodeField>,
    pub node_count: u64,
    pub edge_count: u64,
    pub root_index: u64,
    pub extra_native_bytes: u64,
    pub has_detachedness: bool,
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Vec<String>> {
    let arr = v
        .and_then(Value::as_array)
        .ok_or_else(|| SnapshotError::Meta(format!("`{what}` is missing or not an array")))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| SnapshotError::Meta(format!("`{what}` holds a non-string")))
        })
        .collect()
}

fn count(v: Option<&Value>, what: &str) -> Result<u64> {
    match v {
        None => Ok(0),
        Some(x) => x
            .as_u64()
            .ok_or_else(|| SnapshotError::Meta(format!("`{what}` is not a non-negative integer"))),
    }
}

impl Meta {
    /// Parses the JSON text of the top-level `snapshot` value.
    pub fn parse(text: &[u8]) -> Result<Meta> {
        let root: Value = serde_json::from_slice(text).map_err(|e| {
            SnapshotError::Meta(format!("`snapshot` header is not valid JSON: {e}"))
        })?;
        let meta = root
            .get("meta")
            .ok_or_else(|| SnapshotError::Meta("`snapshot.meta` is missing".into()))?;

        let node_field_names = string_list(meta.get("node_fields"), "node_fields")?;
        let node_fields: Vec<NodeField> = node_field_names
            .iter()
            .map(|f| match f.as_str() {
                "type" => NodeField::Type,
                "name" => NodeField::Name,
                "id" => NodeField::Id,
                "self_size" => NodeField::SelfSize,
                "edge_count" => NodeField::EdgeCount,
                "detachedness" => NodeField::Detachedness,
                "trace_node_id" => NodeField::TraceNodeId,
                _ => NodeField::Ignored,
            })
            .collect();
        for required in [
            NodeField::Type,
            NodeField::Name,
            NodeField::Id,
            NodeField::SelfSize,
            NodeField::EdgeCount,
        ] {
            if !node_fields.contains(&required) {
                return Err(SnapshotError::Meta(format!(
                    "node_fields lacks {required:?} (has {node_field_names:?})"
                )));
            }
        }
        let type_pos = node_fields
            .iter()
            .position(|f| *f == NodeField::Type)
            .unwrap_or(0);
        let node_types = meta
            .get("node_types")
            .and_then(Value::as_array)
            .and_then(|a| a.get(type_pos))
            .ok_or_else(|| SnapshotError::Meta("node_types has no entry for `type`".into()))?;
        let node_types = string_list(Some(node_types), "node_types[type]")?;
        if node_types.is_empty() || node_types.len() > 63 {
            return Err(SnapshotError::Meta(format!(
                "node type enum has {} entries (expected 1..=63)",
                node_types.len()
            )));
        }

        let edge_field_names = string_list(meta.get("edge_fields"), "edge_fields")?;
        let edge_fields: Vec<EdgeField> = edge_field_names
            .iter()
            .map(|f| match f.as_str() {
                "type" => EdgeField::Type,
                "name_or_index" => EdgeField::NameOrIndex,
                "to_node" => EdgeField::ToNode,
                _ => EdgeField::Ignored,
            })
            .collect();
        for required in [EdgeField::Type, EdgeField::NameOrIndex, EdgeField::ToNode] {
            if !edge_fields.contains(&required) {
                return Err(SnapshotError::Meta(format!(
                    "edge_fields lacks {required:?} (has {edge_field_names:?})"
                )));
            }
        }
        let edge_type_pos = edge_fields
            .iter()
            .position(|f| *f == EdgeField::Type)
            .unwrap_or(0);
        let edge_types = meta
            .get("edge_types")
            .and_then(Value::as_array)
            .and_then(|a| a.get(edge_type_pos))
            .ok_or_else(|| SnapshotError::Meta("edge_types has no entry for `type`".into()))?;
        let mut edge_types = string_list(Some(edge_types), "edge_types[type]")?;
        // DevTools appends this type for edges it hides; keep indices aligned.
        edge_types.push("invisible".into());
        if edge_types.len() > 16 {
            return Err(SnapshotError::Meta(format!(
                "edge type enum has {} entries (at most 15 supported)",
                edge_types.len() - 1
            )));
        }

        let location_fields = match meta.get("location_fields") {
            None => Vec::new(),
            Some(v) => string_list(Some(v), "location_fields")?
                .iter()
                .map(|f| match f.as_str() {
                    "object_index" => LocationField::ObjectIndex,
                    "script_id" => LocationField::ScriptId,
                    "line" => LocationField::Line,
                    "column" => LocationField::Column,
                    _ => LocationField::Ignored,
                })
                .collect(),
        };

        let trace_function_fields = match meta.get("trace_function_info_fields") {
            None => Vec::new(),
            Some(v) => string_list(Some(v), "trace_function_info_fields")?
                .iter()
                .map(|f| match f.as_str() {
                    "name" => TraceFunctionField::Name,
                    "script_name" => TraceFunctionField::ScriptName,
                    "line" => TraceFunctionField::Line,
                    "column" => TraceFunctionField::Column,
                    _ => TraceFunctionField::Ignored,
                })
                .collect(),
        };
        let trace_node_fields: Vec<TraceNodeField> = match meta.get("trace_node_fields") {
            None => Vec::new(),
            Some(v) => string_list(Some(v), "trace_node_fields")?
                .iter()
                .map(|f| match f.as_str() {
                    "id" => TraceNodeField::Id,
                    "function_info_index" => TraceNodeField::FunctionInfoIndex,
                    "count" => TraceNodeField::Count,
                    "size" => TraceNodeField::Size,
                    "children" => TraceNodeField::Children,
                    _ => TraceNodeField::Ignored,
                })
                .collect(),
        };
        // The tree is read as groups of numbers each closed by its children
        // array, so that array must come last.
        if !trace_node_fields.is_empty()
            && trace_node_fields
                .iter()
                .position(|f| *f == TraceNodeField::Children)
                != Some(trace_node_fields.len() - 1)
        {
            return Err(SnapshotError::Meta(
                "trace_node_fields must end with `children`".into(),
            ));
        }

        Ok(Meta {
            trace_function_fields,
            trace_node_fields,
            has_detachedness: node_fields.contains(&NodeField::Detachedness),
            node_fields,
            node_types,
            edge_fields,
            edge_types,
            location_fields,
            node_count: count(root.get("node_count"), "node_count")?,
            edge_count: count(root.get("edge_count"), "edge_count")?,
            root_index: count(root.get("root_index"), "root_index")?,
            extra_native_bytes: count(root.get("extra_native_bytes"), "extra_native_bytes")?,
        })
    }

    pub fn node_type_index(&self, name: &str) -> Option<u8> {
        self.node_types
            .iter()
            .position(|t| t == name)
            .map(|p| p as u8)
    }

    pub fn edge_type_index(&self, name: &str) -> Option<u8> {
        self.edge_types
            .iter()
            .position(|t| t == name)
            .map(|p| p as u8)
    }
}
