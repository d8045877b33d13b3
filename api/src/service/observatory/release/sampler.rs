//! Exact samplers for the discrete Laplace and discrete Gaussian
//! distributions, after Canonne, Kamath and Steinke, "The Discrete Gaussian
//! for Differential Privacy" (NeurIPS 2020), Algorithms 1–3: integer and
//! rational arithmetic only, so no floating-point rounding shapes the noise
//! (the flaw of textbook Laplace noise that Mironov showed breaks its
//! guarantee). Randomness comes from the operating system
//! ([`SystemRandom`]); tests pass a seeded generator.

use rand::{RngCore, TryRngCore};

/// A non-negative rational, `num / den`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub num: u128,
    pub den: u128,
}

/// A uniform integer in `[0, n)`, `n > 0`, by rejection of the high bits.
fn uniform(rng: &mut impl RngCore, n: u128) -> u128 {
    if n <= 1 {
        return 0;
    }
    let bits = 128 - (n - 1).leading_zeros();
    loop {
        let word = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let x = word >> (128 - bits);
        if x < n {
            return x;
        }
    }
}

/// Bernoulli(`num / den`), `num <= den`.
fn bernoulli(rng: &mut impl RngCore, num: u128, den: u128) -> bool {
    uniform(rng, den) < num
}

/// Bernoulli(exp(−γ)) for γ = `num / den` ≥ 0 (Algorithm 1). Above 1,
/// one Bernoulli(exp(−1)) per whole unit, stopping at the first failure,
/// then the fractional rest.
pub fn bernoulli_exp(rng: &mut impl RngCore, num: u128, den: u128) -> bool {
    let mut num = num;
    while num > den {
        if !bernoulli_exp_at_most_one(rng, 1, 1) {
            return false;
        }
        num -= den;
    }
    bernoulli_exp_at_most_one(rng, num, den)
}

fn bernoulli_exp_at_most_one(rng: &mut impl RngCore, num: u128, den: u128) -> bool {
    let mut k: u128 = 1;
    // Draw A ~ Bernoulli(γ / k) until one fails; exp(−γ) is the chance
    // that the first failure comes at an odd k.
    while let Some(scaled) = den.checked_mul(k) {
        if !bernoulli(rng, num, scaled) {
            break;
        }
        k += 1;
    }
    k % 2 == 1
}

/// The discrete Laplace distribution of scale `t` (≥ 1):
/// P(x) ∝ exp(−|x| / t) (Algorithm 2 with s = 1).
pub fn discrete_laplace(rng: &mut impl RngCore, t: u128) -> i128 {
    let t = t.max(1);
    loop {
        let u = uniform(rng, t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let x = u + t * v;
        let negative = bernoulli(rng, 1, 2);
        if negative && x == 0 {
            continue;
        }
        let x = x as i128;
        return if negative { -x } else { x };
    }
}

/// ⌊√(num / den)⌋.
fn floor_sqrt(variance: Ratio) -> u128 {
    let estimate = (variance.num as f64 / variance.den as f64).sqrt() as u128;
    let fits = |s: u128| {
        s.checked_mul(s)
            .and_then(|square| square.checked_mul(variance.den))
            .is_some_and(|scaled| scaled <= variance.num)
    };
    let mut s = estimate.saturating_sub(2);
    while fits(s + 1) {
        s += 1;
    }
    while s > 0 && !fits(s) {
        s -= 1;
    }
    s
}

/// The discrete Gaussian of variance parameter σ² = `variance`:
/// P(x) ∝ exp(−x² / 2σ²) (Algorithm 3): discrete Laplace proposals of
/// scale ⌊σ⌋ + 1, each kept with probability
/// exp(−(|y| − σ²/t)² / 2σ²), all in integers.
pub fn discrete_gaussian(rng: &mut impl RngCore, variance: Ratio) -> i128 {
    let (n, d) = (variance.num, variance.den);
    if n == 0 {
        return 0;
    }
    let t = floor_sqrt(variance) + 1;
    // (|y| − n/(d·t))² / (2n/d) = (|y|·d·t − n)² / (2·n·d·t²).
    let den = 2u128
        .checked_mul(n)
        .and_then(|x| x.checked_mul(d))
        .and_then(|x| x.checked_mul(t))
        .and_then(|x| x.checked_mul(t))
        .expect("noise parameters are checked to stay far below 2^128");
    loop {
        let y = discrete_laplace(rng, t);
        let keep = match y
            .unsigned_abs()
            .checked_mul(d)
            .and_then(|x| x.checked_mul(t))
        {
            Some(scaled) => {
                let gap = scaled.abs_diff(n);
                match gap.checked_mul(gap) {
                    Some(num) => bernoulli_exp(rng, num, den),
                    // γ beyond 2^128 / den: exp(−γ) is nil to any precision.
                    None => false,
                }
            }
            None => false,
        };
        if keep {
            return y;
        }
    }
}

/// The operating system's randomness, read 4 KiB at a time (one system
/// call serves thousands of draws).
pub struct SystemRandom {
    buffer: Box<[u8; 4096]>,
    used: usize,
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self {
            buffer: Box::new([0; 4096]),
            used: 4096,
        }
    }
}

