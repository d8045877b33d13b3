//! The generator: deterministic numbers, skewed shares, and the draw of
//! one signature.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// SplitMix64: small, fast and deterministic, which is all seeding needs.
#[derive(Clone)]
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A skewed index in `0..n`: low indexes are far more likely.
    pub(super) fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((u * u * u) * n as f64) as u64 % n.max(1)
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A time-ordered id for `at`, from the generator's bits.
    pub(super) fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &random)
            .into_uuid()
    }
}

/// values and the real one draw alike.
pub(super) fn next_signature(
    rng: &mut Rng,
    published: DateTime<Utc>,
    window: u64,
) -> (DateTime<Utc>, Uuid, bool) {
    let at = published + Duration::seconds(rng.below(window) as i64);
    let id = rng.id_at(at);
    (at, id, rng.below(3) == 0)
}

/// Splits `total` over `cells` with a skew (early cells get more), no cell
/// above `cap`.
pub(super) fn distribute(rng: &mut Rng, total: u64, cells: u64, cap: u64) -> Vec<u64> {
    let cells = cells.max(1);
    let mut counts = vec![0u64; cells as usize];
    // Half spread evenly at random, half skewed towards a few cells.
    let mut left = total.min(cells * cap);
    while left > 0 {
        let batch = left.min(1 + rng.below(16));
        let cell = if rng.below(2) == 0 {
            rng.below(cells)
        } else {
            rng.skewed(cells)
        } as usize;
        let room = cap - counts[cell];
        let added = batch.min(room);
        counts[cell] += added;
        left -= added;
        if added == 0 && counts.iter().all(|&c| c >= cap) {
            break;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        for _ in 0..100 {
            assert_eq!(a.next(), b.next());
        }
    }

    #[test]
    fn distribution_keeps_the_total_and_the_cap() {
        let mut rng = Rng(1);
        let counts = distribute(&mut rng, 10_000, 50, 400);
        assert_eq!(counts.iter().sum::<u64>(), 10_000);
        assert!(counts.iter().all(|&c| c <= 400));
    }
}
