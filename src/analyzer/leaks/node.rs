//! What V8 and Node objects look like in a snapshot, for naming them in a
//! user's words: functions and the scripts that define them, oddballs,
//! Node's own structures (timer lists, the nextTick queue, free lists, the
//! module registry) and what V8 keeps for itself.

use crate::analyzer::snapshot::Snapshot;

pub const NONE: u32 = u32::MAX;

/// The first edge from `o` named `name` that is not weak.
pub fn edge_named(s: &Snapshot, o: u32, name: &[u8]) -> Option<usize> {
    let g = &s.graph;
    let t = &s.types;
    g.edges(o).find(|&e| {
        let ty = g.edge_type(e);
        ty != t.e_weak && t.edge_has_string_name(ty) && g.strings.wtf8(g.edge_name[e]) == name
    })
}

pub fn target_named(s: &Snapshot, o: u32, name: &[u8]) -> Option<u32> {
    edge_named(s, o, name).map(|e| s.graph.edge_target(e))
}

pub fn raw_name(s: &Snapshot, o: u32) -> &[u8] {
    s.graph.strings.wtf8(s.graph.node_name[o as usize])
}

/// `null`, `undefined`, `true`, `false` or `hole` for V8's oddballs (Node 26
/// names them; Node 22 calls the hole `system / Hole`; Node 20 calls them
/// all `system / Oddball` with the kind in a hidden string).
pub fn oddball(s: &Snapshot, o: u32) -> Option<String> {
    let g = &s.graph;
    if g.node_type(o) != s.types.hidden {
        return None;
    }
    match raw_name(s, o) {
        n @ (b"null" | b"undefined" | b"true" | b"false" | b"hole") => {
            Some(String::from_utf8_lossy(n).into_owned())
        }
        b"system / Hole" => Some("hole".to_string()),
        b"system / Oddball" => g
            .edges(o)
            .map(|e| g.edge_target(e))
            .find(|&x| g.node_type(x) == s.types.string)
            .map(|x| String::from_utf8_lossy(raw_name(s, x)).into_owned()),
        _ => None,
    }
}

pub fn is_oddball(s: &Snapshot, o: u32) -> bool {
    oddball(s, o).is_some()
}

/// What a person would call an object: not V8's bookkeeping (code, maps,
/// arrays backing other objects, synthetic roots, numbers).
pub fn is_user_object(s: &Snapshot, o: u32) -> bool {
    let ty = s.graph.node_type(o);
    let t = &s.types;
    if ty == t.object {
        let name = raw_name(s, o);
        return !name.starts_with(b"system /");
    }
    ty == t.closure || ty == t.regexp || is_string(s, o) || s.node_type_name(o) == "bigint"
}

pub fn is_string(s: &Snapshot, o: u32) -> bool {
    let ty = s.graph.node_type(o);
    let t = &s.types;
    ty == t.string || ty == t.cons_string || ty == t.sliced_string
}

/// The variable a closure scope (V8 Context) keeps in the slot edge `e`
/// points at. V8 names slots with `context` edges, except in scopes it
/// writes as numbered hidden slots (modules run by Vitest's vite-node): the
/// slot's number then indexes the scope's ScopeInfo, which lists the names.
pub fn context_slot_name(s: &Snapshot, ctx: u32, e: usize) -> Option<String> {
    let g = &s.graph;
    let t = &s.types;
    let ty = g.edge_type(e);
    if ty == t.e_context {
        return Some(s.edge_name(e));
    }
    if ty != t.e_hidden && ty != t.e_internal {
        return None;
    }
    scope_slot_name(s, ctx, s.edge_name(e).parse().ok()?)
}

/// The name of slot `slot` of a closure scope, from its ScopeInfo. V8
/// numbers only the slots holding heap objects (a small integer takes no
/// number), while the ScopeInfo lists every slot's name in order: the two
/// match one to one only when the highest number is the last name, and
/// otherwise no name is better than a wrong one. A scope with named
/// (`context`) slots is a declaration scope: V8 named its variables itself.
pub fn scope_slot_name(s: &Snapshot, ctx: u32, slot: u32) -> Option<String> {
    let g = &s.graph;
    let t = &s.types;
    if raw_name(s, ctx) != b"system / Context" {
        return None;
    }
    let mut last = 0u32;
    for e in g.edges(ctx) {
        let ty = g.edge_type(e);
        if ty == t.e_context {
            return None;
        } else if ty == t.e_hidden {
            last = last.max(g.edge_name[e]);
        }
    }
    let scope_info = internal_named(s, ctx, b"scope_info")?;
    let names: Vec<u32> = g
        .edges(scope_info)
        .filter(|&x| g.edge_type(x) == t.e_hidden)
        .enumerate()
        .take_while(|&(k, x)| {
            g.edge_name[x] as usize == k && g.node_type(g.edge_target(x)) == t.string
        })
        .map(|(_, x)| g.edge_target(x))
        .collect();
    if names.len() != last as usize + 1 {
        return None;
    }
    let text = String::from_utf8_lossy(raw_name(s, *names.get(slot as usize)?)).into_owned();
    (!text.is_empty()).then_some(text)
}

