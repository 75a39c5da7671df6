//! The second thread's share of an integer array.
//!
//! Reading `nodes`, `edges` and `locations` is most of a load, and each is
//! one long run of digits and commas. The parser cuts each large window of
//! such a run at a comma: it reads the first part itself while this scan
//! reads the rest into a flat list, which the parser then stages as if it had
//! read the values itself. The scan takes a value only once the comma after
//! it is seen, and it stops at anything it does not expect, leaving that to
//! the sequential parser: every error, and every byte offset in it, is the
//! sequential one.

use super::{digits_value, is_ws, read_digit_run, skip_ws, word_at, MAX_SAFE_INTEGER, POW10};

/// Bytes classified at once by [`classify`].
const BLOCK: usize = 64;
/// What a block must leave after it, so that reading any number that starts
/// in it (at most 19 digits, in words of 8) stays inside the slice.
const BLOCK_TAIL: usize = 24;

#[derive(Default)]
pub(super) struct SplitScan {
    pub values: Vec<u64>,
    /// Offset of each value's first digit in the scanned slice.
    pub starts: Vec<u32>,
    /// Offset just past the comma that ended the last value taken (0 when
    /// none was): the sequential parser resumes there, expecting a value.
    pub resume: usize,
}

impl SplitScan {
    /// Reads `value,` items from the start of `buf` (which begins just after a
    /// comma) until one is incomplete or anything else appears. Buffers keep
    /// their capacity from window to window. `buf` is under 4 GiB.
    pub fn scan(&mut self, buf: &[u8]) {
        self.values.clear();
        self.starts.clear();
        self.resume = 0;
        loop {
            let at = self.resume;
            if buf.len() - at >= BLOCK + BLOCK_TAIL && self.scan_block(buf, at) {
                continue;
            }
            if !self.scan_one(buf, at) {
                return;
            }
        }
    }

    /// Takes every `value,` item lying wholly in the 64 bytes at `at`, from
    /// bit masks of their digits, commas and whitespace: one pass classifies
    /// the bytes, then each item costs a few bit operations and a read of
    /// its digits. Whatever is irregular (a missing or doubled comma, any
    /// other byte, a number too long) ends the block early and is left to
    /// `scan_one`. Returns whether any item was taken.
    fn scan_block(&mut self, buf: &[u8], at: usize) -> bool {
        let Ok(block) = <&[u8; BLOCK]>::try_from(&buf[at..at + BLOCK]) else {
            return false;
        };
        let Classes {
            digit,
            comma,
            space,
        } = classify(block);
        if self.take_regular(buf, at, digit, comma, space) {
            return true;
        }
        let other = !(digit | comma | space);
        let valid = match other {
            0 => u64::MAX,
            o => (1u64 << o.trailing_zeros()) - 1,
        };
        let digit = digit & valid;
        // The byte before `at` is a comma, so a digit at bit 0 starts a run.
        let mut runs = digit & !(digit << 1);
        let mut commas = comma & valid;
        let mut taken = false;
        while runs != 0 && commas != 0 {
            let start = runs.trailing_zeros();
            let end = start + (!(digit >> start)).trailing_zeros();
            let comma_at = commas.trailing_zeros();
            let next_runs = runs & (runs - 1);
            // The run must end inside the block, and be followed by exactly
            // one comma before the next run (anything else between them is
            // whitespace: no other bytes are valid, and digits start runs).
            if end >= BLOCK as u32
                || comma_at < end
                || (next_runs != 0 && next_runs.trailing_zeros() < comma_at)
            {
                break;
            }
            let len = (end - start) as usize;
            if len > 19 {
                break;
            }
            let first = at + start as usize;
            let value = read_digits(buf, first, len);
            if len > 15 && value > MAX_SAFE_INTEGER {
                break;
            }
            self.values.push(value);
            self.starts.push(first as u32);
            self.resume = at + comma_at as usize + 1;
            runs = next_runs;
            commas &= commas - 1;
            taken = true;
        }
        taken
    }

