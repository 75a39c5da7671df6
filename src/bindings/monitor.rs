//! Monitor state and snapshot policy for the JS facade (`lib/monitor.js`,
//! `lib/snapshots.js`), which makes the `v8` / `perf_hooks` calls and feeds
//! the readings in here.

use super::errors::{guarded, invalid_arg, to_measure};
use crate::trackers::metrics::{self, Format, Investigations, Kind, Outcome};
use crate::trackers::monitor::{AlertConfig, AlertEvent, GcKind, Monitor, Sample, Trend};
use crate::trackers::snapshot_policy::{
    self, check_headroom, FileEntry, Gate, GrowthTrigger, Headroom, MemoryRoom, Trigger,
    PROCESS_LEASE,
};
use crate::trackers::trend::Fit;
use napi_derive::napi;
use std::collections::HashMap;

fn opt_u64(v: Option<f64>, name: &str, default: u64) -> napi::Result<u64> {
    v.map_or(Ok(default), |v| to_measure(v, name))
}

#[napi(object)]
pub struct MonitorConfig {
    pub growth_pct_per_hour: Option<f64>,
    pub min_duration_ms: Option<f64>,
    pub min_samples: Option<f64>,
    pub window_ms: Option<f64>,
    pub warmup_ms: Option<f64>,
    pub min_confidence: Option<f64>,
    pub history_size: Option<f64>,
}

#[napi(object)]
pub struct HeapSample {
    /// Milliseconds on a monotonic clock.
    pub t: f64,
    pub heap_used: f64,
    pub heap_total: f64,
    pub rss: f64,
    pub external: f64,
    pub array_buffers: f64,
    pub after_gc: bool,
}

#[napi(object)]
pub struct TrendInfo {
    pub bytes_per_hour: f64,
    pub pct_per_hour: Option<f64>,
    pub baseline_bytes: f64,
    pub confidence: f64,
    pub samples: u32,
    pub window_ms: f64,
    pub older_pct_per_hour: Option<f64>,
    pub recent_pct_per_hour: Option<f64>,
}

impl From<Trend> for TrendInfo {
    fn from(t: Trend) -> Self {
        let pct = |f: Option<Fit>| f.and_then(|f| f.pct_per_hour);
        TrendInfo {
            bytes_per_hour: t.window.bytes_per_hour,
            pct_per_hour: t.window.pct_per_hour,
            baseline_bytes: t.window.baseline,
            confidence: t.window.confidence,
            samples: t.window.points.min(u32::MAX as usize) as u32,
            window_ms: t.window.span_ms as f64,
            older_pct_per_hour: pct(t.older),
            recent_pct_per_hour: pct(t.recent),
        }
    }
}

#[napi(object)]
pub struct AlertTransition {
    /// `leak-suspected` or `recovered`.
    pub event: String,
    pub trend: TrendInfo,
}

#[napi(object)]
pub struct MetricSample {
    pub labels: HashMap<String, String>,
    pub value: f64,
}

#[napi(object)]
pub struct MetricFamily {
    pub name: String,
    pub help: String,
    #[napi(js_name = "type")]
    pub kind: String,
    /// The prom-client default series with the same reading, if any.
    pub overlaps: Option<String>,
    pub samples: Vec<MetricSample>,
}

#[napi(object)]
pub struct MetricLabel {
    pub name: String,
    pub value: String,
}

#[napi(js_name = "NativeMonitor")]
pub struct NativeMonitor {
    inner: Monitor,
    investigations: Investigations,
}

#[napi]
impl NativeMonitor {
    #[napi(constructor)]
    pub fn new(config: MonitorConfig) -> napi::Result<Self> {
        guarded(|| {
            let d = AlertConfig::default();
            let min_confidence = config.min_confidence.unwrap_or(d.min_confidence);
            if !(-1.0..=1.0).contains(&min_confidence) {
                return Err(invalid_arg("minConfidence must be between -1 and 1"));
            }
            let growth = config.growth_pct_per_hour.unwrap_or(d.growth_pct_per_hour);
            if !growth.is_finite() || growth <= 0.0 {
                return Err(invalid_arg("growthPctPerHour must be a positive number"));
            }
            let alert = AlertConfig {
                growth_pct_per_hour: growth,
                min_duration_ms: opt_u64(
                    config.min_duration_ms,
                    "minDurationMs",
                    d.min_duration_ms,
                )?,
                min_samples: opt_u64(config.min_samples, "minSamples", d.min_samples as u64)?
                    as usize,
                window_ms: opt_u64(config.window_ms, "windowMs", d.window_ms)?,
                warmup_ms: opt_u64(config.warmup_ms, "warmupMs", d.warmup_ms)?,
                min_confidence,
            };
            let history = opt_u64(config.history_size, "historySize", 1000)?.min(1 << 20) as usize;
            Ok(NativeMonitor {
                inner: Monitor::new(alert, history),
                investigations: Investigations::default(),
            })
        })
    }

