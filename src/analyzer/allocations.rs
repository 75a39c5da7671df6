//! Allocation traces. With `HeapProfiler.startTrackingHeapObjects({
//! trackAllocations: true })` V8 records the call stack of every allocation
//! in a tree of frames (`trace_tree`, one node per distinct stack, naming a
//! `trace_function_infos` entry), and tags each object of the next snapshots
//! with the tree node that allocated it (`trace_node_id`).

/// A function that appears in allocation stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceFunction {
    /// String-table indices.
    pub name: u32,
    pub script_name: u32,
    /// 1-based; 0 when V8 did not know the position.
    pub line: u32,
    pub column: u32,
}

/// One frame of the allocation tree: `function` called from `parent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceNode {
    pub id: u32,
    /// Index into `AllocationTraces::functions`.
    pub function: u32,
    /// Index into `AllocationTraces::tree` (`NO_PARENT` for the root).
    pub parent: u32,
    /// Objects and bytes allocated with exactly this stack since tracking began.
    pub count: u64,
    pub size: u64,
}

pub const NO_PARENT: u32 = u32::MAX;

#[derive(Debug, Default, Clone)]
pub struct AllocationTraces {
    /// Per heap node ordinal, the id of the tree node that allocated it
    /// (0: unknown). Empty when the snapshot carries no traces.
    pub node_trace: Vec<u32>,
    pub functions: Vec<TraceFunction>,
    /// In file order: every node after its parent.
    pub tree: Vec<TraceNode>,
    /// Tree indices sorted by id, for lookups.
    by_id: Vec<u32>,
}

impl AllocationTraces {
    pub fn new(node_trace: Vec<u32>, functions: Vec<TraceFunction>, tree: Vec<TraceNode>) -> Self {
        let mut by_id: Vec<u32> = (0..tree.len() as u32).collect();
        by_id.sort_unstable_by_key(|&k| tree[k as usize].id);
        AllocationTraces {
            node_trace,
            functions,
            tree,
            by_id,
        }
    }

    /// Whether objects carry allocation stacks (the snapshot was taken
    /// while allocation tracking was on).
    pub fn is_tracked(&self) -> bool {
        !self.node_trace.is_empty() && !self.tree.is_empty()
    }

    /// The tree node that allocated heap node `ordinal`.
    pub fn trace_of(&self, ordinal: u32) -> Option<u32> {
        let id = *self.node_trace.get(ordinal as usize)?;
        if id == 0 {
            return None;
        }
        self.by_id
            .binary_search_by_key(&id, |&k| self.tree[k as usize].id)
            .ok()
            .map(|p| self.by_id[p])
    }

    /// The stack of a tree node, innermost frame first.
    pub fn stack(&self, tree_index: u32) -> impl Iterator<Item = &TraceFunction> + '_ {
        let mut next = tree_index;
        let mut steps = 0usize;
        std::iter::from_fn(move || {
            // Parents come first in the file, so a well-formed tree ends;
            // the bound keeps a damaged one finite.
            if next == NO_PARENT || steps > self.tree.len() {
                return None;
            }
            steps += 1;
            let node = self.tree.get(next as usize)?;
            next = node.parent;
            self.functions.get(node.function as usize)
        })
    }

    pub fn memory_bytes(&self) -> usize {
        self.node_trace.capacity() * 4
            + self.functions.capacity() * std::mem::size_of::<TraceFunction>()
            + self.tree.capacity() * std::mem::size_of::<TraceNode>()
            + self.by_id.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use crate::analyzer::error::SnapshotError;
    use crate::analyzer::graph::Graph;
    use crate::analyzer::Parser;

    const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"]}"#;

    /// root -> global -> two objects, allocated by `handle` (called from
    /// `main`) and by `main` itself; the global has no trace.
    fn tracked(tree: &str) -> String {
        format!(
            r#"{{"snapshot":{{"meta":{META},"node_count":4,"edge_count":3,"trace_function_count":3}},
"nodes":[9,1,1,0,1,0,0
,3,2,3,100,2,0,0
,3,3,5,50,0,3,0
,3,3,7,50,0,2,0],
"edges":[5,4,7,2,5,14,2,6,21],
"trace_function_infos":[0,1,1,0,0,0,11,7,8,4,12,3,12,9,8,4,2,1],
"trace_tree":{tree},
"samples":[],
"locations":[],
"strings":["<dummy>","","global","Thing","g","x","y","handle","/srv/app.js","main"]}}"#
        )
    }

    const TREE: &str = "[1,0,0,0,[2,2,1,50,[3,1,1,50,[]]]]";

    fn parse(text: &str, chunk: usize) -> Result<Graph, SnapshotError> {
        let mut p = Parser::new();
        for c in text.as_bytes().chunks(chunk) {
            p.feed(c)?;
        }
        p.finish()
    }

    #[test]
    fn objects_keep_their_allocation_stacks_however_the_input_is_cut() {
        let text = tracked(TREE);
        for chunk in [1, 2, 3, 7, text.len()] {
            let g = parse(&text, chunk).unwrap();
            let a = &g.allocations;
            assert!(a.is_tracked());
            assert_eq!(a.node_trace, vec![0, 0, 3, 2], "chunk {chunk}");
            assert_eq!(a.tree.len(), 3);
            assert_eq!(a.trace_of(1), None, "the global has no trace");
            let frames = |o: u32| -> Vec<(String, String, u32)> {
                a.stack(a.trace_of(o).unwrap())
                    .map(|f| {
                        (
                            g.strings.get(f.name).into_owned(),
                            g.strings.get(f.script_name).into_owned(),
                            f.line,
                        )
                    })
                    .collect()
            };
            assert_eq!(
                frames(2),
                vec![
                    ("handle".into(), "/srv/app.js".into(), 12),
                    ("main".into(), "/srv/app.js".into(), 2),
                    ("".into(), "".into(), 0)
                ]
            );
            assert_eq!(frames(3)[0].0, "main");
        }
    }

    #[test]
    fn untracked_snapshots_hold_no_trace_column() {
        let text = tracked(TREE)
            .replace(",0,3,0\n", ",0,0,0\n")
            .replace(",0,2,0]", ",0,0,0]");
        let g = parse(&text, 5).unwrap();
        assert!(g.allocations.node_trace.is_empty());
        assert!(!g.allocations.is_tracked());
    }

    #[test]
    fn damaged_trees_are_typed_errors() {
        for (tree, code) in [
            ("[1,0,0,0,[2,2,1,50]]", "ERR_SNAPSHOT_SYNTAX"),
            ("[1,0,0,[]]", "ERR_SNAPSHOT_SYNTAX"),
            ("[1,0,0,0,[2,9,1,50,[]]]", "ERR_SNAPSHOT_INCONSISTENT"),
            ("[1,0,0,0,[]]]", "ERR_SNAPSHOT_SYNTAX"),
            ("[1,0,0,0,[x]]", "ERR_SNAPSHOT_SYNTAX"),
            ("[1,0,0,99999999999999999,[]]", "ERR_SNAPSHOT_SYNTAX"),
        ] {
            let err = parse(&tracked(tree), 4).unwrap_err();
            assert_eq!(err.code(), code, "{tree}: {err}");
        }
        let deep = format!("{}{}", "[1,0,0,0,".repeat(70_000), "[]]".repeat(70_000));
        let err = parse(&tracked(&deep), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("nests deeper than 65536"), "{err}");
        let cut = tracked(TREE);
        let at = cut.find("[3,1").unwrap();
        assert_eq!(
            parse(&cut[..at], 4).unwrap_err().code(),
            "ERR_SNAPSHOT_TRUNCATED"
        );
    }
}
