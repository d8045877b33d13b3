//! Turning sums and facts into the metrics analysts read. Pure functions,
//! so the formulas are tested on their own.

use entities::trust_rating::Dimension;

use super::facts::Facts;
use super::query::Sums;

/// The trust index's prior: where a producer with few ratings sits, and how
/// many ratings it takes to move it.
#[derive(Clone, Copy, Debug)]
pub struct Prior {
    /// 0–100.
    pub mean: f64,
    /// In ratings.
    pub weight: f64,
}

/// A score 1–5 on the index's 0–100 scale.
pub fn scale(score: f64) -> f64 {
    (score - 1.0) * 25.0
}

/// The Bayesian trust index: `(w·m + Σ x) / (w + n)`, where the `n` ratings
/// `x` are put on a 0–100 scale, `m` is the prior mean and `w` its weight.
/// `None` without ratings.
pub fn trust_index(prior: Prior, ratings: i64, score_sum: i64) -> Option<f64> {
    if ratings <= 0 {
        return None;
    }
    let n = ratings as f64;
    let sum = scale(score_sum as f64 / n) * n;
    Some(((prior.weight * prior.mean + sum) / (prior.weight + n)).clamp(0.0, 100.0))
}

pub const DIMENSIONS: [Dimension; 4] = [
    Dimension::Transparency,
    Dimension::Fairness,
    Dimension::CommitmentKeeping,
    Dimension::Quality,
];

#[derive(Clone, Debug, PartialEq)]
pub struct DimensionTrust {
    pub dimension: Dimension,
    pub rating_count: i64,
    /// Mean score, 1–5.
    pub mean: Option<f64>,
    /// The dimension's own trust index, 0–100.
    pub trust_index: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pledges {
    pub buy: i64,
    pub avoid: i64,
    pub switch: i64,
    pub reduce: i64,
    /// BUY minus AVOID.
    pub balance: i64,
    pub monthly_amount_cents: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Responses {
    /// Published campaigns aimed at the producers.
    pub campaigns: i64,
    /// Of which answered at least once.
    pub answered: i64,
    /// answered / campaigns.
    pub response_rate: Option<f64>,
    /// Median time from publication to the first response, in hours,
    /// estimated from classes of hours (see [`Facts::median_hours`]).
    pub median_hours_to_first_response: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commitments {
    pub made: i64,
    pub kept: i64,
    pub broken: i64,
    pub open: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub trust_index: Option<f64>,
    pub rating_count: i64,
    pub dimensions: Vec<DimensionTrust>,
    pub signatures: i64,
    pub pledges: Pledges,
    pub responses: Responses,
    pub commitments: Commitments,
}

/// One answer: released, with its member count and metrics, or suppressed.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub suppressed: bool,
    pub member_count: Option<i64>,
    pub metrics: Option<Metrics>,
}

impl Cell {
    pub fn suppressed() -> Self {
        Self {
            suppressed: true,
            member_count: None,
            metrics: None,
        }
    }
}

/// The cell built from released `sums` and the producers' own `facts`. A
/// cell without a released atom is suppressed: it would be built from fewer
/// than k members.
pub fn cell(prior: Prior, sums: Option<&Sums>, facts: &Facts) -> Cell {
    let Some(sums) = sums.filter(|sums| sums.atoms > 0) else {
        return Cell::suppressed();
    };
    let ratings: i64 = sums.ratings.iter().sum();
    let scores: i64 = sums.scores.iter().sum();
    let dimensions = DIMENSIONS
        .iter()
        .enumerate()
        .map(|(i, &dimension)| DimensionTrust {
            dimension,
            rating_count: sums.ratings[i],
            mean: (sums.ratings[i] > 0).then(|| sums.scores[i] as f64 / sums.ratings[i] as f64),
            trust_index: trust_index(prior, sums.ratings[i], sums.scores[i]),
        })
        .collect();
    Cell {
        suppressed: false,
        member_count: Some(sums.members),
        metrics: Some(Metrics {
            trust_index: trust_index(prior, ratings, scores),
            rating_count: ratings,
            dimensions,
            signatures: sums.signatures,
            pledges: Pledges {
                buy: sums.pledges[0],
                avoid: sums.pledges[1],
                switch: sums.pledges[2],
                reduce: sums.pledges[3],
                balance: sums.pledges[0] - sums.pledges[1],
                monthly_amount_cents: sums.pledged_cents,
            },
            responses: Responses {
                campaigns: facts.campaigns,
                answered: facts.answered(),
                response_rate: (facts.campaigns > 0)
                    .then(|| facts.answered() as f64 / facts.campaigns as f64),
                median_hours_to_first_response: facts.median_hours(),
            },
            commitments: Commitments {
                made: facts.commitments_made,
                kept: facts.commitments_kept,
                broken: facts.commitments_broken,
                open: facts.commitments_open,
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIOR: Prior = Prior {
        mean: 50.0,
        weight: 20.0,
    };

    #[test]
    fn five_perfect_ratings_move_the_index_only_a_little() {
        // Five ratings of 5 (100 on the index's scale) against a prior of 50 × 20.
        assert_eq!(trust_index(PRIOR, 5, 25), Some(60.0));
        // A thousand ratings all but overrule the prior.
        let many = trust_index(PRIOR, 1_000, 5_000).unwrap();
        assert!(many > 99.0, "{many}");
        assert_eq!(trust_index(PRIOR, 0, 0), None);
    }

    #[test]
    fn the_index_stays_on_its_scale() {
        for (n, sum) in [(1, 1), (1, 5), (40, 40), (40, 200), (7, 21)] {
            let index = trust_index(PRIOR, n, sum).unwrap();
            assert!((0.0..=100.0).contains(&index), "{n} {sum} {index}");
        }
        // All ones pull below the prior, never below zero.
        assert!(trust_index(PRIOR, 20, 20).unwrap() < 50.0);
    }

    #[test]
    fn a_cell_without_released_atoms_is_suppressed() {
        let facts = Facts::default();
        assert!(cell(PRIOR, None, &facts).suppressed);
        let sums = Sums {
            members: 12,
            atoms: 1,
            signatures: 30,
            ratings: [12, 0, 0, 0],
            scores: [48, 0, 0, 0],
            ..Sums::default()
        };
        let released = cell(PRIOR, Some(&sums), &facts);
        assert!(!released.suppressed);
        assert_eq!(released.member_count, Some(12));
        let metrics = released.metrics.unwrap();
        assert_eq!(metrics.dimensions[0].mean, Some(4.0));
        assert_eq!(metrics.rating_count, 12);
    }
}
