//! Writes a synthetic heap snapshot of any size to a file, streaming, for
//! benchmarks on snapshots larger than memory would allow to build:
//!
//! ```sh
//! cargo run --release --no-default-features --example synth -- \
//!     --nodes 50_000_000 --out /tmp/huge.heapsnapshot [--seed N] \
//!     [--buffers 3 --buffer-size 6_000_000_000] [--pad 40]
//! ```
//!
//! `--buffers`/`--buffer-size` add ArrayBuffers with backing stores of that
//! self size (above 2^32 if asked); `--pad` appends characters to every leaf
//! string. Prints what it wrote as one JSON line on stdout (counts, bytes,
//! the exact sum of self sizes) and the time taken on stderr.

#[path = "../benches/synth/mod.rs"]
#[allow(dead_code)]
mod synth;

use std::io::BufWriter;
use std::time::Instant;

fn usage(problem: &str) -> ! {
    eprintln!("synth: {problem}");
    eprintln!(
        "usage: synth --nodes N --out FILE [--seed N] [--buffers K --buffer-size BYTES] [--pad CHARS]"
    );
    std::process::exit(2)
}

fn number(flag: &str, value: Option<String>) -> u64 {
    let Some(v) = value else {
        usage(&format!("{flag} needs a value"))
    };
    v.replace(['_', ','], "")
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag} wants a non-negative integer, got {v:?}")))
}

fn main() {
    let mut options = synth::Options::new(0, 0x1ea6_3a7c);
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--nodes" => options.nodes = number(&flag, args.next()) as usize,
            "--seed" => options.seed = number(&flag, args.next()),
            "--buffers" => options.buffers = number(&flag, args.next()) as usize,
            "--buffer-size" => options.buffer_size = number(&flag, args.next()),
            "--pad" => options.string_padding = number(&flag, args.next()) as usize,
            "--out" => out = Some(args.next().unwrap_or_else(|| usage("--out needs a path"))),
            _ => usage(&format!("unknown argument {flag:?}")),
        }
    }
    if options.nodes == 0 {
        usage("--nodes is required");
    }
    let Some(path) = out else {
        usage("--out is required")
    };

    let t = Instant::now();
    let file = std::fs::File::create(&path).unwrap_or_else(|e| usage(&format!("{path}: {e}")));
    let s = match synth::write_snapshot(&options, BufWriter::with_capacity(4 << 20, file)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("synth: writing {path}: {e}");
            std::process::exit(1)
        }
    };
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "synth: {} nodes, {} edges, {:.2} GB in {secs:.1} s ({:.0} MB/s)",
        s.nodes,
        s.edges,
        s.bytes as f64 / 1e9,
        s.bytes as f64 / 1e6 / secs
    );
    // The sum may exceed 2^53: a string keeps it exact for JSON readers.
    println!(
        "{{\"nodes\":{},\"edges\":{},\"locations\":{},\"strings\":{},\"bytes\":{},\"selfSizeTotal\":\"{}\",\"maxSelfSize\":\"{}\",\"seconds\":{secs:.3}}}",
        s.nodes, s.edges, s.locations, s.strings, s.bytes, s.self_size_total, s.max_self_size
    );
}