    /// The layout V8 writes: items of at most 15 digits and a comma, with one
    /// whitespace byte (V8's newline) allowed before the comma. When the
    /// block up to its last comma is all such items, they are taken with no
    /// per-item check; otherwise nothing is taken and false returned.
    #[inline]
    fn take_regular(&mut self, buf: &[u8], at: usize, digit: u64, comma: u64, space: u64) -> bool {
        if comma == 0 {
            return false;
        }
        let last = 63 - comma.leading_zeros();
        let before = (1u64 << last) - 1;
        let ends = digit & !(digit >> 1) & before;
        let mut long = digit & (digit >> 1);
        long &= long >> 2;
        long &= long >> 4;
        long &= long >> 8;
        // The block starts just after a comma, so it must start with a digit;
        // then each comma is followed by a digit, each run of digits by a
        // comma or a space, each space by a comma, and nothing else occurs.
        let irregular = (!(digit | comma | space) & (before | 1 << last))
            | (!digit & 1)
            | ((comma & before) << 1 & !digit)
            | ((space & before) << 1 & !comma)
            | (ends << 1 & !(comma | space))
            | (long & before);
        if irregular != 0 {
            return false;
        }
        // Runs start after a non-digit, so no two starts are adjacent: at
        // most 32 in a block. They are written straight into spare room.
        let mut runs = digit & !(digit << 1) & before;
        self.values.reserve(32);
        self.starts.reserve(32);
        let values = &mut self.values.spare_capacity_mut()[..32];
        let starts = &mut self.starts.spare_capacity_mut()[..32];
        let mut n = 0;
        while runs != 0 {
            let start = runs.trailing_zeros();
            let len = (!(digit >> start)).trailing_zeros() as usize;
            let first = at + start as usize;
            values[n & 31].write(read_digits(buf, first, len));
            starts[n & 31].write(first as u32);
            n += 1;
            runs &= runs - 1;
        }
        // SAFETY: the loop wrote the first `n` spare slots of each (n <= 32,
        // as above, so no index wrapped), and both had room for 32.
        unsafe {
            self.values.set_len(self.values.len() + n);
            self.starts.set_len(self.starts.len() + n);
        }
        self.resume = at + last as usize + 1;
        true
    }

    /// Takes one `value,` item at `i`, byte by byte; false if there is none.
    fn scan_one(&mut self, buf: &[u8], mut i: usize) -> bool {
        i = skip_ws(buf, i);
        let start = i;
        let num;
        (num, i) = read_digit_run(buf, i, 0);
        let digits = i - start;
        // The sequential parser reports what ends the scan here: no value,
        // a value out of range, or (at the end) one it must complete.
        if digits == 0 || (digits > 15 && (digits > 19 || num > MAX_SAFE_INTEGER)) {
            return false;
        }
        if i < buf.len() && is_ws(buf[i]) {
            i = skip_ws(buf, i);
        }
        if i == buf.len() || buf[i] != b',' {
            return false;
        }
        self.values.push(num);
        self.starts.push(start as u32);
        self.resume = i + 1;
        true
    }
}

/// The value of the `len` (1..=19) digits at `i`, eight at a time.
#[inline(always)]
fn read_digits(buf: &[u8], i: usize, len: usize) -> u64 {
    if len <= 8 {
        return digits_value(word_at(buf, i), len);
    }
    let high = digits_value(word_at(buf, i), 8);
    if len <= 16 {
        return high * POW10[len - 8] + digits_value(word_at(buf, i + 8), len - 8);
    }
    let middle = digits_value(word_at(buf, i + 8), 8);
    (high * POW10[8] + middle) * POW10[len - 16] + digits_value(word_at(buf, i + 16), len - 16)
}

/// One bit per byte of a block, lowest bit first.
#[derive(Debug, PartialEq, Eq)]
struct Classes {
    digit: u64,
    comma: u64,
    space: u64,
}

