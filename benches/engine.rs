//! `cargo bench --no-default-features`: parse + full DevTools analysis of a
//! synthetic snapshot held in memory, so the figure is the engine alone (no
//! disk, no Node).
//!
//! Environment: `LEAKWATCH_BENCH_NODES` (default 3,000,000),
//! `LEAKWATCH_BENCH_RUNS` (default 3; the best run is reported, as the
//! others mostly measure the noise of a shared machine),
//! `LEAKWATCH_BENCH_DUMP=<path>` (also write the JSON there, e.g. to load it
//! in DevTools or compare with the oracle, `__test__/oracle/devtools.mjs`),
//! `LEAKWATCH_BENCH_FILE=<path>` (instead, load a real snapshot file once,
//! printing each phase's time and the process's resident memory when it
//! ended: where a peak-RSS figure comes from), `LEAKWATCH_BENCH_PARSE=<path>`
//! (time the parser alone on a file held in memory, best of the runs: the
//! figure to watch when changing the scanner on a busy machine).

mod synth;

// The same allocator as the addon, so phase RSS figures match what Node sees
// (with the `node` feature the library installs it itself).
#[cfg(not(feature = "node"))]
#[global_allocator]
static ALLOCATOR: leakwatch::memory::LargeMappedAlloc = leakwatch::memory::LargeMappedAlloc;

use leakwatch::analyzer::snapshot::Quiet;
use leakwatch::analyzer::{Progress, Snapshot};
use std::sync::Mutex;
use std::time::Instant;

/// Records when each phase starts, and the resident memory at that moment,
/// to split the total by phase.
struct PhaseClock {
    start: Instant,
    phases: Mutex<Vec<(String, f64, Rss)>>,
}

impl PhaseClock {
    fn new(first: &str) -> PhaseClock {
        PhaseClock {
            start: Instant::now(),
            phases: Mutex::new(vec![(first.to_owned(), 0.0, Rss::now())]),
        }
    }

    fn print(self) {
        let end = self.start.elapsed().as_secs_f64();
        let last = Rss::now();
        let phases = self.phases.into_inner().unwrap();
        for (k, (phase, at, _)) in phases.iter().enumerate() {
            let (next, rss) = phases.get(k + 1).map_or((end, last), |p| (p.1, p.2));
            if phase != "done" {
                println!(
                    "  {phase:<16} {:.3} s   RSS after {:>5} MB, peak so far {:>5} MB, {:>4} MB faulted in",
                    next - at,
                    rss.current_mb,
                    rss.peak_mb,
                    rss.faulted_mb - phases[k].2.faulted_mb
                );
            }
        }
    }
}

impl Progress for PhaseClock {
    fn report(&self, phase: &str, _done: u64, _total: u64) {
        let mut phases = self.phases.lock().unwrap();
        if phases.last().is_none_or(|(p, _, _)| p != phase) {
            phases.push((
                phase.to_owned(),
                self.start.elapsed().as_secs_f64(),
                Rss::now(),
            ));
        }
    }
}

/// Current and peak resident set size of this process, and how much memory
/// it has faulted in so far: in a VM each fresh page costs microseconds, so
/// this column explains much of a phase's system time (Linux; zeros elsewhere).
#[derive(Clone, Copy)]
struct Rss {
    current_mb: u64,
    peak_mb: u64,
    faulted_mb: u64,
}

impl Rss {
    fn now() -> Rss {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kb| kb / 1024)
        };
        // Field 10 of /proc/self/stat (minor faults), counted after the
        // command name, which may hold spaces but ends at the last ')'.
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let minor_faults = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(7))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Rss {
            current_mb: field("VmRSS:"),
            peak_mb: field("VmHWM:"),
            faulted_mb: minor_faults * 4096 / 1_000_000,
        }
    }
}

fn profile_file(path: &str) {
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let clock = PhaseClock::new("parse");
    let snap = Snapshot::from_path(std::path::Path::new(path), &clock)
        .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    let secs = clock.start.elapsed().as_secs_f64();
    println!(
        "{path}: {} nodes, {} edges, {:.0} MB",
        snap.node_count(),
        snap.edge_count(),
        bytes as f64 / 1e6
    );
    clock.print();
    let peak = Rss::now().peak_mb;
    println!(
        "engine::from_path: {secs:.3} s, peak RSS {peak} MB = {:.2}x the file",
        peak as f64 * 1048576.0 / bytes as f64
    );
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a positive integer, got {v:?}")),
        Err(_) => default,
    }
}

fn main() {
    if let Ok(path) = std::env::var("LEAKWATCH_BENCH_FILE") {
        profile_file(&path);
        return;
    }
    let target = env_usize("LEAKWATCH_BENCH_NODES", 3_000_000);
    let runs = env_usize("LEAKWATCH_BENCH_RUNS", 3).max(1);
    if let Ok(path) = std::env::var("LEAKWATCH_BENCH_PARSE") {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            let t = Instant::now();
            let graph = leakwatch::analyzer::parser::parse_bytes(&bytes)
                .unwrap_or_else(|e| panic!("parsing {path}: {e}"));
            best = best.min(t.elapsed().as_secs_f64());
            drop(graph);
        }
        println!(
            "parser alone, best of {runs}: {best:.3} s, {:.0} MB/s",
            bytes.len() as f64 / 1e6 / best
        );
        return;
    }

    let t = Instant::now();
    let snap = synth::generate(target, 0x1ea6_3a7c);
    let mb = snap.json.len() as f64 / 1e6;
    println!(
        "synthetic snapshot: {} nodes, {} edges, {mb:.0} MB of JSON (generated in {:.1} s)",
        snap.nodes,
        snap.edges,
        t.elapsed().as_secs_f64()
    );

    if let Ok(path) = std::env::var("LEAKWATCH_BENCH_DUMP") {
        std::fs::write(&path, &snap.json).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }

    let mut best = f64::INFINITY;
    for run in 1..=runs {
        let t = Instant::now();
        let analysed = Snapshot::from_bytes(&snap.json, &Quiet).expect("synthetic snapshot loads");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(analysed.node_count(), snap.nodes);
        assert_eq!(analysed.edge_count(), snap.edges);
        println!("  run {run}: {secs:.3} s");
        best = best.min(secs);
    }

    // One more run with phase reporting (from_bytes reports no parse progress,
    // so the first phase seen, `retainers`, starts when parsing ends).
    let clock = PhaseClock::new("parse");
    drop(Snapshot::from_bytes(&snap.json, &clock).expect("synthetic snapshot loads"));
    clock.print();
    println!(
        "engine::from_bytes (parse + analysis), best of {runs}: {best:.3} s, {:.0} MB/s, {:.1} ns/edge, {:.1} ns/node",
        mb / best,
        best * 1e9 / snap.edges as f64,
        best * 1e9 / snap.nodes as f64
    );
}
