//! The one redaction policy: which texts taken from a snapshot may be shown
//! when the caller asks for `redact`, and the placeholders that replace the
//! others. Every name the analyzer hands out (node names, class names and
//! keys, edge names and labels, holder names, the words of leak sentences)
//! is produced through [`Names`], so the API, the CLI and every output
//! format obey the same rule.
//!
//! What a heap holds that is the program's data, and is hidden:
//! - the contents of strings (flat, concatenated, sliced) and RegExp sources;
//! - property names of objects that are not instances of a class the code
//!   declares: plain objects (`{}`, `Object.create(null)`), the global
//!   object, arrays, Maps, Sets, arguments. Such objects are used as maps
//!   (`cache[userId] = …`), so their keys are data; DevTools' `{a, b}` class
//!   names, built from those keys, are hidden member by member;
//! - constructor and function names that no compiled function or class in
//!   the heap carries: V8 takes an object's class name from
//!   `Symbol.toStringTag` or from a `name` set at run time, both of which can
//!   hold data;
//! - values V8 writes into a few node names (heap numbers, symbol
//!   descriptions, bigints), the descriptions in symbol-keyed property
//!   names on any object, and names of node types V8 does not document.
//!
//! What is code, and is kept: the names of compiled functions and classes
//! (a name some SharedFunctionInfo in the same heap carries, so it was
//! written in source), closure variable names (V8 takes them from the scope
//! information of compiled code), property names of instances of those
//! classes and of functions (`this.sessions = …`, declared by the code; so
//! an instance used as a map, `this[userId] = …`, shows its keys, as the
//! README says),
//! V8's and Node's own names for internal objects and edges (`(system)`,
//! `system / Context`, `map`, `Node / TCPWrap`, `__proto__`), numbers
//! (element indices, sizes, ids, distances) and script names.
//!
//! A placeholder names its kind and a tag: `<string:3f9a01bc>`,
//! `<key:5d02e7aa>`. The tag is a keyed hash of the text, so the same text
//! gets the same placeholder everywhere in one snapshot's results (a path
//! still reads: `.<key:5d02e7aa>` leads into `{<key:5d02e7aa>, …}`). The
//! key is secret to the process and differs per loaded snapshot, so tags
//! cannot be matched across snapshots, runs or reports of other files, nor
//! looked up by hashing guesses.

use super::snapshot::Snapshot;
use super::strings::wtf8_to_string;
use once_cell::sync::Lazy;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a hidden text was, shown in its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    RegExp,
    /// A property name, or a member of a `{a, b}` class name.
    Key,
    /// A constructor or class name.
    Class,
    Function,
    Number,
    Symbol,
    BigInt,
    /// A name of a node type the snapshot's meta declares but V8 does not.
    Name,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::RegExp => "regexp",
            Kind::Key => "key",
            Kind::Class => "class",
            Kind::Function => "function",
            Kind::Number => "number",
            Kind::Symbol => "symbol",
            Kind::BigInt => "bigint",
            Kind::Name => "name",
        }
    }
}

/// The process's secret hashing key, drawn from the OS by the standard library.
static PROCESS_KEY: Lazy<RandomState> = Lazy::new(RandomState::new);
static NEXT_NONCE: AtomicU64 = AtomicU64::new(1);

/// A fresh per-snapshot value mixed into every tag with the process key.
pub fn new_nonce() -> u64 {
    NEXT_NONCE.fetch_add(1, Ordering::Relaxed)
}

/// Names of V8's built-in objects that no SharedFunctionInfo carries.
const ENGINE_OBJECT_NAMES: &[&str] = &[
    "global",
    "global (global)",
    "global (global*)",
    "system / Context",
    "Object",
    "JSON",
    "Math",
    "Reflect",
    "Atomics",
    "Intl",
    "Console",
    "Generator",
    "AsyncGenerator",
    "Iterator Helper",
    "Async-from-Sync Iterator",
    "Array Iterator",
    "Map Iterator",
    "Set Iterator",
    "String Iterator",
    "RegExp String Iterator",
    "Segmenter String Iterator",
    "URLSearchParams Iterator",
];

/// Objects whose property names are data: plain objects and the built-in
/// containers that programs use as maps.
const MAP_LIKE_OBJECT_NAMES: &[&str] = &[
    "Object",
    "global",
    "global (global)",
    "global (global*)",
    "Array",
    "Map",
    "Set",
    "WeakMap",
    "WeakSet",
    "Arguments",
];

/// Whether objects of this V8 class hold data in their property names.
pub fn is_map_like(class: &str) -> bool {
    MAP_LIKE_OBJECT_NAMES.contains(&class)
}