#[cfg(target_arch = "x86_64")]
fn classify(block: &[u8; BLOCK]) -> Classes {
    use std::arch::x86_64::*;
    let mut classes = Classes {
        digit: 0,
        comma: 0,
        space: 0,
    };
    // SAFETY: SSE2 is part of every x86_64 target; each unaligned load reads
    // 16 of the block's 64 bytes.
    unsafe {
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        for k in 0..BLOCK / 16 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
            let d = _mm_sub_epi8(v, splat(b'0'));
            let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(d, splat(9)), d);
            let is_comma = _mm_cmpeq_epi8(v, splat(b','));
            let is_space = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, splat(b' ')),
                    _mm_cmpeq_epi8(v, splat(b'\n')),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, splat(b'\r')),
                    _mm_cmpeq_epi8(v, splat(b'\t')),
                ),
            );
            let bits = |m| (_mm_movemask_epi8(m) as u16 as u64) << (16 * k);
            classes.digit |= bits(is_digit);
            classes.comma |= bits(is_comma);
            classes.space |= bits(is_space);
        }
    }
    classes
}

#[cfg(not(target_arch = "x86_64"))]
fn classify(block: &[u8; BLOCK]) -> Classes {
    classify_bytes(block)
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn classify_bytes(block: &[u8; BLOCK]) -> Classes {
    let mut classes = Classes {
        digit: 0,
        comma: 0,
        space: 0,
    };
    for (k, &b) in block.iter().enumerate() {
        classes.digit |= (b.is_ascii_digit() as u64) << k;
        classes.comma |= ((b == b',') as u64) << k;
        classes.space |= (is_ws(b) as u64) << k;
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::{classify, classify_bytes, SplitScan, BLOCK};

    /// A deterministic byte source for the generated cases.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    #[test]
    fn vector_classes_match_bytewise_classes() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let alphabet = b"0123456789,, \n\r\t]-x\x80\xff/:";
        for round in 0..20_000 {
            let mut block = [0u8; BLOCK];
            for b in block.iter_mut() {
                *b = if round % 2 == 0 {
                    rng.below(256) as u8
                } else {
                    alphabet[rng.below(alphabet.len() as u64) as usize]
                };
            }
            assert_eq!(classify(&block), classify_bytes(&block), "{block:?}");
        }
    }

    #[test]
    fn a_block_takes_every_item_whose_comma_lies_in_it() {
        let text = b"1,23,456,\n7890,12345,\n".repeat(8);
        let mut block = SplitScan::default();
        assert!(block.scan_block(&text, 0));
        // Byte by byte, the same items end with a comma inside the block.
        let mut slow = SplitScan::default();
        let mut resumes = Vec::new();
        while slow.scan_one(&text, slow.resume) && slow.resume <= BLOCK {
            resumes.push(slow.resume);
        }
        assert_eq!(block.values, slow.values[..resumes.len()]);
        assert_eq!(block.values[..6], [1, 23, 456, 7890, 12345, 1]);
        assert_eq!(Some(&block.resume), resumes.last());
        assert!(block.resume > BLOCK - 8, "{}", block.resume);
    }

    /// V8's own layout is taken whole by the regular path; anything else in
    /// the block up to its last comma sends it to the item-by-item checks.
    #[test]
    fn only_v8_layout_takes_the_regular_path() {
        let regular = |text: &[u8]| {
            let mut padded = text.to_vec();
            padded.resize(BLOCK + 24, b'0');
            let c = classify(padded[..BLOCK].try_into().unwrap());
            let mut scan = SplitScan::default();
            let taken = scan.take_regular(&padded, 0, c.digit, c.comma, c.space);
            (taken, scan.values, scan.resume)
        };
        // 64 bytes: the last comma is at 59, so the 4 digits after it wait.
        let v8 = b"0,30,105,72,2,0,0\n,0,30,107,72,2,0,0\n,123456789012345,7,8,9,1234";
        assert_eq!(v8.len(), BLOCK);
        assert_eq!(
            regular(v8),
            (
                true,
                vec![
                    0,
                    30,
                    105,
                    72,
                    2,
                    0,
                    0,
                    0,
                    30,
                    107,
                    72,
                    2,
                    0,
                    0,
                    123456789012345,
                    7,
                    8,
                    9
                ],
                60
            )
        );
        for odd in [
            &b"1 2,3,"[..],
            b"1,,2,3,",
            b"1,\n2,3,",
            b"1\n\n,2,3,",
            b" 1,2,3,",
            b"1,2]3,4,",
            b"1234567890123456,2,",
            b"1,2,-3,",
        ] {
            assert!(!regular(odd).0, "{}", String::from_utf8_lossy(odd));
        }
        // Past the last comma, anything may follow: it is the next block's.
        assert_eq!(regular(b"1,2,3]  x"), (true, vec![1, 2], 4));
        assert!(!regular(b"no comma at all").0);
    }

    /// The block path must take exactly what the byte-by-byte path takes,
    /// whatever mix of numbers, separators and stray bytes comes.
    #[test]
    fn block_scan_matches_bytewise_scan() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let strays: [&[u8]; 8] = [b",", b" ", b"]", b"-", b"\n,", b"x", b"1.5", b",,"];
        for round in 0..3_000 {
            let mut text = Vec::new();
            let items = 1 + rng.below(80);
            for _ in 0..items {
                let digits = match rng.below(20) {
                    0 => 16 + rng.below(6),
                    1..=4 => 9 + rng.below(7),
                    _ => 1 + rng.below(8),
                };
                for _ in 0..digits {
                    text.push(b'0' + rng.below(10) as u8);
                }
                text.extend_from_slice(match rng.below(10) {
                    0 => b"\n,",
                    1 => b" , ",
                    _ => b",",
                });
                if round % 4 == 0 && rng.below(40) == 0 {
                    text.extend_from_slice(strays[rng.below(strays.len() as u64) as usize]);
                }
            }
            let mut fast = SplitScan::default();
            fast.scan(&text);
            let mut slow = SplitScan::default();
            while slow.scan_one(&text, slow.resume) {}
            let text = String::from_utf8_lossy(&text);
            assert_eq!(fast.values, slow.values, "{text}");
            assert_eq!(fast.starts, slow.starts, "{text}");
            assert_eq!(fast.resume, slow.resume, "{text}");
        }
    }

    fn scan(text: &str) -> (Vec<u64>, Vec<u32>, usize) {
        let mut s = SplitScan::default();
        s.scan(text.as_bytes());
        (s.values.clone(), s.starts.clone(), s.resume)
    }

    #[test]
    fn takes_values_only_up_to_their_comma() {
        assert_eq!(scan("12,3,45"), (vec![12, 3], vec![0, 3], 5));
        assert_eq!(
            scan("7\n,  123456789012,8 ,"),
            (vec![7, 123456789012, 8], vec![0, 5, 18], 21)
        );
        assert_eq!(scan("1,2]"), (vec![1], vec![0], 2));
        assert_eq!(scan("1,2 ]"), (vec![1], vec![0], 2));
        assert_eq!(scan(",1,"), (vec![], vec![], 0));
        assert_eq!(scan("1,-2,"), (vec![1], vec![0], 2));
        assert_eq!(scan(""), (vec![], vec![], 0));
    }

    #[test]
    fn leaves_numbers_beyond_2_pow_53_to_the_parser() {
        assert_eq!(
            scan("9007199254740991,"),
            (vec![9007199254740991], vec![0], 17)
        );
        assert_eq!(scan("1,9007199254740992,"), (vec![1], vec![0], 2));
        assert_eq!(scan("1,123456789012345678901,"), (vec![1], vec![0], 2));
    }
}

