//! Robust growth estimate over (time, bytes) points.
//!
//! Theil–Sen: the slope is the median of all pairwise slopes, so a few
//! outliers (a late major GC, a burst of allocations just before a sample)
//! cannot drag it the way they drag a least-squares fit. Kendall's tau over
//! the same pairs says how consistently the heap moves in one direction and
//! serves as the confidence signal.

const MS_PER_HOUR: f64 = 3_600_000.0;

/// A fitted line over a window of points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Bytes per hour (negative when shrinking).
    pub bytes_per_hour: f64,
    /// The fitted value at the first point's time: what the growth is relative to.
    pub baseline: f64,
    /// Growth relative to `baseline`, or `None` when the baseline is not positive.
    pub pct_per_hour: Option<f64>,
    /// Kendall's tau between time and value, in [-1, 1].
    pub confidence: f64,
    pub points: usize,
    pub span_ms: u64,
}

impl Fit {
    /// Treats an undefined percentage as "not growing", so a zero baseline can
    /// never raise an alert.
    pub fn pct_or_zero(&self) -> f64 {
        self.pct_per_hour.unwrap_or(0.0)
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if values.len() % 2 == 1 {
        return Some(upper);
    }
    // The lower middle is the largest of the left partition.
    let lower = values[..mid].iter().copied().max_by(f64::total_cmp)?;
    Some((lower + upper) / 2.0)
}

/// Fits `points` (time ms, bytes), which must be in time order. Pairs with the
/// same timestamp carry no slope and are skipped; fewer than two distinct
/// times give `None`.
pub fn theil_sen(points: &[(u64, u64)]) -> Option<Fit> {
    let (t0, _) = *points.first()?;
    let (t_last, _) = *points.last()?;
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    let mut concordant = 0i64;
    let mut discordant = 0i64;
    for (i, &(ti, yi)) in points.iter().enumerate() {
        for &(tj, yj) in &points[i + 1..] {
            let Some(dt) = tj.checked_sub(ti).filter(|&d| d > 0) else {
                continue;
            };
            // i128 keeps the difference of two u64 exact: no wrap at any size.
            let dy = yj as i128 - yi as i128;
            slopes.push(dy as f64 / dt as f64);
            match dy.signum() {
                1 => concordant += 1,
                -1 => discordant += 1,
                _ => {}
            }
        }
    }
    let pairs = slopes.len();
    let slope_per_ms = median(&mut slopes)?;
    let mut offsets: Vec<f64> = points
        .iter()
        .map(|&(t, y)| y as f64 - slope_per_ms * t.saturating_sub(t0) as f64)
        .collect();
    let baseline = median(&mut offsets)?;
    let bytes_per_hour = slope_per_ms * MS_PER_HOUR;
    let pct_per_hour =
        (baseline > 0.0 && baseline.is_finite()).then(|| bytes_per_hour / baseline * 100.0);
    Some(Fit {
        bytes_per_hour,
        baseline,
        pct_per_hour,
        confidence: (concordant - discordant) as f64 / pairs as f64,
        points: points.len(),
        span_ms: t_last.saturating_sub(t0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn exact_line() {
        let pts: Vec<_> = (0..10).map(|i| (i * HOUR / 10, 1000 + i * 10)).collect();
        let fit = theil_sen(&pts).unwrap();
        assert!((fit.bytes_per_hour - 100.0).abs() < 1e-9);
        assert!((fit.baseline - 1000.0).abs() < 1e-9);
        assert!((fit.pct_per_hour.unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(fit.confidence, 1.0);
        assert_eq!(fit.span_ms, HOUR * 9 / 10);
    }

    #[test]
    fn outliers_do_not_move_the_slope() {
        let mut pts: Vec<_> = (0..20).map(|i| (i * 1000, 5000 + i * 2)).collect();
        pts[7].1 = 1_000_000;
        pts[13].1 = 0;
        let fit = theil_sen(&pts).unwrap();
        assert!((fit.bytes_per_hour - 2.0 / 1000.0 * 3.6e6).abs() < 1e-6);
    }

    #[test]
    fn degenerate_inputs_never_divide_by_zero() {
        assert_eq!(theil_sen(&[]), None);
        assert_eq!(theil_sen(&[(5, 100)]), None);
        // All at one instant: no pair has a time difference.
        assert_eq!(theil_sen(&[(5, 100), (5, 200), (5, 300)]), None);
        let zero = theil_sen(&[(0, 0), (1000, 0), (2000, 0)]).unwrap();
        assert_eq!(zero.pct_per_hour, None);
        assert_eq!(zero.pct_or_zero(), 0.0);
        assert_eq!(zero.confidence, 0.0);
        // A baseline of zero with growth after it: bytes/hour is defined, % is not.
        let from_zero = theil_sen(&[(0, 0), (1000, 10), (2000, 20)]).unwrap();
        assert_eq!(from_zero.pct_per_hour, None);
        assert!(from_zero.bytes_per_hour > 0.0);
    }

    #[test]
    fn values_beyond_4_gib_neither_wrap_nor_lose_the_trend() {
        let base = 6u64 << 30;
        let pts: Vec<_> = (0..12)
            .map(|i| (i * 60_000, base + i * (64 << 20)))
            .collect();
        let fit = theil_sen(&pts).unwrap();
        let expected = (64u64 << 20) as f64 * 60.0;
        assert!((fit.bytes_per_hour - expected).abs() / expected < 1e-9);
        assert!((fit.baseline - base as f64).abs() < 1.0);
        // Shrinking across the 4 GiB boundary is negative, not a huge positive wrap.
        let down = theil_sen(&[(0, 5 << 30), (1000, 3 << 30)]).unwrap();
        assert!(down.bytes_per_hour < 0.0);
        assert_eq!(down.confidence, -1.0);
        let top = theil_sen(&[(0, u64::MAX), (1000, 0)]).unwrap();
        assert!(top.bytes_per_hour < 0.0 && top.bytes_per_hour.is_finite());
    }
}
