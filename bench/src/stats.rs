//! The one place the benchmarks and load tests summarise their samples: percentiles by the nearest rank (the
//! sample at `round((n - 1) * p)` of the sorted samples; zero for none) and how durations are printed.

use std::time::Duration;

/// Samples sorted once, to read any number of percentiles from.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Samples(samples)
    }

    /// The `p`-th fraction (0.5 is the median, 0.99 the 99th percentile), or zero without samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let rank = (self.0.len().saturating_sub(1) as f64 * p).round() as usize;
        self.0.get(rank).copied().unwrap_or_default()
    }

    pub fn median(&self) -> Duration {
        self.percentile(0.5)
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Milliseconds, as the reports print them.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Microseconds, for a row of `make bench`'s table.
pub fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_ranks_of_the_sorted_samples() {
        let samples = Samples::new((1..=101).rev().map(Duration::from_millis).collect());
        assert_eq!(samples.median(), Duration::from_millis(51));
        assert_eq!(samples.percentile(0.99), Duration::from_millis(100));
        assert_eq!(samples.percentile(0.0), Duration::from_millis(1));
        assert_eq!(samples.max(), Duration::from_millis(101));
        assert_eq!(Samples::default().percentile(0.5), Duration::ZERO);
        let two = Samples::new(vec![Duration::from_millis(4), Duration::from_millis(2)]);
        assert_eq!(two.median(), Duration::from_millis(4), "rank 0.5 rounds up");
    }
}
