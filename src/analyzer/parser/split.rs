//! The second thread's share of an integer array.
//!
//! Reading `nodes`, `edges` and `locations` is most of a load, and each is
//! one long run of digits and commas. The parser cuts each large window of
//! such a run at a comma: it reads the first part itself while this scan
//! reads the rest into a flat list, which the parser then stages as if it had
//! read the values itself. The scan takes a value only once the comma after it is seen, and
//! it stops at anything it does not expect, leaving that to the sequential
//! parser: every error, and every byte offset in it, is the sequential one.

use super::{digits_value, is_ws, leading_digits, skip_ws, MAX_SAFE_INTEGER, POW10};

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
        let mut i = 0;
        loop {
            i = skip_ws(buf, i);
            let start = i;
            let mut num = 0u64;
            while i + 8 <= buf.len() {
                let mut word = [0u8; 8];
                word.copy_from_slice(&buf[i..i + 8]);
                let k = leading_digits(u64::from_le_bytes(word));
                if k == 0 {
                    break;
                }
                num = num
                    .wrapping_mul(POW10[k])
                    .wrapping_add(digits_value(u64::from_le_bytes(word), k));
                i += k;
                if k < 8 {
                    break;
                }
            }
            while i < buf.len() {
                let d = buf[i].wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                num = num.wrapping_mul(10).wrapping_add(d as u64);
                i += 1;
            }
            let digits = i - start;
            // The sequential parser reports what ends the scan here: no value,
            // a value out of range, or (at the end) one it must complete.
            if digits == 0 || (digits > 15 && (digits > 19 || num > MAX_SAFE_INTEGER)) {
                return;
            }
            if i < buf.len() && is_ws(buf[i]) {
                i = skip_ws(buf, i);
            }
            if i == buf.len() || buf[i] != b',' {
                return;
            }
            i += 1;
            self.values.push(num);
            self.starts.push(start as u32);
            self.resume = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SplitScan;

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
