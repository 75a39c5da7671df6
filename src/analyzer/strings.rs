//! The snapshot's string table, kept as one WTF-8 blob.
//!
//! JS strings are UTF-16 and V8 snapshots may contain lone surrogates, which a
//! Rust `String` cannot hold; WTF-8 keeps them losslessly in one allocation
//! (no per-string object) and converts to UTF-16 or lossy UTF-8 on the way out.
//! DevTools compares and measures names in UTF-16 code units, so the helpers
//! here do too.

use std::cmp::Ordering;

#[derive(Default, Debug)]
pub struct StringTable {
    bytes: Vec<u8>,
    /// `ends[i]` is the end of string `i`; 64-bit because a multi-GB snapshot's
    /// string section can exceed 4 GiB.
    ends: Vec<u64>,
}

impl StringTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends the bytes being built by the parser as a new string.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// The index fits a u32: the parser accepts at most `graph::MAX_STRINGS`
    /// strings, which leaves room for all the analysis adds.
    pub(crate) fn seal(&mut self) -> u32 {
        self.ends.push(self.bytes.len() as u64);
        (self.ends.len() - 1) as u32
    }

    pub fn push_str(&mut self, s: &str) -> u32 {
        self.bytes.extend_from_slice(s.as_bytes());
        self.seal()
    }

    pub fn push_wtf8(&mut self, s: &[u8]) -> u32 {
        self.bytes.extend_from_slice(s);
        self.seal()
    }

    /// Raw WTF-8 bytes of string `i` (empty for an out-of-range index).
    pub fn wtf8(&self, i: u32) -> &[u8] {
        let i = i as usize;
        if i >= self.ends.len() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// String `i` as UTF-8; lone surrogates become U+FFFD.
    pub fn get(&self, i: u32) -> std::borrow::Cow<'_, str> {
        wtf8_to_string(self.wtf8(i))
    }

    pub fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Decodes WTF-8 into code points (surrogates included as themselves).
pub fn wtf8_code_points(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b0 = *bytes.get(i)? as u32;
        let (cp, len) = if b0 < 0x80 {
            (b0, 1)
        } else if b0 < 0xE0 {
            let b1 = *bytes.get(i + 1).unwrap_or(&0x80) as u32;
            (((b0 & 0x1F) << 6) | (b1 & 0x3F), 2)
        } else if b0 < 0xF0 {
            let b1 = *bytes.get(i + 1).unwrap_or(&0x80) as u32;
            let b2 = *bytes.get(i + 2).unwrap_or(&0x80) as u32;
            (((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F), 3)
        } else {
            let b1 = *bytes.get(i + 1).unwrap_or(&0x80) as u32;
            let b2 = *bytes.get(i + 2).unwrap_or(&0x80) as u32;
            let b3 = *bytes.get(i + 3).unwrap_or(&0x80) as u32;
            (
                ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F),
                4,
            )
        };
        i += len;
        Some(cp)
    })
}

pub fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.push(0xC0 | (cp >> 6) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x10000 {
        out.push(0xE0 | (cp >> 12) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else {
        out.push(0xF0 | (cp >> 18) as u8);
        out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    }
}

pub fn wtf8_to_string(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(
            wtf8_code_points(bytes)
                .map(|cp| char::from_u32(cp).unwrap_or('\u{FFFD}'))
                .collect(),
        ),
    }
}

pub fn wtf8_to_utf16(bytes: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(bytes.len());
    for cp in wtf8_code_points(bytes) {
        push_utf16(&mut out, cp);
    }
    out
}

fn push_utf16(out: &mut Vec<u16>, cp: u32) {
    if cp >= 0x10000 {
        let v = cp - 0x10000;
        out.push(0xD800 | (v >> 10) as u16);
        out.push(0xDC00 | (v & 0x3FF) as u16);
    } else {
        out.push(cp as u16);
    }
}

/// Length in UTF-16 code units, i.e. JavaScript's `string.length`.
pub fn utf16_len(bytes: &[u8]) -> usize {
    if bytes.is_ascii() {
        return bytes.len();
    }
    wtf8_code_points(bytes)
        .map(|cp| if cp >= 0x10000 { 2 } else { 1 })
        .sum()
}

/// JavaScript's default string ordering (`<`, `Array.prototype.sort`), which
/// compares UTF-16 code units rather than code points.
pub fn cmp_utf16(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    let mut ua = Utf16Units::new(a);
    let mut ub = Utf16Units::new(b);
    loop {
        match (ua.next(), ub.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            _ => {}
        }
    }
}

struct Utf16Units<'a> {
    points: Box<dyn Iterator<Item = u32> + 'a>,
    pending_low: Option<u16>,
}