/// The SharedFunctionInfo of a closure (stable across snapshots).
pub fn shared_info(s: &Snapshot, closure: u32) -> Option<u32> {
    let g = &s.graph;
    g.edges(closure)
        .find(|&e| {
            g.edge_type(e) == s.types.e_internal && g.strings.wtf8(g.edge_name[e]) == b"shared"
        })
        .map(|e| g.edge_target(e))
}

/// The name of the script that defines a closure's function (a path,
/// `node:internal/…`, or empty for eval'd code).
pub fn function_script(s: &Snapshot, closure: u32) -> Option<String> {
    let sfi = shared_info(s, closure)?;
    let g = &s.graph;
    let script = g
        .edges(sfi)
        .find(|&e| {
            g.edge_type(e) == s.types.e_internal
                && matches!(
                    g.strings.wtf8(g.edge_name[e]),
                    b"script_or_debug_info" | b"script"
                )
        })
        .map(|e| g.edge_target(e))?;
    Some(String::from_utf8_lossy(raw_name(s, script)).into_owned())
}

/// Whether a script is Node's own (its bundled modules are `node:…`).
pub fn is_node_script(name: &str) -> bool {
    name.starts_with("node:") || name.starts_with("internal/")
}

/// A closure's source position: script name, 1-based line and column.
pub fn function_location(s: &Snapshot, closure: u32) -> Option<(String, u32, u32)> {
    let locations = &s.graph.locations;
    let found = if locations.is_sorted_by_key(|l| l[0]) {
        locations
            .binary_search_by_key(&closure, |l| l[0])
            .ok()
            .map(|k| locations[k])
    } else {
        locations.iter().find(|l| l[0] == closure).copied()
    };
    let script = function_script(s, closure).unwrap_or_default();
    let [_, _, line, column] = found?;
    // V8 writes 0-based positions; stack traces show them 1-based.
    Some((script, line.saturating_add(1), column.saturating_add(1)))
}

fn internal_named(s: &Snapshot, o: u32, name: &[u8]) -> Option<u32> {
    let g = &s.graph;
    g.edges(o)
        .find(|&e| g.edge_type(e) == s.types.e_internal && g.strings.wtf8(g.edge_name[e]) == name)
        .map(|e| g.edge_target(e))
}

/// The constructor function of an object: its prototype's `constructor`,
/// or (where that is an accessor, as for Node's Module) the one its hidden
/// class's root map records.
pub fn constructor_of(s: &Snapshot, o: u32) -> Option<u32> {
    let is_closure = |x: u32| s.graph.node_type(x) == s.types.closure;
    if let Some(ctor) =
        target_named(s, o, b"__proto__").and_then(|p| target_named(s, p, b"constructor"))
    {
        if is_closure(ctor) {
            return Some(ctor);
        }
    }
    let mut map = internal_named(s, o, b"map")?;
    for _ in 0..32 {
        if let Some(ctor) = internal_named(s, map, b"constructor") {
            return is_closure(ctor).then_some(ctor);
        }
        map = internal_named(s, map, b"back_pointer")?;
    }
    None
}

/// Whether the object's class is one of Node's own, defined in `node:` code.
pub fn class_is_node_internal(s: &Snapshot, o: u32) -> bool {
    constructor_of(s, o)
        .and_then(|c| function_script(s, c))
        .is_some_and(|n| is_node_script(&n))
}

/// Node's structures that grow and shrink with the event loop's work, named
/// the way Node's documentation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStructure {
    /// `process.nextTick` callbacks waiting for the loop to turn.
    TickQueue,
    /// Timer lists, their priority queue and Timeout/Immediate objects.
    Timers,
    /// A pool of reusable objects (HTTP parsers).
    FreeList,
    /// `require.cache` and `module.children`.
    ModuleRegistry,
}

/// Node's structure an object belongs to, if it is one of them.
pub fn node_structure(s: &Snapshot, o: u32) -> Option<NodeStructure> {
    if s.graph.node_type(o) != s.types.object {
        return None;
    }
    let structure = match raw_name(s, o) {
        b"FixedQueue" | b"FixedCircularBuffer" => NodeStructure::TickQueue,
        b"TimersList" | b"PriorityQueue" | b"Timeout" | b"Immediate" | b"ImmediateList" => {
            NodeStructure::Timers
        }
        b"FreeList" => NodeStructure::FreeList,
        b"Module" => NodeStructure::ModuleRegistry,
        _ => return None,
    };
    class_is_node_internal(s, o).then_some(structure)
}