fn name_hash(text: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The names in one heap that are code, not data (see the module notes).
#[derive(Debug, Default)]
pub struct Vocabulary {
    names: HashSet<u64>,
}

impl Vocabulary {
    /// Names of compiled code (functions, classes, scripts) and of the
    /// engine's own nodes, whose names V8 and Node choose.
    pub fn build(s: &Snapshot) -> Vocabulary {
        let g = &s.graph;
        let t = &s.types;
        let engine = [t.code, t.native, t.hidden, t.synthetic, t.array];
        let shape = s.graph.meta.node_type_index("object shape");
        let mut seen = vec![false; g.strings.len()];
        let mut names = HashSet::new();
        for o in 0..g.node_count() as u32 {
            let ty = g.node_type(o);
            if !engine.contains(&ty) && Some(ty) != shape {
                continue;
            }
            let name = g.node_name[o as usize];
            if let Some(done) = seen.get_mut(name as usize) {
                if !*done {
                    *done = true;
                    let text = wtf8_to_string(g.strings.wtf8(name));
                    names.insert(name_hash(text.as_bytes()));
                }
            }
        }
        for name in ENGINE_OBJECT_NAMES {
            names.insert(name_hash(name.as_bytes()));
        }
        Vocabulary { names }
    }

    pub fn contains(&self, text: &str) -> bool {
        self.names.contains(&name_hash(text.as_bytes()))
            || text
                .strip_prefix("Intl.")
                .or_else(|| text.strip_prefix("WebAssembly."))
                .is_some_and(|rest| {
                    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphabetic())
                })
    }
}

/// Produces every name shown to a caller: as in the snapshot, or under the
/// redaction policy.
pub struct Names<'a> {
    /// With redaction: the vocabularies of the snapshots involved (a name
    /// that is code in any of them is code) and the nonce of the snapshot
    /// the results belong to.
    redact: Option<(Vec<&'a Vocabulary>, u64)>,
}

