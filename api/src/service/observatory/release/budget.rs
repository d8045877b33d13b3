//! The release's budget: how one period's ρ is split across the measures
//! it publishes, each measure's sensitivity and noise, the publication
//! threshold, the standard errors of figures built from released cells,
//! and the (ε, δ) a ρ amounts to.

use super::sampler::Ratio;
use crate::config::Privacy;

/// What a release publishes for each producer and month. Each is a sum of
/// per-member contributions bounded by `sensitivity`; a member counts for
/// at most `CONSUMACT_DP_MAX_PRODUCERS` producers a month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Distinct members (signers, raters, pledgers): the threshold's count.
    Members,
    /// Distinct signers.
    Signatures,
    /// Ratings of one dimension (one per member and month already).
    Ratings(usize),
    /// The ratings' scores less one (0–4) of one dimension.
    Scores(usize),
    /// Members who pledged one kind.
    Pledges(usize),
    /// Monthly amounts pledged, clamped per member, in whole units.
    Amount,
}

pub const DIMENSIONS: [&str; 4] = ["transparency", "fairness", "commitment_keeping", "quality"];
pub const KINDS: [&str; 4] = ["buy", "avoid", "switch", "reduce"];

impl Measure {
    /// Every measure, in the ledger's order.
    pub fn all() -> Vec<Measure> {
        let mut all = vec![Measure::Members, Measure::Signatures];
        all.extend((0..4).map(Measure::Ratings));
        all.extend((0..4).map(Measure::Scores));
        all.extend((0..4).map(Measure::Pledges));
        all.push(Measure::Amount);
        all
    }

    pub fn name(self) -> String {
        match self {
            Measure::Members => "members".into(),
            Measure::Signatures => "signatures".into(),
            Measure::Ratings(i) => format!("ratings_{}", DIMENSIONS[i]),
            Measure::Scores(i) => format!("scores_{}", DIMENSIONS[i]),
            Measure::Pledges(i) => format!("pledges_{}", KINDS[i]),
            Measure::Amount => "pledged_amount".into(),
        }
    }

    /// The measure's share of ρ, in hundredths: members 15, signatures 25,
    /// each dimension's ratings and scores 5 and 5, each pledge kind 3,
    /// amounts 8.
    pub fn share(self) -> u64 {
        match self {
            Measure::Members => 15,
            Measure::Signatures => 25,
            Measure::Ratings(_) | Measure::Scores(_) => 5,
            Measure::Pledges(_) => 3,
            Measure::Amount => 8,
        }
    }
}

/// One release's parameters.
#[derive(Clone, Debug)]
pub struct Budget {
    /// ρ of one period, `rho_num / rho_den`.
    pub rho_num: u64,
    pub rho_den: u64,
    pub max_producers: u64,
    /// The amount cap in whole units (100 cents).
    pub cap_units: u64,
}

impl Budget {
    pub fn of(privacy: &Privacy) -> Self {
        Self {
            rho_num: privacy.dp_rho.num,
            rho_den: privacy.dp_rho.den,
            max_producers: u64::from(privacy.dp_max_producers),
            cap_units: privacy.dp_pledge_cap_cents / 100,
        }
    }

    pub fn rho(&self) -> f64 {
        self.rho_num as f64 / self.rho_den as f64
    }

    pub fn sensitivity(&self, measure: Measure) -> u64 {
        match measure {
            Measure::Scores(_) => 4,
            Measure::Amount => self.cap_units,
            _ => 1,
        }
    }

    /// The measure's ρ: its share of the period's.
    pub fn measure_rho(&self, measure: Measure) -> f64 {
        self.rho() * measure.share() as f64 / 100.0
    }

    /// σ² of the measure's discrete Gaussian, exactly: the Gaussian
    /// mechanism is ρ-zCDP at σ² = Δ₂² / 2ρ, and a member moves up to
    /// `max_producers` cells by at most the sensitivity each, so
    /// Δ₂² = sensitivity² · max_producers.
    pub fn variance(&self, measure: Measure) -> Ratio {
        let sensitivity = u128::from(self.sensitivity(measure));
        // Δ² · l / (2 · ρ · share / 100) = Δ² · l · 100 · den / (2 · num · share).
        Ratio {
            num: sensitivity
                * sensitivity
                * u128::from(self.max_producers)
                * 100
                * u128::from(self.rho_den),
            den: 2 * u128::from(self.rho_num) * u128::from(measure.share()),
        }
    }

    pub fn sigma(&self, measure: Measure) -> f64 {
        let variance = self.variance(measure);
        (variance.num as f64 / variance.den as f64).sqrt()
    }