    #[napi(catch_unwind)]
    pub fn record(&mut self, s: HeapSample) -> napi::Result<Option<AlertTransition>> {
        let sample = Sample {
            t_ms: to_measure(s.t, "t")?,
            heap_used: to_measure(s.heap_used, "heapUsed")?,
            heap_total: to_measure(s.heap_total, "heapTotal")?,
            rss: to_measure(s.rss, "rss")?,
            external: to_measure(s.external, "external")?,
            array_buffers: to_measure(s.array_buffers, "arrayBuffers")?,
            after_gc: s.after_gc,
        };
        Ok(self.inner.record(sample).map(|e| match e {
            AlertEvent::LeakSuspected(t) => AlertTransition {
                event: "leak-suspected".into(),
                trend: t.into(),
            },
            AlertEvent::Recovered(t) => AlertTransition {
                event: "recovered".into(),
                trend: t.into(),
            },
        }))
    }

    /// `kind` is perf_hooks' `detail.kind` flag.
    #[napi(catch_unwind)]
    pub fn record_gc(&mut self, kind: u32, duration_ms: f64) {
        self.inner
            .record_gc(GcKind::from_node_flag(kind), duration_ms);
    }

    #[napi(catch_unwind)]
    pub fn trend(&self) -> Option<TrendInfo> {
        self.inner.trend().map(Into::into)
    }

    #[napi(getter, catch_unwind)]
    pub fn alerting(&self) -> bool {
        self.inner.alerting()
    }

    #[napi(catch_unwind)]
    pub fn history(&self) -> Vec<HeapSample> {
        self.inner
            .history()
            .map(|s| HeapSample {
                t: s.t_ms as f64,
                heap_used: s.heap_used as f64,
                heap_total: s.heap_total as f64,
                rss: s.rss as f64,
                external: s.external as f64,
                array_buffers: s.array_buffers as f64,
                after_gc: s.after_gc,
            })
            .collect()
    }

    /// `outcome`: `found`, `clean`, `skipped` or `failed`.
    #[napi(catch_unwind)]
    pub fn record_investigation(&mut self, outcome: String) -> napi::Result<()> {
        let outcome = Outcome::parse(&outcome)
            .ok_or_else(|| invalid_arg("outcome must be one of found, clean, skipped, failed"))?;
        self.investigations.record(outcome);
        Ok(())
    }

    /// Prometheus text 0.0.4, or OpenMetrics 1.0 with `open_metrics`.
    #[napi(catch_unwind)]
    pub fn metrics_text(
        &self,
        prefix: String,
        labels: Vec<MetricLabel>,
        open_metrics: Option<bool>,
    ) -> String {
        let labels: Vec<(String, String)> = labels.into_iter().map(|l| (l.name, l.value)).collect();
        let format = if open_metrics == Some(true) {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        metrics::render(
            &metrics::families(&self.inner, &self.investigations),
            &prefix,
            &labels,
            format,
        )
    }

    #[napi(catch_unwind)]
    pub fn metric_families(&self, prefix: String) -> Vec<MetricFamily> {
        metrics::families(&self.inner, &self.investigations)
            .into_iter()
            .map(|f| MetricFamily {
                name: format!("{prefix}{}", f.name),
                help: f.help.into(),
                kind: match f.kind {
                    Kind::Gauge => "gauge",
                    Kind::Counter => "counter",
                }
                .into(),
                overlaps: f.overlaps.map(Into::into),
                samples: f
                    .samples
                    .into_iter()
                    .map(|(labels, value)| MetricSample {
                        labels: labels
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                        value,
                    })
                    .collect(),
            })
            .collect()
    }
}

#[napi(object)]
pub struct GateDecision {
    /// `take`, `in-flight` or `debounced`.
    pub action: String,
    pub retry_in_ms: f64,
}

/// Debounce, single flight and the growth trigger of one snapshot schedule.
#[napi(js_name = "NativeSnapshotTrigger")]
pub struct NativeSnapshotTrigger {
    gate: Trigger,
    growth: Option<GrowthTrigger>,
}

#[napi]
impl NativeSnapshotTrigger {
    #[napi(constructor)]
    pub fn new(min_interval_ms: f64, growth_pct: Option<f64>) -> napi::Result<Self> {
        guarded(|| {
            if let Some(p) = growth_pct {
                if !p.is_finite() || p <= 0.0 {
                    return Err(invalid_arg("onGrowthPct must be a positive number"));
                }
            }
            Ok(NativeSnapshotTrigger {
                gate: Trigger::new(to_measure(min_interval_ms, "minIntervalMs")?),
                growth: growth_pct.map(GrowthTrigger::new),
            })
        })
    }

