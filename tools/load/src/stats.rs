//! Latency samples and their percentiles.

use std::time::Duration;

/// Latencies in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    samples: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.samples
            .push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
        self.sorted = false;
    }

    pub fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
    }

    /// Sorts the samples, so that percentiles can be read from `&self`.
    pub fn finish(mut self) -> Self {
        self.sort();
        self
    }

    /// The `q` quantile (0 to 1) in milliseconds, nearest rank; 0 when empty.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let mut sorted;
        let samples = if self.sorted {
            &self.samples
        } else {
            sorted = self.samples.clone();
            sorted.sort_unstable();
            &sorted
        };
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        f64::from(samples[rank - 1]) / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.samples
            .iter()
            .max()
            .map_or(0.0, |&m| f64::from(m) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut latencies = Latencies::default();
        for ms in (1..=100).rev() {
            latencies.record(Duration::from_millis(ms));
        }
        let latencies = latencies.finish();
        assert_eq!(latencies.percentile_ms(0.5), 50.0);
        assert_eq!(latencies.percentile_ms(0.99), 99.0);
        assert_eq!(latencies.max_ms(), 100.0);
        assert_eq!(Latencies::default().percentile_ms(0.5), 0.0);
    }
}
