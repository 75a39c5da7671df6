//! The monitor's state as Prometheus metric families, and their text
//! exposition (format 0.0.4), so a fleet is watched through the user's own
//! Prometheus / OpenTelemetry stack.

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
    /// Without the user's prefix.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Every family is always listed, so a registry can register the full set
/// up front; an unknown value (no sample or no trend yet) has no sample line.
fn gauge(name: &'static str, help: &'static str, value: Option<f64>) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        samples: value.map(|v| (vec![], v)).into_iter().collect(),
    }
}

pub fn families(m: &Monitor) -> Vec<Family> {
    let last = m.latest();
    let trend = m.trend();
    let field = |f: fn(&super::monitor::Sample) -> u64| last.map(|s| f(s) as f64);
    let mut out: Vec<Family> = [
        gauge(
            "heap_used_bytes",
            "V8 heap in use at the last sample.",
            field(|s| s.heap_used),
        ),
        gauge(
            "heap_total_bytes",
            "V8 heap reserved at the last sample.",
            field(|s| s.heap_total),
        ),
        gauge(
            "rss_bytes",
            "Resident set size of the process at the last sample.",
            field(|s| s.rss),
        ),
        gauge(
            "external_bytes",
            "Memory of C++ objects bound to JS objects.",
            field(|s| s.external),
        ),
        gauge(
            "array_buffers_bytes",
            "Memory of ArrayBuffers and SharedArrayBuffers.",
            field(|s| s.array_buffers),
        ),
    ]
    .into();
    let mut gc_count = Family {
        name: "gc_total",
        help: "Garbage collections by kind.",
        kind: Kind::Counter,
        samples: vec![],
    };
    let mut gc_seconds = Family {
        name: "gc_duration_seconds_total",
        help: "Time spent in garbage collection by kind.",
        kind: Kind::Counter,
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

/// Renders families; `prefix` and label names must already be valid metric
/// name characters (the JS facade checks the prefix).
pub fn render(families: &[Family], prefix: &str, const_labels: &[(String, String)]) -> String {
    let mut out = String::new();
    for f in families {
        let name = format!("{prefix}{}", f.name);
        let _ = writeln!(out, "# HELP {name} {}", f.help);
        let _ = writeln!(out, "# TYPE {name} {}", f.kind.as_str());
        for (labels, value) in &f.samples {
            let all: Vec<String> = const_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(labels.iter().map(|(k, v)| (*k, v.as_str())))
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            if all.is_empty() {
                let _ = writeln!(out, "{name} {}", number(*value));
            } else {
                let _ = writeln!(out, "{name}{{{}}} {}", all.join(","), number(*value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::monitor::{AlertConfig, GcKind, Monitor, Sample};
    use super::*;

    #[test]
    fn empty_monitor_lists_every_family_with_values_only_where_known() {
        let m = Monitor::new(AlertConfig::default(), 10);
        let fams = families(&m);
        assert_eq!(fams.len(), 11);
        let with_values: Vec<_> = fams
            .iter()
            .filter(|f| !f.samples.is_empty())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            with_values,
            vec!["gc_total", "gc_duration_seconds_total", "leak_suspected"]
        );
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
        let text = render(
            &families(&m),
            "app_",
            &[("worker".into(), "a\"b\\c\nd".into())],
        );
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
        let plain = render(&families(&m), "", &[]);
        assert!(plain.contains("\nleak_suspected 0\n"));
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
