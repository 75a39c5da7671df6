//! The monitor's state as Prometheus metric families, and their text
//! exposition (Prometheus 0.0.4 or OpenMetrics 1.0), so a fleet is watched
//! through the user's own Prometheus / OpenTelemetry stack.

use super::monitor::Monitor;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Without the user's prefix. Counters end in `_total`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// The series of prom-client's `collectDefaultMetrics()` that carries the
    /// same reading, if any: registering both would export it twice.
    pub overlaps: Option<&'static str>,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// How an investigation of the agent ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// findLeaks named at least one suspect.
    Found,
    /// The snapshots were analysed and nothing accumulated.
    Clean,
    /// Not enough memory or disk: a report says why, no snapshots were kept.
    Skipped,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Found,
        Outcome::Clean,
        Outcome::Skipped,
        Outcome::Failed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::Clean => "clean",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(label: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.label() == label)
    }
}

/// Investigations counted by outcome, exported beside the monitor's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Investigations {
    counts: [u64; 4],
}

impl Investigations {
    pub fn record(&mut self, outcome: Outcome) {
        let c = &mut self.counts[outcome as usize];
        *c = c.saturating_add(1);
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize]
    }
}

/// Every family is always listed, so a registry can register the full set
/// up front; an unknown value (no sample or no trend yet) has no sample line.
fn gauge(name: &'static str, help: &'static str, value: Option<f64>) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        overlaps: None,
        samples: value.map(|v| (vec![], v)).into_iter().collect(),
    }
}

fn overlapping(family: Family, default_series: &'static str) -> Family {
    Family {
        overlaps: Some(default_series),
        ..family
    }
}

pub fn families(m: &Monitor, investigations: &Investigations) -> Vec<Family> {
    let last = m.latest();
    let trend = m.trend();
    let field = |f: fn(&super::monitor::Sample) -> u64| last.map(|s| f(s) as f64);
    let mut out: Vec<Family> = [
        overlapping(
            gauge(
                "heap_used_bytes",
                "V8 heap in use at the last sample.",
                field(|s| s.heap_used),
            ),
            "nodejs_heap_size_used_bytes",
        ),
        overlapping(
            gauge(
                "heap_total_bytes",
                "V8 heap reserved at the last sample.",
                field(|s| s.heap_total),
            ),
            "nodejs_heap_size_total_bytes",
        ),
        overlapping(
            gauge(
                "rss_bytes",
                "Resident set size of the process at the last sample.",
                field(|s| s.rss),
            ),
            "process_resident_memory_bytes",
        ),
        overlapping(
            gauge(
                "external_bytes",
                "Memory of C++ objects bound to JS objects.",
                field(|s| s.external),
            ),
            "nodejs_external_memory_bytes",
        ),
        gauge(
            "array_buffers_bytes",
            "Memory of ArrayBuffers and SharedArrayBuffers.",
            field(|s| s.array_buffers),
        ),
    ]
    .into();
    // The count and sum of prom-client's GC duration histogram.
    let mut gc_count = Family {
        name: "gc_total",
        help: "Garbage collections by kind.",
        kind: Kind::Counter,
        overlaps: Some("nodejs_gc_duration_seconds_count"),
        samples: vec![],
    };
    let mut gc_seconds = Family {
        name: "gc_duration_seconds_total",
        help: "Time spent in garbage collection by kind.",
        kind: Kind::Counter,
        overlaps: Some("nodejs_gc_duration_seconds_sum"),
        samples: vec![],
    };
    for (kind, c) in m.gc_counters() {
        gc_count
            .samples
            .push((vec![("kind", kind.label().into())], c.count as f64));
        gc_seconds
            .samples
            .push((vec![("kind", kind.label().into())], c.seconds));
    }
    out.push(gc_count);
    out.push(gc_seconds);
    let window = trend.map(|t| t.window);
    out.extend([
        gauge(
            "heap_growth_bytes_per_hour",
            "Theil-Sen growth of the post-GC heap over the trend window.",
            window.map(|w| w.bytes_per_hour),
        ),
        gauge(
            "heap_growth_percent_per_hour",
            "Post-GC heap growth relative to the start of the trend window.",
            window.and_then(|w| w.pct_per_hour),
        ),
        gauge(
            "heap_growth_confidence",
            "Kendall tau of the post-GC heap against time (1 = always growing).",
            window.map(|w| w.confidence),
        ),
        gauge(
            "leak_suspected",
            "1 while the monitor suspects a leak.",
            Some(if m.alerting() { 1.0 } else { 0.0 }),
        ),
    ]);
    out.push(Family {
        name: "investigations_total",
        help: "Investigations by the agent (three snapshots and findLeaks), by outcome.",
        kind: Kind::Counter,
        overlaps: None,
        samples: Outcome::ALL
            .iter()
            .map(|&o| {
                (
                    vec![("result", o.label().into())],
                    investigations.count(o) as f64,
                )
            })
            .collect(),
    });
    out
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text: a counter family is named without its `_total`
    /// suffix, which only its samples carry, and the text ends in `# EOF`.
    OpenMetrics,
}

