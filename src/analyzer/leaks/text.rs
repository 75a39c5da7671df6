//! A suspect's words, kept as parts: our own text, and names taken from the
//! heap (classes, properties, variables, functions, script names, string
//! values). Every name reaches the rendered text through one [`NamePolicy`]
//! call for its kind, so a redaction policy replaces names where they are
//! produced and nowhere else.

use crate::analyzer::redact::{Kind, Names};
use crate::analyzer::snapshot::Snapshot;

/// What kind of name a part carries: the unit a redaction policy decides
/// on. Where the same words can be code or data (a property name, a
/// variable), the kind says which, decided where the name is read from the
/// heap by the redaction policy's rule (`crate::analyzer::redact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A constructor or inferred class name (`Socket`, `{url, method}`).
    Class,
    /// A property the code declares: of an instance of one of its classes,
    /// of a function, or an engine's own edge name (`_events`, `cache`).
    Property,
    /// A property name of an object used as a map (a plain object, an
    /// array, a Map, an emitter's `_events`): the program's data.
    Key,
    /// A closure variable, named by compiled scope information.
    Variable,
    /// A global variable: a property of the global object, whose names are
    /// data like any map's keys.
    Global,
    /// A function's name.
    Function,
    /// A script's file name or URL.
    Script,
    /// Contents of a string in the heap.
    Value,
}

impl NameKind {
    /// The kind a reader styles the name as: a key is a property and a
    /// global a variable, whatever the policy does with them.
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Class => "class",
            NameKind::Property | NameKind::Key => "property",
            NameKind::Variable | NameKind::Global => "variable",
            NameKind::Function => "function",
            NameKind::Script => "script",
            NameKind::Value => "value",
        }
    }
}

/// Decides how each name appears in rendered text.
pub trait NamePolicy {
    fn name(&mut self, kind: NameKind, raw: &str) -> String;
}

/// Names as the snapshot has them.
pub struct Verbatim;

impl NamePolicy for Verbatim {
    fn name(&mut self, _kind: NameKind, raw: &str) -> String {
        raw.to_string()
    }
}

/// Names under the snapshots' redaction policy ([`Names`]): with redaction
/// on, data becomes placeholders and code identifiers stay; placeholders
/// are those of the same texts in the report's paths and diff (keyed by the
/// first snapshot).
pub struct Shown<'a> {
    /// The snapshot the names were read from (the last of a sequence).
    pub snapshot: &'a Snapshot,
    pub names: Names<'a>,
}

impl NamePolicy for Shown<'_> {
    fn name(&mut self, kind: NameKind, raw: &str) -> String {
        let names = &self.names;
        match kind {
            NameKind::Class => names.class_name(self.snapshot, raw),
            NameKind::Property | NameKind::Variable => raw.to_string(),
            NameKind::Key | NameKind::Global => names.key(raw.to_string()),
            NameKind::Function => names.code_or(Kind::Function, raw.to_string()),
            // A script name is code when a script of that name is in the heap.
            NameKind::Script => names.code_or(Kind::String, raw.to_string()),
            NameKind::Value => names.data(Kind::String, raw.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Our own words.
    Text(String),
    /// A name from the heap, rendered through the policy.
    Name(NameKind, String),
    /// A source position: script, 1-based line (0: unknown).
    Place(String, u32),
    Count(u64),
    Bytes(u64),
}

/// A sentence under construction, and once built, a sequence of parts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub Vec<Part>);

impl Text {
    pub fn new() -> Self {
        Text(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Text(s.into()));
        self
    }

    /// A name shown in backticks (variables, properties, functions).
    pub fn quoted(self, kind: NameKind, raw: impl Into<String>) -> Self {
        self.text("`").name(kind, raw).text("`")
    }

    pub fn name(mut self, kind: NameKind, raw: impl Into<String>) -> Self {
        self.0.push(Part::Name(kind, raw.into()));
        self
    }

    pub fn class(self, raw: impl Into<String>) -> Self {
        self.name(NameKind::Class, raw)
    }

    pub fn place(mut self, script: impl Into<String>, line: u32) -> Self {
        self.0.push(Part::Place(script.into(), line));
        self
    }

    pub fn count(mut self, n: u64) -> Self {
        self.0.push(Part::Count(n));
        self
    }

    pub fn bytes(mut self, n: u64) -> Self {
        self.0.push(Part::Bytes(n));
        self
    }

    /// Counts joined by arrows: `200 → 400 → 600`.
    pub fn series(mut self, values: &[u64]) -> Self {
        for (k, &v) in values.iter().enumerate() {
            if k > 0 {
                self = self.text(" → ");
            }
            self = self.count(v);
        }
        self
    }

    pub fn append(mut self, other: Text) -> Self {
        self.0.extend(other.0);
        self
    }

    pub fn render(&self, policy: &mut dyn NamePolicy) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Name(kind, raw) => out.push_str(&policy.name(*kind, raw)),
                Part::Place(script, line) => {
                    // The policy judges the name the heap has; a kept one is
                    // then shortened as a stack trace shows it.
                    let shown = policy.name(NameKind::Script, script);
                    out.push_str(&if shown == *script {
                        short_script(script)
                    } else {
                        shown
                    });
                    if *line > 0 {
                        out.push_str(&format!(":{line}"));
                    }
                }
                Part::Count(n) => out.push_str(&thousands(*n)),
                Part::Bytes(n) => out.push_str(&bytes(*n)),
            }
        }
        out
    }
}

