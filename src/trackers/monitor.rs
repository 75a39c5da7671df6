//! Heap monitor state: a bounded sample history, the post-GC series the trend
//! is computed over, GC counters, and the leak-suspected / recovered decision.
//!
//! Nothing here reads a clock: every sample carries its own timestamp, so the
//! decisions are reproducible from a recorded series.

use super::trend::{theil_sen, Fit};
use std::collections::VecDeque;

/// Cap on the trend series: pairwise slopes cost O(n²), 128 points is ~8k pairs.
const MAX_TREND_POINTS: usize = 128;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    pub t_ms: u64,
    pub heap_used: u64,
    pub heap_total: u64,
    pub rss: u64,
    pub external: u64,
    pub array_buffers: u64,
    /// Taken right after a major GC: only these measure the live set.
    pub after_gc: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertConfig {
    pub growth_pct_per_hour: f64,
    /// The post-GC samples must span at least this long before an alert.
    pub min_duration_ms: u64,
    pub min_samples: usize,
    /// How far back the trend looks.
    pub window_ms: u64,
    /// Samples this soon after start are start-up, not a leak.
    pub warmup_ms: u64,
    /// Minimum Kendall tau of the whole window.
    pub min_confidence: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            growth_pct_per_hour: 10.0,
            min_duration_ms: 10 * 60_000,
            min_samples: 8,
            window_ms: 30 * 60_000,
            warmup_ms: 60_000,
            min_confidence: 0.5,
        }
    }
}

