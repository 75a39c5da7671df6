//! Recognises V8's WeakMap ephemeron edge names,
//! `<n> / part of key (<k> @<id>) -> value (<v> @<id>) pair in WeakMap (table @<t>)`.
//!
//! DevTools matches them with a regular expression; this is the same language
//! decided by hand: the tail is anchored so it parses uniquely from the end,
//! and the two lazy wildcards may hold anything but a line terminator.

use super::strings::StringTable;
use std::collections::HashMap;

// Per-string marks; an ephemeron name's index is stored plus `FIRST_NAME`.
// Zero as "not checked" leaves the table's pages for strings that never name
// an internal edge uncommitted (see `memory`): most of it on a big heap,
// where it stays live through the dominator phase.
const NOT_CHECKED: u32 = 0;
const NOT_EPHEMERON: u32 = 1;
const FIRST_NAME: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EphemeronName {
    /// Everything after the leading number: equal for both edges of one pair.
    pub pair: u32,
    /// The WeakMap table's node id (u64::MAX if it cannot be a node id).
    pub table_id: u64,
}

/// Parses one edge name. Returns the byte offset where the pair-identifying
/// part starts and the table id.
pub fn parse_ephemeron_name(s: &[u8]) -> Option<(usize, u64)> {
    if s.iter().any(|&b| b == b'\n' || b == b'\r')
        || s.windows(3)
            .any(|w| w == [0xE2, 0x80, 0xA8] || w == [0xE2, 0x80, 0xA9])
    {
        return None;
    }
    let lead = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if lead == 0 {
        return None;
    }
    let rest = &s[lead..];
    let rest_body = rest.strip_prefix(b" / part of key (")?;
    let t = rest_body.strip_suffix(b")")?;
    let table_digits = t.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if table_digits == 0 {
        return None;
    }
    let (t, digits) = t.split_at(t.len() - table_digits);
    let u = t.strip_suffix(b") pair in WeakMap (table @")?;
    let value_digits = u.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if value_digits == 0 {
        return None;
    }
    let middle = u[..u.len() - value_digits].strip_suffix(b" @")?;
    // `middle` is `<key>.*? @\d+) -> value (<value>.*?`: some occurrence of
    // `) -> value (` must be preceded by ` @` and at least one digit.
    let marker = b") -> value (";
    let found = (0..middle.len().saturating_sub(marker.len() - 1)).any(|p| {
        if &middle[p..p + marker.len()] != marker {
            return false;
        }
        let before = &middle[..p];
        let d = before
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        d > 0 && before[..before.len() - d].ends_with(b" @")
    });
    if !found {
        return None;
    }
    let table_id = parse_decimal(digits);
    Some((lead, table_id))
}

fn parse_decimal(digits: &[u8]) -> u64 {
    let mut v: u64 = 0;
    for &d in digits {
        v = match v
            .checked_mul(10)
            .and_then(|x| x.checked_add((d - b'0') as u64))
        {
            Some(x) => x,
            None => return u64::MAX,
        };
    }
    v
}

/// Per-string cache of ephemeron parses for the names of internal edges.
pub struct EphemeronNames {
    per_string: Vec<u32>,
    names: Vec<EphemeronName>,
}

impl EphemeronNames {
    /// Parses each distinct string used as the name of an `internal` edge.
    pub fn build(
        strings: &StringTable,
        edge_names: &[u32],
        edge_types: &[u32],
        internal: u8,
        type_mask: u32,
    ) -> Self {
        let mut per_string = vec![NOT_CHECKED; strings.len()];
        let mut names = Vec::new();
        let mut pairs: HashMap<&[u8], u32> = HashMap::new();
        for (e, &name) in edge_names.iter().enumerate() {
            if (edge_types[e] & type_mask) as u8 != internal {
                continue;
            }
            let slot = &mut per_string[name as usize];
            if *slot != NOT_CHECKED {
                continue;
            }
            let text = strings.wtf8(name);
            *slot = match parse_ephemeron_name(text) {
                None => NOT_EPHEMERON,
                Some((start, table_id)) => {
                    let next = pairs.len() as u32;
                    let pair = *pairs.entry(&text[start..]).or_insert(next);
                    names.push(EphemeronName { pair, table_id });
                    (names.len() - 1) as u32 + FIRST_NAME
                }
            };
        }
        EphemeronNames { per_string, names }
    }

    #[inline]
    pub fn get(&self, string: u32) -> Option<EphemeronName> {
        match self.per_string.get(string as usize) {
            Some(&i) if i >= FIRST_NAME => self.names.get((i - FIRST_NAME) as usize).copied(),
            _ => None,
        }
    }

    pub fn pair_count(&self) -> usize {
        self.names
            .iter()
            .map(|n| n.pair as usize + 1)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v8_ephemeron_names() {
        let s = b"12 / part of key (Object @5) -> value (Foo @7) pair in WeakMap (table @99)";
        assert!(parse_ephemeron_name(
            b"12 / part of key (Object @5) -> value (Foo @7) pair in WeakMap (table @99))"
        )
        .is_none());
        let (start, table) = parse_ephemeron_name(s).unwrap();
        assert_eq!(table, 99);
        assert_eq!(&s[start..start + 3], b" / ");
    }

    #[test]
    fn names_with_odd_content_in_the_wildcards_still_match() {
        let s =
            "3 / part of key (a ) -> value ( @1 @5) -> value (x) @2) pair in WeakMap (table @4)";
        assert_eq!(parse_ephemeron_name(s.as_bytes()).map(|p| p.1), Some(4));
    }

    #[test]
    fn names_are_looked_up_only_for_internal_edges() {
        let mut strings = StringTable::new();
        let plain = strings.push_str("table");
        let first =
            strings.push_str("1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @9)");
        let second =
            strings.push_str("2 / part of key (a @1) -> value (b @2) pair in WeakMap (table @9)");
        let other =
            strings.push_str("5 / part of key (c @3) -> value (d @4) pair in WeakMap (table @7)");
        let unused = strings.push_str("unused");
        let (internal, property) = (3u8, 2u8);
        // Edge type in the low 4 bits, as in `graph::pack_edge`.
        let names = [plain, first, second, other, first];
        let types = [internal, internal, internal, property, internal].map(|t| t as u32);
        let eph = EphemeronNames::build(&strings, &names, &types, internal, 0xF);
        let a = eph.get(first).unwrap();
        let b = eph.get(second).unwrap();
        // Both edges of one pair share it; the leading number does not count.
        assert_eq!((a.pair, a.table_id), (b.pair, 9));
        assert_eq!(eph.pair_count(), 1);
        // Not a name, named only by a property edge, never used, out of range.
        for s in [plain, other, unused, u32::MAX] {
            assert_eq!(eph.get(s), None);
        }
    }

    #[test]
    fn rejects_near_misses() {
        for s in [
            " / part of key (a @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @)",
            "1 / part of key (a @) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a\n @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3) ",
            "1 / part of key (a @1) -> value (b 2) pair in WeakMap (table @3)",
        ] {
            assert_eq!(parse_ephemeron_name(s.as_bytes()), None, "{s}");
        }
    }
}