impl<'a> Names<'a> {
    /// Shows every name as the snapshot has it.
    pub fn plain() -> Names<'static> {
        Names { redact: None }
    }

    /// Redacts names from `snapshots`; placeholders are keyed by the first.
    pub fn redacted(snapshots: &[&'a Snapshot]) -> Names<'a> {
        let nonce = snapshots.first().map_or(0, |s| s.redaction_nonce());
        Names {
            redact: Some((snapshots.iter().map(|s| s.vocabulary()).collect(), nonce)),
        }
    }

    pub fn new(redact: bool, snapshots: &[&'a Snapshot]) -> Names<'a> {
        if redact {
            Names::redacted(snapshots)
        } else {
            Names { redact: None }
        }
    }

    pub fn is_redacting(&self) -> bool {
        self.redact.is_some()
    }

    /// The placeholder for a hidden text.
    pub fn placeholder(&self, kind: Kind, text: &str) -> String {
        let nonce = self.redact.as_ref().map_or(0, |r| r.1);
        let tag = PROCESS_KEY.hash_one((nonce, text.as_bytes())) as u32;
        format!("<{}:{tag:08x}>", kind.as_str())
    }

    fn is_code(&self, text: &str) -> bool {
        match &self.redact {
            None => true,
            Some((vocabularies, _)) => {
                text.is_empty() || vocabularies.iter().any(|v| v.contains(text))
            }
        }
    }

    /// A text that is always data: shown, or replaced.
    pub fn data(&self, kind: Kind, text: String) -> String {
        if self.redact.is_some() {
            self.placeholder(kind, &text)
        } else {
            text
        }
    }

    /// A name that is kept when it is code (a compiled function or class
    /// name, an engine name).
    pub fn code_or(&self, kind: Kind, text: String) -> String {
        if self.is_code(&text) {
            text
        } else {
            self.placeholder(kind, &text)
        }
    }

    /// A property name of an object that does not declare its properties.
    pub fn key(&self, name: String) -> String {
        if self.redact.is_none() || name == "__proto__" {
            name
        } else {
            self.placeholder(Kind::Key, &name)
        }
    }

    /// A class name from the summary, a diff row or a leak verdict:
    /// DevTools' fixed names for node types are kept, `{a, b}` interface
    /// names are redacted member by member, constructor names kept when
    /// they are code.
    pub fn class_name(&self, s: &Snapshot, name: &str) -> String {
        if self.redact.is_none() || is_type_class(s, name) {
            return name.to_string();
        }
        if let Some(inner) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            return self.interface(inner);
        }
        self.code_or(Kind::Class, name.to_string())
    }

    /// A class key: `,<name>` or `<script>,<line>,<column>,<name>`.
    pub fn class_key(&self, s: &Snapshot, key: &str) -> String {
        if self.redact.is_none() {
            return key.to_string();
        }
        let split = if key.starts_with(',') {
            Some(1)
        } else {
            key.match_indices(',').nth(2).map(|(i, _)| i + 1)
        };
        match split {
            Some(at) => format!("{}{}", &key[..at], self.class_name(s, &key[at..])),
            None => self.class_name(s, key),
        }
    }

    /// `{a, b, "c, d", …}` with each member as a hidden key.
    fn interface(&self, inner: &str) -> String {
        let members: Vec<String> = split_interface(inner)
            .into_iter()
            .map(|m| {
                if m == "…" {
                    m.to_string()
                } else {
                    let raw = if m.starts_with('"') {
                        serde_json::from_str::<String>(m).unwrap_or_else(|_| m.to_string())
                    } else {
                        m.to_string()
                    };
                    self.key(raw)
                }
            })
            .collect();
        format!("{{{}}}", members.join(", "))
    }
}

/// A class name DevTools gives by node type rather than by constructor:
/// `(system)`, `(compiled code)`, `Function`, `RegExp`, `(string)`, …
fn is_type_class(s: &Snapshot, name: &str) -> bool {
    if matches!(name, "(system)" | "(compiled code)" | "Function" | "RegExp") {
        return true;
    }
    name.strip_prefix('(')
        .and_then(|n| n.strip_suffix(')'))
        .is_some_and(|ty| s.graph.meta.node_types.iter().any(|t| t == ty))
}

/// Members of an interface name as DevTools prints it: separated by `, `,
/// with names holding a comma, quote or brace JSON-quoted.
fn split_interface(inner: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = inner.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let end = if bytes[at] == b'"' {
            let mut k = at + 1;
            while k < bytes.len() && bytes[k] != b'"' {
                k += if bytes[k] == b'\\' { 2 } else { 1 };
            }
            (k + 1).min(bytes.len())
        } else {
            inner[at..].find(", ").map_or(bytes.len(), |p| at + p)
        };
        out.push(&inner[at..end]);
        at = end;
        if inner[at..].starts_with(", ") {
            at += 2;
        } else if at < bytes.len() {
            // A quoted member not followed by a separator: take the rest whole.
            out.push(&inner[at..]);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_members_split_like_devtools_prints_them() {
        assert_eq!(split_interface("a, b"), ["a", "b"]);
        assert_eq!(split_interface(r#"a, "b, c", d"#), ["a", r#""b, c""#, "d"]);
        assert_eq!(split_interface(r#""x\"y, z", …"#), [r#""x\"y, z""#, "…"]);
        assert_eq!(split_interface(""), Vec::<&str>::new());
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::analyzer::report::View;
    use crate::analyzer::snapshot::path_tests::*;

    /// A heap with a secret in every position the policy hides, beside the
    /// code identifiers it keeps.
    fn planted() -> (Snapshot, Vec<u32>) {
        let mut b = Builder::new();
        let global = b.node(OBJECT, "global", 10);
        b.edge(0, SHORTCUT, "1", global);
        // An object used as a map, keyed by data, holding a string value.
        let dict = b.node(OBJECT, "Object", 20);
        b.edge(global, PROPERTY, "sk_live_GLOBAL", dict);
        let entry = b.node(OBJECT, "Object", 20);
        b.edge(dict, PROPERTY, "sk_live_KEY", entry);
        b.edge(dict, PROPERTY, "__proto__", entry);
        let value = b.node(STRING, "sk_live_VALUE", 32);
        b.edge(entry, PROPERTY, "token", value);
        // A class the code declares, its declared property, its method.
        b.node(CODE, "Session", 40);
        b.node(CODE, "handle", 40);
        let session = b.node(OBJECT, "Session", 30);
        b.edge(dict, ELEMENT, "0", session);
        let sessions = b.node(OBJECT, "Map", 10);
        b.edge(session, PROPERTY, "sessions", sessions);
        let method = b.node(CLOSURE, "handle", 10);
        b.edge(session, PROPERTY, "handle", method);
        // A closure variable holding a secret.
        let scope = b.node(OBJECT, "system / Context", 10);
        b.edge(method, INTERNAL, "context", scope);
        let captured = b.node(STRING, "sk_live_CAPTURED", 32);
        b.edge(scope, CONTEXT, "apiKey", captured);
        // Names V8 takes from data: `Symbol.toStringTag`, a run-time `name`.
        let tagged = b.node(OBJECT, "sk_live_TAG", 10);
        b.edge(session, PROPERTY, "meta", tagged);
        let renamed = b.node(CLOSURE, "sk_live_FN", 10);
        b.edge(session, PROPERTY, "callback", renamed);
        let regexp = b.node(6, "sk_live_RE", 10);
        b.edge(session, PROPERTY, "pattern", regexp);
        let s = b.load();
        let nodes = (0..s.node_count() as u32).collect();
        (s, nodes)
    }

    fn everything_shown(view: &View, nodes: &[u32]) -> String {
        let s = view.snapshot;
        let mut out = String::new();
        for &o in nodes {
            let n = view.node(o);
            out += &format!("{} | {}\n", n.name, n.class_name);
            for e in s.graph.edges(o) {
                let edge = view.edge(e, o, s.graph.edge_target(e));
                out += &format!("  {} {}\n", edge.name, edge.label);
            }
            for step in view.path(o, 24) {
                out += &format!("  {:?} {}\n", step.edge_label, step.node.name);
            }
        }
        for c in view.class_table() {
            out += &format!("{} {}\n", c.key, c.name);
        }
        out
    }

    #[test]
    fn redaction_hides_data_and_keeps_code_identifiers() {
        let (s, nodes) = planted();
        let plain = everything_shown(&View::plain(&s), &nodes);
        for secret in ["GLOBAL", "KEY", "VALUE", "CAPTURED", "TAG", "FN", "RE"] {
            assert!(
                plain.contains(&format!("sk_live_{secret}")),
                "the control shows {secret}"
            );
        }
        let shown = everything_shown(&View::new(&s, Names::redacted(&[&s])), &nodes);
        assert!(!shown.contains("sk_live"), "{shown}");
        for code in [
            "Session",
            "sessions",
            "handle",
            "apiKey",
            "__proto__",
            "global",
            "system / Context",
            "{context}",
        ] {
            assert!(shown.contains(code), "{code} is code and stays:\n{shown}");
        }
        // Data keys are placeholders, the same for an edge and a class name.
        let names = Names::redacted(&[&s]);
        let key = names.placeholder(Kind::Key, "sk_live_KEY");
        assert!(shown.contains(&format!(".{key}")));
        assert!(
            shown.contains(&format!("{{{key}, __proto__}}"))
                || shown.contains(&format!("{{{key}}}")),
            "{shown}"
        );
        assert!(shown.contains("<string:"));
        assert!(shown.contains("<class:"));
        assert!(shown.contains("<function:"));
        assert!(shown.contains("<regexp:"));
    }

    #[test]
    fn placeholders_are_stable_per_snapshot_and_differ_between_snapshots() {
        let (a, _) = planted();
        let (b, _) = planted();
        let on_a = Names::redacted(&[&a]);
        assert_eq!(
            on_a.placeholder(Kind::Key, "x"),
            Names::redacted(&[&a]).placeholder(Kind::Key, "x")
        );
        assert_ne!(
            on_a.placeholder(Kind::Key, "x"),
            on_a.placeholder(Kind::Key, "y")
        );
        assert_ne!(
            on_a.placeholder(Kind::Key, "x"),
            Names::redacted(&[&b]).placeholder(Kind::Key, "x")
        );
        // Keyed by the first snapshot: a diff or a leak report of snapshots
        // that start with `a` matches what `a`'s own queries show.
        assert_eq!(
            on_a.placeholder(Kind::Key, "x"),
            Names::redacted(&[&a, &b]).placeholder(Kind::Key, "x")
        );
    }

    #[test]
    fn class_keys_keep_their_location_and_lose_their_name() {
        let (s, _) = planted();
        let names = Names::redacted(&[&s]);
        let secret = names.placeholder(Kind::Key, "sk_live_KEY");
        assert_eq!(
            names.class_key(&s, ",{sk_live_KEY, a}"),
            format!(",{{{secret}, {}}}", names.placeholder(Kind::Key, "a"))
        );
        assert_eq!(names.class_key(&s, "12,3,4,Session"), "12,3,4,Session");
        assert_eq!(
            names.class_key(&s, "12,3,4,sk_live_TAG"),
            format!("12,3,4,{}", names.placeholder(Kind::Class, "sk_live_TAG"))
        );
        assert_eq!(names.class_name(&s, "(string)"), "(string)");
        assert_eq!(names.class_name(&s, "(compiled code)"), "(compiled code)");
        let quoted = names.class_name(&s, r#"{"sk_live, x", …}"#);
        assert_eq!(
            quoted,
            format!("{{{}, …}}", names.placeholder(Kind::Key, "sk_live, x"))
        );
    }
}