    /// The noisy member count a cell needs to be published: 1 + ⌈4.75 σ⌉,
    /// which noise alone passes about once in a million empty cells. A
    /// function of the budget only, so publishing is post-processing.
    pub fn threshold(&self) -> i64 {
        1 + (4.75 * self.sigma(Measure::Members)).ceil() as i64
    }
}

/// The (ε, δ)-differential privacy that ρ-zCDP implies (Bun and Steinke
/// 2016, Proposition 1.3): ε = ρ + 2 √(ρ ln(1/δ)).
pub fn epsilon_at(rho: f64, delta: f64) -> f64 {
    rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt()
}

/// Standard errors of the figures of a sum of `cells` released cells,
/// from each measure's noise variance (variances add; the noise of
/// different cells and measures is independent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureErrors {
    pub member_count: f64,
    pub signatures: f64,
    pub rating_count: f64,
    /// Of the trust index (delta method), when it is shown.
    pub trust_index: Option<f64>,
    pub pledges: [f64; 4],
    pub monthly_amount_cents: f64,
}

impl FigureErrors {
    /// `ratings` and `scores_less_one` are the cell's released totals over
    /// the four dimensions, `prior` the trust index's (mean, weight).
    pub fn of(
        budget: &Budget,
        cells: i64,
        ratings: i64,
        scores_less_one: i64,
        prior: (f64, f64),
    ) -> Self {
        let n = cells.max(0) as f64;
        let var = |measure: Measure| {
            let v = budget.variance(measure);
            v.num as f64 / v.den as f64
        };
        let se = |measure: Measure| (n * var(measure)).sqrt();
        let rating_var: f64 = (0..4).map(|i| n * var(Measure::Ratings(i))).sum();
        let score_var: f64 = (0..4).map(|i| n * var(Measure::Scores(i))).sum();
        let (mean, weight) = prior;
        let trust_index = (ratings > 0).then(|| {
            let count = ratings as f64;
            let index = (weight * mean + 25.0 * scores_less_one as f64) / (weight + count);
            // T = (w·m + 25·S) / (w + n): ∂T/∂S = 25/(w+n), ∂T/∂n = −T/(w+n).
            ((625.0 * score_var + index * index * rating_var) / (weight + count).powi(2)).sqrt()
        });
        FigureErrors {
            member_count: se(Measure::Members),
            signatures: se(Measure::Signatures),
            rating_count: rating_var.sqrt(),
            trust_index,
            pledges: [0, 1, 2, 3].map(|i| se(Measure::Pledges(i))),
            monthly_amount_cents: 100.0 * se(Measure::Amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            rho_num: 5,
            rho_den: 10,
            max_producers: 8,
            cap_units: 100,
        }
    }

    #[test]
    fn the_shares_spend_the_whole_budget() {
        assert_eq!(Measure::all().iter().map(|m| m.share()).sum::<u64>(), 100);
        let spent: f64 = Measure::all()
            .iter()
            .map(|m| budget().measure_rho(*m))
            .sum();
        assert!((spent - 0.5).abs() < 1e-12);
    }

    #[test]
    fn noise_follows_the_gaussian_mechanism() {
        let b = budget();
        // Signatures: Δ = 1, l = 8, ρ = 0.125: σ² = 8 / 0.25 = 32.
        let v = b.variance(Measure::Signatures);
        assert_eq!(v.num as f64 / v.den as f64, 32.0);
        // Amounts: Δ = 100 units, ρ = 0.04: σ² = 80 000 / 0.08 = 1 000 000.
        let v = b.variance(Measure::Amount);
        assert_eq!(v.num as f64 / v.den as f64, 1_000_000.0);
        // Members: σ² = 8 / 0.15, σ ≈ 7.30, threshold 1 + ⌈34.7⌉ = 36.
        assert_eq!(b.threshold(), 36);
    }

    #[test]
    fn epsilon_grows_with_rho_and_shrinking_delta() {
        let e = epsilon_at(0.5, 1e-9);
        assert!((e - (0.5 + 2.0 * (0.5f64 * 1e9f64.ln()).sqrt())).abs() < 1e-12);
        assert!(epsilon_at(1.0, 1e-9) > e);
        assert!(epsilon_at(0.5, 1e-12) > e);
    }

    #[test]
    fn errors_grow_with_the_cells_summed() {
        let b = budget();
        let one = FigureErrors::of(&b, 1, 100, 300, (50.0, 20.0));
        let four = FigureErrors::of(&b, 4, 100, 300, (50.0, 20.0));
        assert!((four.signatures - 2.0 * one.signatures).abs() < 1e-9);
        assert!((one.signatures - 32f64.sqrt()).abs() < 1e-9);
        assert!(one.trust_index.unwrap() > 0.0);
        assert_eq!(
            FigureErrors::of(&b, 1, 0, 0, (50.0, 20.0)).trust_index,
            None
        );
    }
}