impl RngCore for SystemRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let mut written = 0;
        while written < dst.len() {
            if self.used == self.buffer.len() {
                rand::rngs::OsRng
                    .try_fill_bytes(&mut self.buffer[..])
                    .expect("the operating system gives randomness");
                self.used = 0;
            }
            let take = (dst.len() - written).min(self.buffer.len() - self.used);
            dst[written..written + take].copy_from_slice(&self.buffer[self.used..self.used + take]);
            self.used += take;
            written += take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Exact mean, variance and fourth moment of P(x) ∝ weight(x) over
    /// `-range..=range` (the tails beyond are below f64's precision).
    fn moments(range: i64, weight: impl Fn(f64) -> f64) -> (f64, f64, f64) {
        let xs = (-range..=range).map(|x| x as f64);
        let z: f64 = xs.clone().map(&weight).sum();
        let mean = xs.clone().map(|x| x * weight(x)).sum::<f64>() / z;
        let var = xs
            .clone()
            .map(|x| (x - mean).powi(2) * weight(x))
            .sum::<f64>()
            / z;
        let m4 = xs.map(|x| (x - mean).powi(4) * weight(x)).sum::<f64>() / z;
        (mean, var, m4)
    }

    /// The sample's mean and variance lie within six standard errors of
    /// the distribution's own.
    fn check(samples: &[i128], (mean, var, m4): (f64, f64, f64)) {
        let n = samples.len() as f64;
        let got_mean = samples.iter().map(|x| *x as f64).sum::<f64>() / n;
        let got_var = samples
            .iter()
            .map(|x| (*x as f64 - got_mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        let mean_tolerance = 6.0 * (var / n).sqrt();
        let var_tolerance = 6.0 * ((m4 - var * var) / n).sqrt();
        assert!(
            (got_mean - mean).abs() < mean_tolerance,
            "mean {got_mean} vs {mean} ± {mean_tolerance}"
        );
        assert!(
            (got_var - var).abs() < var_tolerance,
            "variance {got_var} vs {var} ± {var_tolerance}"
        );
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let mut rng = StdRng::seed_from_u64(7);
        for (num, den) in [(1u128, 2u128), (3, 1), (5, 4), (0, 1)] {
            let p = (-(num as f64) / den as f64).exp();
            let n = 100_000;
            let hits = (0..n).filter(|_| bernoulli_exp(&mut rng, num, den)).count() as f64;
            let tolerance = 6.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-12;
            assert!(
                (hits / n as f64 - p).abs() <= tolerance,
                "exp(-{num}/{den}): {} vs {p}",
                hits / n as f64
            );
        }
    }

    #[test]
    fn discrete_laplace_has_its_exact_moments() {
        let mut rng = StdRng::seed_from_u64(11);
        for t in [1u128, 3, 10] {
            let samples: Vec<i128> = (0..100_000)
                .map(|_| discrete_laplace(&mut rng, t))
                .collect();
            let scale = t as f64;
            check(&samples, moments(4000, |x| (-x.abs() / scale).exp()));
        }
    }

    #[test]
    fn discrete_gaussian_has_its_exact_moments() {
        let mut rng = StdRng::seed_from_u64(13);
        // σ² = 1/2 (well below 1, where the discrete variance falls short
        // of σ²), 4, 26.67 and 10 000.
        for (num, den) in [(1u128, 2u128), (4, 1), (80, 3), (10_000, 1)] {
            let variance = Ratio { num, den };
            let samples: Vec<i128> = (0..100_000)
                .map(|_| discrete_gaussian(&mut rng, variance))
                .collect();
            let sigma2 = num as f64 / den as f64;
            check(&samples, moments(2000, |x| (-x * x / (2.0 * sigma2)).exp()));
        }
    }

    #[test]
    fn discrete_gaussian_gives_each_value_its_probability() {
        let mut rng = StdRng::seed_from_u64(17);
        let n = 200_000;
        let mut counts = std::collections::HashMap::new();
        for _ in 0..n {
            *counts
                .entry(discrete_gaussian(&mut rng, Ratio { num: 2, den: 1 }))
                .or_insert(0u32) += 1;
        }
        let weight = |x: f64| (-x * x / 4.0).exp();
        let z: f64 = (-50..=50).map(|x| weight(x as f64)).sum();
        for x in -3i128..=3 {
            let p = weight(x as f64) / z;
            let got = f64::from(*counts.get(&x).unwrap_or(&0)) / n as f64;
            let tolerance = 6.0 * (p * (1.0 - p) / n as f64).sqrt();
            assert!((got - p).abs() < tolerance, "P({x}) = {got}, not {p}");
        }
    }

    #[test]
    fn square_roots_are_floored() {
        assert_eq!(floor_sqrt(Ratio { num: 4, den: 1 }), 2);
        assert_eq!(floor_sqrt(Ratio { num: 80, den: 3 }), 5);
        assert_eq!(floor_sqrt(Ratio { num: 1, den: 2 }), 0);
        assert_eq!(floor_sqrt(Ratio { num: 99, den: 1 }), 9);
    }

    #[test]
    fn system_randomness_fills_any_length() {
        let mut rng = SystemRandom::default();
        let mut big = vec![0u8; 10_000];
        rng.fill_bytes(&mut big);
        assert!(big.iter().any(|b| *b != 0));
        assert_ne!(rng.next_u64(), rng.next_u64());
    }
}
