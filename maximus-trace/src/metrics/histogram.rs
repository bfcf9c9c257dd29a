//! A cumulative histogram with explicit bucket bounds, and quantiles estimated from it.

/// Span duration buckets in milliseconds: the `spanmetrics` connector's defaults
/// (`[2ms, 4ms, 6ms, 8ms, 10ms, 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1400ms, 2s, 5s, 10s, 15s]`,
/// opentelemetry-collector-contrib `connector/spanmetricsconnector/README.md`), so dashboards
/// built on the collector's output keep their bucket boundaries. `+Inf` is implicit.
pub(crate) const SPAN_DURATION_MS: &[f64] = &[
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1_000.0, 1_400.0, 2_000.0, 5_000.0, 10_000.0,
    15_000.0,
];

/// Request latency buckets in seconds: the `servicegraph` connector's defaults (the same
/// boundaries as above, in seconds).
pub(crate) const EDGE_LATENCY_S: &[f64] = &[
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];

/// Counts per bucket (a value `v` lands in the first bucket whose bound is `>= v`, as
/// Prometheus' `le` says), plus the sum, the count and the extremes seen.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then the `+Inf` bucket. Not cumulative.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
    min: f64,
    max: f64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Records one value; negative and NaN values (a clock that went backwards) count as 0.
    pub fn record(&mut self, value: f64) {
        let value = if value.is_nan() || value < 0.0 { 0.0 } else { value };
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket] += 1;
        self.sum += value;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds `other`'s observations; histograms with other bounds are not merged.
    pub fn merge(&mut self, other: &Histogram) {
        if !std::ptr::eq(self.bounds, other.bounds) && self.bounds != other.bounds {
            return;
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper bound, cumulative count)` per bucket, ending with `(+Inf, count)`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = self.bounds.iter().copied().chain(std::iter::once(f64::INFINITY));
        bounds.zip(self.counts.iter().scan(0, |total, n| {
            *total += n;
            Some(*total)
        }))
    }

    /// The `q`-quantile (0..=1), interpolated linearly inside its bucket as Prometheus'
    /// `histogram_quantile` does, but clamped to the smallest and largest values seen (so the
    /// open `+Inf` bucket and a sparse first bucket give the observed extremes, not a bound).
    /// `None` before any observation.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n == 0 || ((below + n) as f64) < rank {
                below += n;
                continue;
            }
            let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] }.max(self.min);
            let upper = self.bounds.get(i).copied().unwrap_or(f64::INFINITY).min(self.max);
            let fraction = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            return Some(lower + (upper - lower).max(0.0) * fraction);
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_is_not_smaller() {
        let mut h = Histogram::new(SPAN_DURATION_MS);
        for v in [0.5, 2.0, 2.1, 15_000.0, 20_000.0] {
            h.record(v);
        }
        let cumulative: Vec<(f64, u64)> = h.cumulative().collect();
        assert_eq!(cumulative[0], (2.0, 2), "0.5 and exactly 2.0 are <= 2");
        assert_eq!(cumulative[1], (4.0, 3));
        assert_eq!(cumulative[15], (15_000.0, 4));
        assert_eq!(cumulative[16], (f64::INFINITY, 5));
        assert_eq!(h.count(), 5);
    }

    #[test]
    fn negative_and_nan_durations_count_as_zero() {
        let mut h = Histogram::new(SPAN_DURATION_MS);
        h.record(-3.0);
        h.record(f64::NAN);
        assert_eq!((h.count(), h.sum()), (2, 0.0));
        assert_eq!(h.quantile(0.5), Some(0.0));
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket_and_stay_within_observed_values() {
        let mut h = Histogram::new(SPAN_DURATION_MS);
        // 100 values spread evenly over (10, 50]: the p50 must be near 30.
        for i in 1..=100 {
            h.record(10.0 + 0.4 * f64::from(i));
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((p50 - 30.0).abs() < 0.5, "p50 {p50}");
        assert!(h.quantile(1.0).unwrap() <= 50.0);
        assert!(h.quantile(0.0).unwrap() >= 10.4);
    }

    #[test]
    fn the_overflow_bucket_reports_the_largest_value_seen() {
        let mut h = Histogram::new(SPAN_DURATION_MS);
        h.record(30_000.0);
        assert_eq!(h.quantile(0.99), Some(30_000.0));
    }

    #[test]
    fn empty_histograms_have_no_quantiles() {
        assert_eq!(Histogram::new(EDGE_LATENCY_S).quantile(0.5), None);
    }

    #[test]
    fn merge_adds_counts_sums_and_extremes() {
        let mut a = Histogram::new(SPAN_DURATION_MS);
        let mut b = Histogram::new(SPAN_DURATION_MS);
        a.record(1.0);
        b.record(100.0);
        a.merge(&b);
        assert_eq!((a.count(), a.sum()), (2, 101.0));
        assert_eq!(a.quantile(1.0), Some(100.0));
    }
}