impl<'a> Utf16Units<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            points: Box::new(wtf8_code_points(bytes)),
            pending_low: None,
        }
    }
}

impl Iterator for Utf16Units<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        if let Some(low) = self.pending_low.take() {
            return Some(low);
        }
        let cp = self.points.next()?;
        if cp >= 0x10000 {
            let v = cp - 0x10000;
            self.pending_low = Some(0xDC00 | (v & 0x3FF) as u16);
            Some(0xD800 | (v >> 10) as u16)
        } else {
            Some(cp as u16)
        }
    }
}

/// `JSON.stringify(s)` for a JS string held as WTF-8 (lone surrogates are
/// escaped as `\udXXX`, as well-formed JSON.stringify does).
pub fn json_quote(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for cp in wtf8_code_points(bytes) {
        match cp {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5C => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0D => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            c if c < 0x20 || (0xD800..0xE000).contains(&c) => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes())
            }
            c => push_code_point(out, c),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wtf8(units: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in char::decode_utf16(units.iter().copied()) {
            match r {
                Ok(c) => push_code_point(&mut out, c as u32),
                Err(e) => push_code_point(&mut out, e.unpaired_surrogate() as u32),
            }
        }
        out
    }

    #[test]
    fn utf16_length_counts_surrogate_pairs_twice() {
        assert_eq!(utf16_len("a😀b".as_bytes()), 4);
        assert_eq!(utf16_len(&wtf8(&[0xD800, 0x61])), 2);
    }

    #[test]
    fn ordering_follows_js_code_units_not_code_points() {
        // U+FF5E is above the high surrogate of U+1F600 in code points but
        // below it... no: as code units 0xFF5E > 0xD83D, while as code points
        // 0xFF5E < 0x1F600. JS says "😀" < "～".
        let emoji = "😀".as_bytes();
        let fullwidth = "～".as_bytes();
        assert_eq!(cmp_utf16(emoji, fullwidth), Ordering::Less);
        assert_eq!(emoji.cmp(fullwidth), Ordering::Greater);
    }

    #[test]
    fn lone_surrogates_round_trip_and_quote() {
        let s = wtf8(&[0x61, 0xDC00]);
        assert_eq!(wtf8_to_utf16(&s), vec![0x61, 0xDC00]);
        let mut q = Vec::new();
        json_quote(&s, &mut q);
        assert_eq!(q, b"\"a\\udc00\"");
        assert_eq!(wtf8_to_string(&s), "a\u{FFFD}");
    }

    #[test]
    fn quote_escapes_like_json_stringify() {
        let mut q = Vec::new();
        json_quote("a,\"b\\\n\u{1}é".as_bytes(), &mut q);
        assert_eq!(String::from_utf8(q).unwrap(), "\"a,\\\"b\\\\\\n\\u0001é\"");
    }

    #[test]
    fn table_stores_and_returns_strings() {
        let mut t = StringTable::new();
        let a = t.push_str("<dummy>");
        let b = t.push_str("");
        let c = t.push_str("héllo");
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(t.get(2), "héllo");
        assert_eq!(t.get(1), "");
        assert_eq!(t.get(99), "");
    }
}