/// Script names as a user reads them in a stack trace: paths relative to
/// the package they are in, `file://` dropped.
pub fn short_script(name: &str) -> String {
    let name = name.strip_prefix("file://").unwrap_or(name);
    if let Some(p) = name.rfind("/node_modules/") {
        return name[p + 1..].to_string();
    }
    name.to_string()
}

/// Sizes as DevTools shows them, and as the JS side's `formatBytes` prints
/// every other size (lib/format.js): base 1000, one decimal below 100 of a
/// unit and none from 100 up, the next unit from 999.5 of one up.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut u = 0;
    while v >= 999.5 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let digits = if v < 100.0 { 1 } else { 0 };
    format!("{} {}", round_shortest(v, digits), UNITS[u])
}

/// `v` to `digits` decimals, rounding half up from its shortest decimal form
/// (1.15 is 1.2), as Intl.NumberFormat and so DevTools do; formatting the
/// binary value would give 1.1.
fn round_shortest(v: f64, digits: usize) -> String {
    let shortest = format!("{v}");
    let (int, frac) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let mut kept: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(digits))
        .collect();
    if frac.as_bytes().get(digits).is_some_and(|&d| d >= b'5') {
        let mut k = kept.len();
        loop {
            if k == 0 {
                kept.insert(0, b'1');
                break;
            }
            k -= 1;
            if kept[k] == b'9' {
                kept[k] = b'0';
            } else {
                kept[k] += 1;
                break;
            }
        }
    }
    let text = String::from_utf8(kept).unwrap_or_default();
    if digits == 0 {
        text
    } else {
        let at = text.len() - digits;
        format!("{}.{}", &text[..at], &text[at..])
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Plural of a count's noun, for our own words only.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        one.to_string()
    } else {
        many.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Placeholders(Vec<(NameKind, String)>);
    impl NamePolicy for Placeholders {
        fn name(&mut self, kind: NameKind, raw: &str) -> String {
            self.0.push((kind, raw.to_string()));
            format!("<{kind:?}>")
        }
    }

    #[test]
    fn every_name_goes_through_the_policy_once_with_its_kind() {
        let t = Text::new()
            .class("Array")
            .text(" ")
            .quoted(NameKind::Variable, "requestLog")
            .text(" grew: ")
            .series(&[200, 1400])
            .text(", ")
            .bytes(21_000)
            .text(" at ")
            .place("/srv/node_modules/raw-body/index.js", 12);
        assert_eq!(
            t.render(&mut Verbatim),
            "Array `requestLog` grew: 200 → 1,400, 21.0 kB at node_modules/raw-body/index.js:12"
        );
        let mut p = Placeholders(Vec::new());
        assert_eq!(
            t.render(&mut p),
            "<Class> `<Variable>` grew: 200 → 1,400, 21.0 kB at <Script>:12"
        );
        assert_eq!(
            p.0,
            vec![
                (NameKind::Class, "Array".into()),
                (NameKind::Variable, "requestLog".into()),
                (
                    NameKind::Script,
                    "/srv/node_modules/raw-body/index.js".into()
                )
            ]
        );
    }

    #[test]
    fn sizes_read_as_formatbytes_prints_them() {
        // Expected: lib/format.js's formatBytes (DevTools' rule) on each.
        for (n, want) in [
            (0, "0 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (1049, "1.0 kB"),
            (1050, "1.1 kB"),
            (1150, "1.2 kB"),
            (1250, "1.3 kB"),
            (9950, "10.0 kB"),
            (99_949, "99.9 kB"),
            (99_950, "100.0 kB"),
            (100_000, "100 kB"),
            (100_499, "100 kB"),
            (100_500, "101 kB"),
            (178_200, "178 kB"),
            (999_499, "999 kB"),
            (999_500, "1.0 MB"),
            (1_150_000, "1.2 MB"),
            (7_200_000, "7.2 MB"),
            (99_950_000, "100.0 MB"),
            (123_456_789, "123 MB"),
            (999_500_000, "1.0 GB"),
            (1_234_567_890_123, "1.2 TB"),
        ] {
            assert_eq!(bytes(n), want, "{n}");
        }
    }
}
