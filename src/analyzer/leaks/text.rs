//! A suspect's words, kept as parts: our own text, and names taken from the
//! heap (classes, properties, variables, functions, script names, string
//! values). Every name reaches the rendered text through one [`NamePolicy`]
//! call for its kind, so a redaction policy replaces names where they are
//! produced and nowhere else.

/// What kind of name a part carries: the unit a redaction policy decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A constructor or inferred class name (`Socket`, `{url, method}`).
    Class,
    /// A property, map-key or edge name (`_events`, `cache`).
    Property,
    /// A variable: a closure-scope slot or a global's property.
    Variable,
    /// A function's name.
    Function,
    /// A script's file name or URL.
    Script,
    /// Contents of a string in the heap.
    Value,
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
                    out.push_str(&policy.name(NameKind::Script, &short_script(script)));
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

/// Sizes as DevTools shows them: base 1000, kB and MB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
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
                (NameKind::Script, "node_modules/raw-body/index.js".into())
            ]
        );
    }

    #[test]
    fn sizes_are_in_base_1000() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1000), "1.0 kB");
        assert_eq!(bytes(7_200_000), "7.2 MB");
    }
}