/// The trend over the current window, and over its older and recent halves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    pub window: Fit,
    pub older: Option<Fit>,
    pub recent: Option<Fit>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlertEvent {
    LeakSuspected(Trend),
    Recovered(Trend),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcKind {
    Minor,
    Major,
    Incremental,
    WeakCallbacks,
    Other,
}

impl GcKind {
    pub const ALL: [GcKind; 5] = [
        GcKind::Minor,
        GcKind::Major,
        GcKind::Incremental,
        GcKind::WeakCallbacks,
        GcKind::Other,
    ];

    /// perf_hooks' `NODE_PERFORMANCE_GC_*` flags.
    pub fn from_node_flag(kind: u32) -> GcKind {
        match kind {
            1 => GcKind::Minor,
            4 => GcKind::Major,
            8 => GcKind::Incremental,
            16 => GcKind::WeakCallbacks,
            _ => GcKind::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GcKind::Minor => "minor",
            GcKind::Major => "major",
            GcKind::Incremental => "incremental",
            GcKind::WeakCallbacks => "weakcb",
            GcKind::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GcCounter {
    pub count: u64,
    pub seconds: f64,
}

pub struct Monitor {
    config: AlertConfig,
    started_ms: Option<u64>,
    history: VecDeque<Sample>,
    history_cap: usize,
    series: VecDeque<(u64, u64)>,
    alerting: bool,
    gc: [GcCounter; 5],
}

impl Monitor {
    pub fn new(config: AlertConfig, history_cap: usize) -> Monitor {
        Monitor {
            config,
            started_ms: None,
            history: VecDeque::with_capacity(history_cap.min(4096)),
            history_cap: history_cap.max(1),
            series: VecDeque::with_capacity(MAX_TREND_POINTS + 1),
            alerting: false,
            gc: [GcCounter::default(); 5],
        }
    }

    pub fn config(&self) -> &AlertConfig {
        &self.config
    }

    pub fn alerting(&self) -> bool {
        self.alerting
    }

    pub fn history(&self) -> impl Iterator<Item = &Sample> {
        self.history.iter()
    }

    pub fn latest(&self) -> Option<&Sample> {
        self.history.back()
    }

    pub fn gc_counters(&self) -> impl Iterator<Item = (GcKind, GcCounter)> + '_ {
        GcKind::ALL.iter().map(|&k| (k, self.gc[k.index()]))
    }

    pub fn record_gc(&mut self, kind: GcKind, duration_ms: f64) {
        let c = &mut self.gc[kind.index()];
        c.count = c.count.saturating_add(1);
        if duration_ms.is_finite() && duration_ms > 0.0 {
            c.seconds += duration_ms / 1000.0;
        }
    }

    /// Adds a sample and returns the alert transition it causes, if any.
    pub fn record(&mut self, sample: Sample) -> Option<AlertEvent> {
        let started = *self.started_ms.get_or_insert(sample.t_ms);
        if self.history.len() == self.history_cap {
            self.history.pop_front();
        }
        self.history.push_back(sample);
        let warm = sample.t_ms >= started.saturating_add(self.config.warmup_ms);
        if !sample.after_gc || !warm {
            return None;
        }
        self.push_trend_point(sample.t_ms, sample.heap_used);
        self.decide()
    }

    fn push_trend_point(&mut self, t: u64, y: u64) {
        // Clocks can step back (a suspended VM); a point before the last one
        // would break the time order the fit relies on.
        if let Some(&(last_t, _)) = self.series.back() {
            if t < last_t {
                return;
            }
        }
        // Several GCs close together share one bucket holding their minimum:
        // the lowest post-GC heap is the best estimate of the live set.
        let spacing = self.config.window_ms / MAX_TREND_POINTS as u64;
        match self.series.back_mut() {
            Some(last) if t - last.0 < spacing.max(1) => last.1 = last.1.min(y),
            _ => self.series.push_back((t, y)),
        }
        let horizon = t.saturating_sub(self.config.window_ms);
        while self.series.front().is_some_and(|&(ft, _)| ft < horizon) {
            self.series.pop_front();
        }
        while self.series.len() > MAX_TREND_POINTS {
            self.series.pop_front();
        }
    }

    pub fn trend(&self) -> Option<Trend> {
        let points: Vec<(u64, u64)> = self.series.iter().copied().collect();
        let window = theil_sen(&points)?;
        let half = points.len() / 2;
        let (older, recent) = if half >= 2 {
            (
                theil_sen(&points[..half]),
                theil_sen(&points[points.len() - half..]),
            )
        } else {
            (None, None)
        };
        Some(Trend {
            window,
            older,
            recent,
        })
    }

    /// Growth counts as a leak only when it is steep over the whole window and
    /// still present in both halves: a one-off step (flat, jump, flat) leaves
    /// one half flat, and a sawtooth that returns to baseline has no post-GC
    /// growth at all.
    fn growing(&self, trend: &Trend, threshold: f64) -> bool {
        let half = |f: Option<Fit>| f.is_some_and(|f| f.pct_or_zero() >= threshold / 2.0);
        trend.window.pct_or_zero() >= threshold
            && half(trend.older)
            && half(trend.recent)
            && trend.window.confidence >= self.config.min_confidence
    }

    /// Start-up warm-up (caches filling) is steep but dying out; a leak keeps
    /// its pace. Raising the alert additionally needs the recent half to grow
    /// at least half as fast as the older one.
    fn keeps_pace(trend: &Trend) -> bool {
        match (trend.older, trend.recent) {
            (Some(o), Some(r)) => r.bytes_per_hour >= o.bytes_per_hour / 2.0,
            _ => false,
        }
    }

    fn decide(&mut self) -> Option<AlertEvent> {
        let trend = self.trend()?;
        let enough = trend.window.points >= self.config.min_samples.max(4)
            && trend.window.span_ms >= self.config.min_duration_ms;
        if !enough {
            return None;
        }
        let threshold = self.config.growth_pct_per_hour;
        if !self.alerting && self.growing(&trend, threshold) && Self::keeps_pace(&trend) {
            self.alerting = true;
            return Some(AlertEvent::LeakSuspected(trend));
        }
        // Half the threshold to recover, so a rate hovering at the threshold
        // does not flap between the two events.
        if self.alerting && !self.growing(&trend, threshold / 2.0) {
            self.alerting = false;
            return Some(AlertEvent::Recovered(trend));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    const MB: u64 = 1 << 20;

    fn config() -> AlertConfig {
        AlertConfig {
            growth_pct_per_hour: 10.0,
            min_duration_ms: 10 * MIN,
            min_samples: 8,
            window_ms: 30 * MIN,
            warmup_ms: MIN,
            min_confidence: 0.5,
        }
    }

    fn gc_sample(t_ms: u64, heap_used: u64) -> Sample {
        Sample {
            t_ms,
            heap_used,
            heap_total: heap_used + heap_used / 4,
            rss: heap_used * 2,
            after_gc: true,
            ..Sample::default()
        }
    }

    /// Feeds `f(minute)` as one post-GC sample per `step` and collects events
    /// with the minute they happened at.
    fn run(
        m: &mut Monitor,
        minutes: u64,
        step_s: u64,
        f: impl Fn(f64) -> u64,
    ) -> Vec<(f64, AlertEvent)> {
        let mut events = vec![];
        let mut t = 0;
        while t <= minutes * MIN {
            let minute = t as f64 / MIN as f64;
            if let Some(e) = m.record(gc_sample(t, f(minute))) {
                events.push((minute, e));
            }
            t += step_s * 1000;
        }
        events
    }

    // Deterministic jitter so the series look like real post-GC readings.
    fn jitter(minute: f64) -> u64 {
        ((minute * 7.3).sin() * 200_000.0 + 200_000.0) as u64
    }

    #[test]
    fn steady_growth_fires_once_after_min_duration() {
        let mut m = Monitor::new(config(), 1000);
        // 100 MB growing 1 MB/min: 60%/hour.
        let events = run(&mut m, 60, 30, |min| {
            100 * MB + (min * MB as f64) as u64 + jitter(min)
        });
        assert_eq!(events.len(), 1, "{events:?}");
        let (at, AlertEvent::LeakSuspected(trend)) = events[0] else {
            panic!("expected leak-suspected, got {events:?}");
        };
        // Warm-up (1 min) plus the 10 minutes of evidence it needs.
        assert!((11.0..=12.0).contains(&at), "fired at minute {at}");
        let rate = trend.window.bytes_per_hour / MB as f64;
        assert!((55.0..65.0).contains(&rate), "rate {rate} MB/h");
        assert!(trend.window.pct_or_zero() > 50.0);
        assert!(trend.window.confidence > 0.8);
        assert!(m.alerting());
    }

    #[test]
    fn sawtooth_returning_to_baseline_never_fires() {
        let mut m = Monitor::new(config(), 1000);
        // Between GCs the heap climbs 40 MB; each major GC brings it back to ~100 MB.
        let events = run(&mut m, 120, 20, |min| {
            let phase = (min * 3.0).fract();
            100 * MB + (phase * 4.0 * MB as f64) as u64 + jitter(min)
        });
        assert!(events.is_empty(), "{events:?}");
        let trend = m.trend().unwrap();
        assert!(trend.window.pct_or_zero().abs() < 10.0);
    }

    #[test]
    fn start_up_warm_up_does_not_fire() {
        let mut m = Monitor::new(config(), 1000);
        // Fills caches quickly (time constant 3 min), then stays flat.
        let events = run(&mut m, 90, 30, |min| {
            let fill = 1.0 - (-min / 3.0).exp();
            50 * MB + (fill * 150.0 * MB as f64) as u64 + jitter(min)
        });
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_leak_after_warm_up_fires_once_the_leak_dominates() {
        let mut m = Monitor::new(config(), 1000);
        let events = run(&mut m, 90, 30, |min| {
            let fill = 1.0 - (-min / 3.0).exp();
            let leak = (min - 30.0).max(0.0) * MB as f64;
            50 * MB + (fill * 150.0 * MB as f64 + leak) as u64 + jitter(min)
        });
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(matches!(events[0].1, AlertEvent::LeakSuspected(_)));
        // Both halves of the 30-minute window must show the growth, so it takes
        // roughly two thirds of a window after the leak starts.
        assert!(
            (35.0..=55.0).contains(&events[0].0),
            "fired at minute {}",
            events[0].0
        );
    }

    #[test]
    fn warm_up_window_ignores_early_samples() {
        let mut m = Monitor::new(
            AlertConfig {
                warmup_ms: 10 * MIN,
                ..config()
            },
            1000,
        );
        for i in 0..20 {
            assert_eq!(
                m.record(gc_sample(i * 30_000, 100 * MB + i * 10 * MB)),
                None
            );
        }
        assert_eq!(
            m.trend(),
            None,
            "nothing before warm-up end enters the trend"
        );
        assert_eq!(m.history().count(), 20);
    }

    #[test]
    fn one_off_step_does_not_fire() {
        let mut m = Monitor::new(config(), 1000);
        let events = run(&mut m, 120, 30, |min| {
            let step = if min >= 40.0 { 80 * MB } else { 0 };
            100 * MB + step + jitter(min)
        });
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn recovers_when_growth_stops() {
        let mut m = Monitor::new(config(), 1000);
        let events = run(&mut m, 90, 30, |min| {
            let grown = min.min(30.0);
            100 * MB + (grown * MB as f64) as u64 + jitter(min)
        });
        let kinds: Vec<_> = events
            .iter()
            .map(|(at, e)| (matches!(e, AlertEvent::LeakSuspected(_)), *at))
            .collect();
        assert_eq!(kinds.len(), 2, "{events:?}");
        assert!(kinds[0].0 && kinds[0].1 < 30.0);
        assert!(
            !kinds[1].0 && kinds[1].1 > 30.0 && kinds[1].1 < 60.0,
            "{kinds:?}"
        );
        assert!(!m.alerting());
    }

    #[test]
    fn growth_above_4_gib_is_measured_exactly() {
        let mut m = Monitor::new(config(), 1000);
        let base = 5 * 1024 * MB;
        let events = run(&mut m, 40, 30, |min| base + (min * 16.0 * MB as f64) as u64);
        let (_, AlertEvent::LeakSuspected(trend)) = events[0] else {
            panic!("{events:?}");
        };
        assert!((trend.window.bytes_per_hour - 960.0 * MB as f64).abs() < MB as f64);
        let expected_pct = 960.0 / 5120.0 * 100.0;
        assert!(
            (trend.window.pct_or_zero() - expected_pct).abs() < 0.5,
            "{trend:?}"
        );
    }

    #[test]
    fn interval_samples_and_zero_heaps_do_not_alert() {
        let mut m = Monitor::new(
            AlertConfig {
                growth_pct_per_hour: 1.0,
                ..config()
            },
            1000,
        );
        for i in 0..200 {
            let s = Sample {
                t_ms: i * 30_000,
                heap_used: i * MB,
                ..Sample::default()
            };
            assert_eq!(m.record(s), None);
        }
        assert_eq!(m.trend(), None, "only post-GC samples make the trend");
        let mut z = Monitor::new(config(), 10);
        assert!(run(&mut z, 60, 30, |_| 0).is_empty());
        let t = z.trend().unwrap();
        assert_eq!(t.window.pct_per_hour, None);
    }

    #[test]
    fn history_is_bounded_and_series_follows_the_window() {
        let mut m = Monitor::new(config(), 50);
        run(&mut m, 200, 5, |min| 100 * MB + jitter(min));
        assert_eq!(m.history().count(), 50);
        assert_eq!(m.latest().unwrap().t_ms, 200 * MIN);
        let trend = m.trend().unwrap();
        assert!(trend.window.points <= MAX_TREND_POINTS);
        assert!(trend.window.span_ms <= 30 * MIN);
    }

    #[test]
    fn time_going_backwards_is_ignored() {
        let mut m = Monitor::new(
            AlertConfig {
                warmup_ms: 0,
                ..config()
            },
            10,
        );
        m.record(gc_sample(100 * MIN, 10 * MB));
        m.record(gc_sample(50 * MIN, 99 * MB));
        m.record(gc_sample(101 * MIN, 10 * MB));
        let t = m.trend().unwrap();
        assert_eq!(t.window.points, 2);
        assert_eq!(t.window.bytes_per_hour, 0.0);
    }

    #[test]
    fn gc_counters() {
        let mut m = Monitor::new(config(), 10);
        m.record_gc(GcKind::from_node_flag(4), 12.5);
        m.record_gc(GcKind::from_node_flag(4), 7.5);
        m.record_gc(GcKind::from_node_flag(1), f64::NAN);
        m.record_gc(GcKind::from_node_flag(99), 1.0);
        let c: Vec<_> = m.gc_counters().collect();
        assert_eq!(
            c[1],
            (
                GcKind::Major,
                GcCounter {
                    count: 2,
                    seconds: 0.02
                }
            )
        );
        assert_eq!(
            c[0].1,
            GcCounter {
                count: 1,
                seconds: 0.0
            }
        );
        assert_eq!(c[4].1.count, 1);
    }
}
