//! Reading `trace_tree`, the one nested array of a snapshot: each node is a
//! group of numbers (`trace_node_fields`) closed by the array of its
//! children, `[id, function, count, size, [child groups…], id, …]`.

use crate::analyzer::allocations::{TraceNode, NO_PARENT};
use crate::analyzer::meta::TraceNodeField;
use crate::analyzer::parser::MAX_SAFE_INTEGER;

/// One open array: the node its groups are children of, and how many
/// numbers of the group under way were read.
struct Frame {
    parent: u32,
    field: usize,
    /// The node whose numbers are complete and whose children come next.
    last: u32,
}

/// V8's stacks are far shallower (its own limit is about ten thousand
/// frames); deeper nesting is damage, refused before it costs memory.
const MAX_DEPTH: usize = 1 << 16;

#[derive(Default)]
pub(super) struct TreeScan {
    stack: Vec<Frame>,
    started: bool,
    num: u64,
    digits: u32,
    group: [u64; 4],
}

impl TreeScan {
    /// Reads `buf[i..]`; returns where it stopped and whether the array
    /// ended, or an error's position in `buf` and its message.
    pub(super) fn scan(
        &mut self,
        buf: &[u8],
        mut i: usize,
        fields: &[TraceNodeField],
        out: &mut Vec<TraceNode>,
    ) -> Result<(usize, bool), (usize, String)> {
        let children = fields.len().saturating_sub(1);
        while i < buf.len() {
            let b = buf[i];
            if b.is_ascii_digit() {
                if !self.started {
                    return Err((i, "`trace_tree` must be an array".into()));
                }
                self.num = self.num * 10 + (b - b'0') as u64;
                self.digits += 1;
                if self.digits > 16 || self.num > MAX_SAFE_INTEGER {
                    return Err((i, "integer exceeds 2^53 in `trace_tree`".into()));
                }
                i += 1;
                continue;
            }
            if self.digits > 0 {
                self.end_number(fields, out).map_err(|m| (i, m))?;
            }
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {}
                b'[' => {
                    if !self.started {
                        self.started = true;
                        self.stack.push(Frame {
                            parent: NO_PARENT,
                            field: 0,
                            last: NO_PARENT,
                        });
                    } else {
                        let Some(top) = self.stack.last_mut() else {
                            return Err((i, "data after the end of `trace_tree`".into()));
                        };
                        if top.field != children {
                            return Err((
                                i,
                                "a children array before the node's numbers in `trace_tree`".into(),
                            ));
                        }
                        top.field = 0;
                        let parent = top.last;
                        if self.stack.len() >= MAX_DEPTH {
                            return Err((
                                i,
                                format!("`trace_tree` nests deeper than {MAX_DEPTH} frames"),
                            ));
                        }
                        self.stack.push(Frame {
                            parent,
                            field: 0,
                            last: NO_PARENT,
                        });
                    }
                }
                b']' => {
                    match self.stack.pop() {
                        Some(frame) if frame.field == 0 => {}
                        Some(_) => {
                            return Err((i, "a `trace_tree` node lacks some of its fields".into()))
                        }
                        None => return Err((i, "unbalanced `]` in `trace_tree`".into())),
                    }
                    if self.stack.is_empty() {
                        return Ok((i + 1, true));
                    }
                }
                _ => return Err((i, format!("unexpected byte 0x{b:02x} in `trace_tree`"))),
            }
            i += 1;
        }
        Ok((i, false))
    }

    fn end_number(
        &mut self,
        fields: &[TraceNodeField],
        out: &mut Vec<TraceNode>,
    ) -> Result<(), String> {
        let value = self.num;
        self.num = 0;
        self.digits = 0;
        let Some(top) = self.stack.last_mut() else {
            return Err("data after the end of `trace_tree`".into());
        };
        let children = fields.len().saturating_sub(1);
        if top.field >= children {
            return Err("a `trace_tree` node has a number where its children array belongs".into());
        }
        let slot = match fields[top.field] {
            TraceNodeField::Id => Some(0),
            TraceNodeField::FunctionInfoIndex => Some(1),
            TraceNodeField::Count => Some(2),
            TraceNodeField::Size => Some(3),
            _ => None,
        };
        if let Some(k) = slot {
            self.group[k] = value;
        }
        top.field += 1;
        if top.field == children {
            let as_u32 = |v: u64, what: &str| {
                u32::try_from(v).map_err(|_| format!("`trace_tree` {what} {v} exceeds 2^32"))
            };
            top.last = out.len() as u32;
            out.push(TraceNode {
                id: as_u32(self.group[0], "id")?,
                function: as_u32(self.group[1], "function index")?,
                parent: top.parent,
                count: self.group[2],
                size: self.group[3],
            });
            self.group = [0; 4];
        }
        Ok(())
    }
}