    #[napi(catch_unwind)]
    pub fn request(&mut self, now: f64) -> napi::Result<GateDecision> {
        let (action, retry) = match self.gate.request(to_measure(now, "now")?) {
            Gate::Take => ("take", 0),
            Gate::InFlight => ("in-flight", 0),
            Gate::Debounced { retry_in_ms } => ("debounced", retry_in_ms),
        };
        Ok(GateDecision {
            action: action.into(),
            retry_in_ms: retry as f64,
        })
    }

    #[napi(catch_unwind)]
    pub fn finish(&mut self) {
        self.gate.finish();
    }

    /// Feeds a post-GC heap size; true when it has grown enough to snapshot.
    #[napi(catch_unwind)]
    pub fn observe_heap(&mut self, heap_used: f64) -> napi::Result<bool> {
        let v = to_measure(heap_used, "heapUsed")?;
        Ok(self.growth.as_mut().is_some_and(|g| g.observe(v)))
    }
}

#[napi(object)]
pub struct HeadroomResult {
    pub ok: bool,
    pub need_bytes: f64,
    pub available_bytes: Option<f64>,
    /// `cgroup` or `system`: where the tightest limit came from.
    pub source: Option<String>,
}

#[napi(catch_unwind)]
pub fn check_snapshot_headroom(
    heap_used: f64,
    factor: f64,
    cgroup_free: Option<f64>,
    system_available: Option<f64>,
) -> napi::Result<HeadroomResult> {
    let room = MemoryRoom {
        cgroup_free: cgroup_free
            .map(|v| to_measure(v, "cgroupFree"))
            .transpose()?,
        system_available: system_available
            .map(|v| to_measure(v, "systemAvailable"))
            .transpose()?,
    };
    Ok(
        match check_headroom(to_measure(heap_used, "heapUsed")?, factor, room) {
            Headroom::Enough { need, available } => HeadroomResult {
                ok: true,
                need_bytes: need as f64,
                available_bytes: available.map(|v| v as f64),
                source: None,
            },
            Headroom::Short {
                need,
                available,
                source,
            } => HeadroomResult {
                ok: false,
                need_bytes: need as f64,
                available_bytes: Some(available as f64),
                source: Some(source.into()),
            },
        },
    )
}

#[napi(object)]
pub struct SnapshotFile {
    pub name: String,
    pub bytes: f64,
    pub mtime_ms: f64,
    /// Device and inode numbers, in decimal (they may exceed 2^53).
    pub dev: String,
    pub ino: String,
}

/// The check value for a snapshot's final name (see `snapshot_policy::file_mark`).
#[napi(catch_unwind)]
pub fn snapshot_file_mark(stem: String, dev: String, ino: String) -> String {
    snapshot_policy::file_mark(&stem, &dev, &ino)
}

/// The process id in the name of one of our temporary snapshot files.
#[napi(catch_unwind)]
pub fn snapshot_temp_pid(name: String) -> Option<u32> {
    snapshot_policy::temp_file_pid(&name)
}

/// Names of our snapshot files to delete, oldest first.
#[napi(catch_unwind)]
pub fn select_snapshots_to_delete(
    files: Vec<SnapshotFile>,
    max_files: Option<f64>,
    max_bytes: Option<f64>,
) -> napi::Result<Vec<String>> {
    let entries = files
        .into_iter()
        .map(|f| {
            Ok(FileEntry {
                name: f.name,
                bytes: to_measure(f.bytes, "bytes")?,
                mtime_ms: to_measure(f.mtime_ms.max(0.0), "mtimeMs")?,
                dev: f.dev,
                ino: f.ino,
            })
        })
        .collect::<napi::Result<Vec<_>>>()?;
    let max_files = max_files
        .map(|v| to_measure(v, "maxFiles"))
        .transpose()?
        .map(|v| v.min(usize::MAX as u64) as usize);
    let max_bytes = max_bytes.map(|v| to_measure(v, "maxBytes")).transpose()?;
    Ok(snapshot_policy::select_for_deletion(
        &entries, max_files, max_bytes,
    ))
}

/// A process-wide token for writing one snapshot, or null while another
/// thread of this process is writing one.
#[napi(catch_unwind)]
pub fn acquire_snapshot_lease(now: f64, max_hold_ms: f64) -> napi::Result<Option<f64>> {
    let token = PROCESS_LEASE.try_acquire(
        to_measure(now, "now")?,
        to_measure(max_hold_ms, "maxHoldMs")?,
    );
    Ok(token.map(|t| t as f64))
}

#[napi(catch_unwind)]
pub fn release_snapshot_lease(token: f64) -> napi::Result<bool> {
    Ok(PROCESS_LEASE.release(to_measure(token, "token")?))
}
