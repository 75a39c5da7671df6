//! `cargo bench --no-default-features`: parse + full DevTools analysis of a
//! synthetic snapshot held in memory, so the figure is the engine alone (no
//! disk, no Node).
//!
//! Environment: `LEAKWATCH_BENCH_NODES` (default 3,000,000),
//! `LEAKWATCH_BENCH_RUNS` (default 3; the best run is reported, as the
//! others mostly measure the noise of a shared machine),
//! `LEAKWATCH_BENCH_DUMP=<path>` (also write the JSON there, e.g. to load it
//! in DevTools or compare with the oracle, `__test__/oracle/devtools.mjs`).

mod synth;

use leakwatch::analyzer::snapshot::Quiet;
use leakwatch::analyzer::{Progress, Snapshot};
use std::sync::Mutex;
use std::time::Instant;

/// Records when each phase starts, to split the total by phase.
struct PhaseClock {
    start: Instant,
    phases: Mutex<Vec<(String, f64)>>,
}

impl Progress for PhaseClock {
    fn report(&self, phase: &str, _done: u64, _total: u64) {
        let mut phases = self.phases.lock().unwrap();
        if phases.last().is_none_or(|(p, _)| p != phase) {
            phases.push((phase.to_owned(), self.start.elapsed().as_secs_f64()));
        }
    }
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
    let target = env_usize("LEAKWATCH_BENCH_NODES", 3_000_000);
    let runs = env_usize("LEAKWATCH_BENCH_RUNS", 3).max(1);

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
    let clock = PhaseClock {
        start: Instant::now(),
        phases: Mutex::new(vec![("parse".to_owned(), 0.0)]),
    };
    drop(Snapshot::from_bytes(&snap.json, &clock).expect("synthetic snapshot loads"));
    let end = clock.start.elapsed().as_secs_f64();
    let phases = clock.phases.into_inner().unwrap();
    for (k, (phase, at)) in phases.iter().enumerate() {
        let next = phases.get(k + 1).map_or(end, |p| p.1);
        if phase != "done" {
            println!("  {phase:<16} {:.3} s", next - at);
        }
    }
    println!(
        "engine::from_bytes (parse + analysis), best of {runs}: {best:.3} s, {:.0} MB/s, {:.1} ns/edge, {:.1} ns/node",
        mb / best,
        best * 1e9 / snap.edges as f64,
        best * 1e9 / snap.nodes as f64
    );
}