/// The same input read with and without the split, whole and in chunks,
/// intact and damaged in many ways, must give the same graph or the same
/// error, with the same byte offset.
#[cfg(test)]
mod differential_tests {
    use super::super::hostile_tests::snapshot_text;
    use super::super::{Graph, Parser};
    use crate::analyzer::error::Result;

    /// A graph of `n` nodes written as V8 writes it (a newline before each
    /// record's comma), with sizes and ids of every length.
    fn text(n: u64) -> String {
        let mut nodes = vec![9, 1, 1, 0, n - 1, 0, 0];
        let mut edges = Vec::new();
        for k in 1..n {
            nodes.extend([
                3,
                2 + k % 3,
                2 * k + 1,
                k * k % 100_003,
                1 + k % 2,
                0,
                k % 4,
            ]);
        }
        for k in 1..n {
            edges.extend([1, k, 7 * k]);
        }
        for k in 1..n {
            for j in 0..1 + k % 2 {
                edges.extend([2 + j % 2, 2 + (k + j) % 3, 7 * ((k * 31 + j) % n)]);
            }
        }
        // Every third node has a source location; ids run to 7 digits.
        let locations: Vec<String> = (1..n)
            .step_by(3)
            .map(|k| format!("{},{},{},{}", 7 * k, k % 5, k * 13, k * 7919 % 1_000_003))
            .collect();
        snapshot_text(&nodes, &edges, &["", "root", "A", "B", "C"], None)
            .replace(",3,", ",\n3,")
            .replace("],", "]\n,")
            .replace(
                r#""edge_fields":["type","name_or_index","to_node"]"#,
                r#""edge_fields":["type","name_or_index","to_node"],"location_fields":["object_index","script_id","line","column"]"#,
            )
            .replace(
                r#","strings":"#,
                &format!(r#","locations":[{}],"strings":"#, locations.join(",\n")),
            )
    }

    fn parse(bytes: &[u8], chunk: usize, window: usize) -> Result<Graph> {
        parse_counting(bytes, chunk, window).0
    }

    /// Also says how many values the second thread read.
    fn parse_counting(bytes: &[u8], chunk: usize, window: usize) -> (Result<Graph>, usize) {
        let mut p = Parser::new().with_split_window(window);
        for c in bytes.chunks(chunk) {
            if let Err(e) = p.feed(c) {
                return (Err(e), p.split_taken);
            }
        }
        let taken = p.split_taken;
        (p.finish(), taken)
    }

    fn outcome(r: Result<Graph>) -> String {
        match r {
            Ok(g) => {
                let sizes: Vec<u64> = (0..g.node_count() as u32)
                    .map(|o| g.self_size.get(o))
                    .collect();
                format!(
                    "{:?} {:?} {:?} {sizes:?} {:?} {:?} {:?} {} {:?}",
                    g.node_kind,
                    g.node_name,
                    g.node_id,
                    g.first_edge,
                    g.edge_to_type,
                    g.edge_name,
                    g.root,
                    g.locations
                )
            }
            Err(e) => format!("{} {e}", e.code()),
        }
    }

    /// Windows as small as a few values cost a thread each: the damaged
    /// variants use the larger ones.
    fn check(bytes: &[u8], windows: &[(usize, usize)], what: &str) -> String {
        let expected = outcome(parse(bytes, bytes.len(), usize::MAX));
        for &(chunk, window) in windows {
            assert_eq!(
                outcome(parse(bytes, chunk, window)),
                expected,
                "{what}: chunks of {chunk}, windows of {window}"
            );
        }
        expected
    }

    #[test]
    fn split_reading_matches_sequential_reading() {
        let good = text(600);
        let len = good.len();
        let intact = check(
            good.as_bytes(),
            &[(len, 8), (len, 23), (len, 64), (100, 40), (len, 5000)],
            "intact",
        );
        assert!(intact.starts_with("[9, "), "{intact}");
        // Most values went through the other thread: 600 nodes, ~1500 edges
        // and 200 locations hold 9500 values, two thirds of each window are theirs.
        let (parsed, taken) = parse_counting(good.as_bytes(), len, 64);
        assert_eq!(parsed.map(|g| g.locations.len()).ok(), Some(200));
        assert!(
            (5000..9500).contains(&taken),
            "{taken} values read by the other thread"
        );
        let windows = [(len, 64), (len, 1000), (4096, 333), (777, 97)];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let nodes_at = good.find("\"nodes\"").unwrap();
        let damage: [&[u8]; 10] = [
            b"",
            b"]",
            b" ",
            b",",
            b"-",
            b"9999999999999999999",
            b"x",
            b"\n,",
            b"12",
            b"0.5",
        ];
        for round in 0..200 {
            let mut bytes = good.as_bytes().to_vec();
            let at = nodes_at + next(bytes.len() - nodes_at);
            let with = damage[round % damage.len()];
            let len = if round % 3 == 0 { 0 } else { 1 };
            bytes.splice(at..(at + len).min(bytes.len()), with.iter().copied());
            if round % 7 == 0 {
                bytes.truncate(at + 1);
            }
            check(
                &bytes,
                &windows,
                &format!("round {round}, {:?} at {at}", String::from_utf8_lossy(with)),
            );
        }
    }
}