/// Renders families; `prefix` and label names must already be valid metric
/// name characters (the JS facade checks the prefix).
pub fn render(
    families: &[Family],
    prefix: &str,
    const_labels: &[(String, String)],
    format: Format,
) -> String {
    let mut out = String::new();
    for f in families {
        let sample_name = format!("{prefix}{}", f.name);
        let family_name = match (format, f.kind) {
            (Format::OpenMetrics, Kind::Counter) => sample_name
                .strip_suffix("_total")
                .unwrap_or(&sample_name)
                .to_string(),
            _ => sample_name.clone(),
        };
        let _ = writeln!(out, "# HELP {family_name} {}", f.help);
        let _ = writeln!(out, "# TYPE {family_name} {}", f.kind.as_str());
        for (labels, value) in &f.samples {
            let all: Vec<String> = const_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(labels.iter().map(|(k, v)| (*k, v.as_str())))
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            if all.is_empty() {
                let _ = writeln!(out, "{sample_name} {}", number(*value));
            } else {
                let _ = writeln!(out, "{sample_name}{{{}}} {}", all.join(","), number(*value));
            }
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::monitor::{AlertConfig, GcKind, Monitor, Sample};
    use super::*;

    fn render_plain(m: &Monitor, prefix: &str, labels: &[(String, String)]) -> String {
        render(
            &families(m, &Investigations::default()),
            prefix,
            labels,
            Format::Prometheus,
        )
    }

    #[test]
    fn empty_monitor_lists_every_family_with_values_only_where_known() {
        let m = Monitor::new(AlertConfig::default(), 10);
        let fams = families(&m, &Investigations::default());
        assert_eq!(fams.len(), 12);
        let with_values: Vec<_> = fams
            .iter()
            .filter(|f| !f.samples.is_empty())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            with_values,
            vec![
                "gc_total",
                "gc_duration_seconds_total",
                "leak_suspected",
                "investigations_total"
            ]
        );
    }

    #[test]
    fn only_readings_prom_client_also_exports_are_marked_overlapping() {
        let m = Monitor::new(AlertConfig::default(), 10);
        let fams = families(&m, &Investigations::default());
        let unique: Vec<_> = fams
            .iter()
            .filter(|f| f.overlaps.is_none())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            unique,
            vec![
                "array_buffers_bytes",
                "heap_growth_bytes_per_hour",
                "heap_growth_percent_per_hour",
                "heap_growth_confidence",
                "leak_suspected",
                "investigations_total"
            ]
        );
        for f in &fams {
            if let Some(o) = f.overlaps {
                assert!(o.starts_with("nodejs_") || o.starts_with("process_"), "{o}");
            }
        }
    }

    #[test]
    fn investigations_are_counted_by_outcome() {
        let m = Monitor::new(AlertConfig::default(), 10);
        let mut inv = Investigations::default();
        inv.record(Outcome::parse("found").unwrap());
        inv.record(Outcome::Found);
        inv.record(Outcome::Skipped);
        assert_eq!(Outcome::parse("nope"), None);
        let text = render(&families(&m, &inv), "", &[], Format::Prometheus);
        assert!(text.contains("\ninvestigations_total{result=\"found\"} 2\n"));
        assert!(text.contains("\ninvestigations_total{result=\"clean\"} 0\n"));
        assert!(text.contains("\ninvestigations_total{result=\"skipped\"} 1\n"));
        assert!(text.contains("\ninvestigations_total{result=\"failed\"} 0\n"));
    }

    #[test]
    fn text_exposition() {
        let mut m = Monitor::new(AlertConfig::default(), 10);
        m.record(Sample {
            t_ms: 1,
            heap_used: 5 << 30,
            heap_total: 6 << 30,
            rss: 7 << 30,
            external: 3,
            array_buffers: 2,
            after_gc: true,
        });
        m.record_gc(GcKind::Major, 250.0);
        let text = render_plain(&m, "app_", &[("worker".into(), "a\"b\\c\nd".into())]);
        assert!(text.contains("# HELP app_heap_used_bytes V8 heap in use at the last sample.\n"));
        assert!(text.contains("# TYPE app_heap_used_bytes gauge\napp_heap_used_bytes{worker=\"a\\\"b\\\\c\\nd\"} 5368709120\n"));
        assert!(text.contains("# TYPE app_gc_total counter\n"));
        assert!(text.contains("app_gc_total{worker=\"a\\\"b\\\\c\\nd\",kind=\"major\"} 1\n"));
        assert!(text.contains(
            "app_gc_duration_seconds_total{worker=\"a\\\"b\\\\c\\nd\",kind=\"major\"} 0.25\n"
        ));
        // No trend from one sample: the family is declared, with no value line.
        assert!(text.contains(
            "# TYPE app_heap_growth_bytes_per_hour gauge\n# HELP app_heap_growth_percent_per_hour"
        ));
        assert!(!text.contains("# EOF"));
        let plain = render_plain(&m, "", &[]);
        assert!(plain.contains("\nleak_suspected 0\n"));
    }

    #[test]
    fn open_metrics_names_counter_families_without_total() {
        let mut m = Monitor::new(AlertConfig::default(), 10);
        m.record_gc(GcKind::Minor, 2.0);
        let text = render(
            &families(&m, &Investigations::default()),
            "leakwatch_",
            &[],
            Format::OpenMetrics,
        );
        assert!(text.contains(
            "# HELP leakwatch_gc Garbage collections by kind.\n# TYPE leakwatch_gc counter\nleakwatch_gc_total{kind=\"minor\"} 1\n"
        ));
        assert!(text.contains("# TYPE leakwatch_gc_duration_seconds counter\n"));
        assert!(text.contains("\nleakwatch_gc_duration_seconds_total{kind=\"minor\"} 0.002\n"));
        assert!(!text.contains("_total_total"));
        // Gauges keep their names; the text ends with the required marker.
        assert!(
            text.contains("# TYPE leakwatch_leak_suspected gauge\nleakwatch_leak_suspected 0\n")
        );
        assert!(text.ends_with("\n# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
    }

    #[test]
    fn special_numbers() {
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(-1.5), "-1.5");
        assert_eq!(number(1e21), "1000000000000000000000");
    }
}
