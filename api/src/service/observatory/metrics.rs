//! Turning sums and facts into the metrics analysts read. Pure functions,
//! so the formulas are tested on their own.

use entities::trust_rating::Dimension;

use super::atoms::Sums;
use super::facts::Facts;

pub use super::atoms::{Prior, scale, trust_index};

pub const DIMENSIONS: [Dimension; 4] = [
    Dimension::Transparency,
    Dimension::Fairness,
    Dimension::CommitmentKeeping,
    Dimension::Quality,
];

/// Whether a count of members may be published under the k-rule: at
/// least `k`. Fewer, none included, is null: "fewer than k" says nothing
/// of whether anyone at all rated or pledged, which a 0 beside a null
/// would.
pub fn publishable(count: i64, k: i64) -> bool {
    count >= k
}

/// Which of `parts` may be published beside their `total` (published
/// too), so that no figure is built from fewer than `k` members, directly
/// or by subtraction: a part shows when it is [`publishable`]; then, while
/// the total less the shown parts (what is withheld) is between 1 and
/// `k - 1`, the smallest shown part is withheld too (complementary
/// suppression). Ties keep back the later part.
pub fn shown_parts(total: i64, parts: &[i64], k: i64) -> Vec<bool> {
    let mut shown: Vec<bool> = parts.iter().map(|part| publishable(*part, k)).collect();
    let mut withheld = total
        - parts
            .iter()
            .zip(&shown)
            .filter(|(_, shown)| **shown)
            .map(|(part, _)| part)
            .sum::<i64>();
    while withheld > 0 && withheld < k {
        let smallest = (0..parts.len())
            .filter(|i| shown[*i] && parts[*i] > 0)
            .min_by(|a, b| parts[*a].cmp(&parts[*b]).then(b.cmp(a)));
        let Some(i) = smallest else { break };
        shown[i] = false;
        withheld += parts[i];
    }
    shown
}

/// A rating dimension. Its figures are null (`suppressed`) when fewer than
/// k ratings of the cell fall in it, or when showing it would let the
/// cell's totals less the other dimensions give back a dimension that has.
#[derive(Clone, Debug, PartialEq)]
pub struct DimensionTrust {
    pub dimension: Dimension,
    pub suppressed: bool,
    pub rating_count: Option<i64>,
    /// Mean score, 1–5.
    pub mean: Option<f64>,
    /// The dimension's own trust index, 0–100.
    pub trust_index: Option<f64>,
}

/// Pledges by kind: a kind with fewer than k pledges is null, the balance
/// shows only when both its terms do, and the amount only when at least k
/// pledges sum into it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pledges {
    pub buy: Option<i64>,
    pub avoid: Option<i64>,
    pub switch: Option<i64>,
    pub reduce: Option<i64>,
    /// BUY minus AVOID.
    pub balance: Option<i64>,
    pub monthly_amount_cents: Option<i64>,
}

/// `part / whole`, when there is a whole.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
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
    /// Campaigns whose count requested an answer.
    pub requested: i64,
    /// Of which answered by the due date.
    pub answered_on_time: i64,
    /// Of which unanswered past the due date.
    pub overdue: i64,
    /// answered_on_time / requested.
    pub on_time_rate: Option<f64>,
    /// overdue / requested.
    pub overdue_rate: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commitments {
    pub made: i64,
    pub kept: i64,
    pub broken: i64,
    pub open: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrustMetrics {
    /// Null with fewer than k ratings in the cell.
    pub trust_index: Option<f64>,
    pub rating_count: Option<i64>,
    pub dimensions: Vec<DimensionTrust>,
    pub signatures: i64,
    pub pledges: Pledges,
    pub responses: Responses,
    pub commitments: Commitments,
    /// Standard errors of the noisy figures (the release only).
    pub errors: Option<super::release::budget::FigureErrors>,
}

/// One answer: released, with its member count and metrics, or suppressed.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub suppressed: bool,
    pub member_count: Option<i64>,
    pub metrics: Option<TrustMetrics>,
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
/// than k members. Inside a released cell, each member-contributed figure
/// follows the k-rule on its own (see [`DimensionTrust`], [`Pledges`]).
pub fn cell(prior: Prior, k: i64, sums: Option<&Sums>, facts: &Facts) -> Cell {
    let Some(sums) = sums.filter(|sums| sums.atoms > 0) else {
        return Cell::suppressed();
    };
    let ratings: i64 = sums.ratings.iter().sum();
    let scores: i64 = sums.scores.iter().sum();
    let rated = publishable(ratings, k);
    let shown = if rated {
        shown_parts(ratings, &sums.ratings, k)
    } else {
        vec![false; DIMENSIONS.len()]
    };
    let dimensions = DIMENSIONS
        .iter()
        .enumerate()
        .map(|(i, &dimension)| {
            if shown[i] {
                DimensionTrust {
                    dimension,
                    suppressed: false,
                    rating_count: Some(sums.ratings[i]),
                    mean: (sums.ratings[i] > 0)
                        .then(|| sums.scores[i] as f64 / sums.ratings[i] as f64),
                    trust_index: trust_index(prior, sums.ratings[i], sums.scores[i]),
                }
            } else {
                DimensionTrust {
                    dimension,
                    suppressed: true,
                    rating_count: None,
                    mean: None,
                    trust_index: None,
                }
            }
        })
        .collect();
    let kind = |i: usize| publishable(sums.pledges[i], k).then_some(sums.pledges[i]);
    let pledges = Pledges {
        buy: kind(0),
        avoid: kind(1),
        switch: kind(2),
        reduce: kind(3),
        balance: kind(0).zip(kind(1)).map(|(buy, avoid)| buy - avoid),
        monthly_amount_cents: publishable(sums.pledges.iter().sum::<i64>(), k)
            .then_some(sums.pledged_cents),
    };
    Cell {
        suppressed: false,
        member_count: Some(sums.members),
        metrics: Some(TrustMetrics {
            trust_index: if rated {
                trust_index(prior, ratings, scores)
            } else {
                None
            },
            rating_count: rated.then_some(ratings),
            dimensions,
            signatures: sums.signatures,
            pledges,
            responses: Responses {
                campaigns: facts.campaigns,
                answered: facts.answered(),
                response_rate: (facts.campaigns > 0)
                    .then(|| facts.answered() as f64 / facts.campaigns as f64),
                median_hours_to_first_response: facts.median_hours(),
                requested: facts.responses_requested,
                answered_on_time: facts.responses_on_time,
                overdue: facts.responses_overdue,
                on_time_rate: share(facts.responses_on_time, facts.responses_requested),
                overdue_rate: share(facts.responses_overdue, facts.responses_requested),
            },
            commitments: Commitments {
                made: facts.commitments_made,
                kept: facts.commitments_kept,
                broken: facts.commitments_broken,
                open: facts.commitments_open,
            },
            errors: None,
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
        assert!(cell(PRIOR, 10, None, &facts).suppressed);
        let sums = Sums {
            members: 12,
            atoms: 1,
            signatures: 30,
            ratings: [12, 0, 0, 0],
            scores: [48, 0, 0, 0],
            ..Sums::default()
        };
        let released = cell(PRIOR, 10, Some(&sums), &facts);
        assert!(!released.suppressed);
        assert_eq!(released.member_count, Some(12));
        let metrics = released.metrics.unwrap();
        assert_eq!(metrics.dimensions[0].mean, Some(4.0));
        assert_eq!(metrics.rating_count, Some(12));
    }

    #[test]
    fn a_single_rater_or_pledger_in_a_released_cell_shows_nothing_of_theirs() {
        let facts = Facts::default();
        // Twelve signers released the cell; one member rated and pledged.
        let sums = Sums {
            members: 12,
            atoms: 1,
            signatures: 12,
            ratings: [0, 0, 0, 1],
            scores: [0, 0, 0, 2],
            pledges: [1, 0, 0, 0],
            pledged_cents: 4_200,
        };
        let metrics = cell(PRIOR, 10, Some(&sums), &facts).metrics.unwrap();
        assert_eq!(metrics.signatures, 12);
        assert_eq!(metrics.rating_count, None);
        assert_eq!(metrics.trust_index, None);
        assert!(metrics.dimensions.iter().all(|d| d.suppressed
            && d.mean.is_none()
            && d.rating_count.is_none()
            && d.trust_index.is_none()));
        assert_eq!(metrics.pledges, Pledges::default());
    }

    #[test]
    fn no_dimension_comes_back_from_the_total_less_the_others() {
        let facts = Facts::default();
        // Quality has 3 ratings: alone, the total (33) less the three
        // shown dimensions would give it back, so the smallest shown
        // dimension (of the ties, the later: commitment keeping) is kept
        // back with it.
        let sums = Sums {
            members: 30,
            atoms: 1,
            ratings: [10, 10, 10, 3],
            scores: [40, 30, 20, 3],
            pledges: [12, 2, 10, 0],
            pledged_cents: 10_000,
            ..Sums::default()
        };
        let metrics = cell(PRIOR, 10, Some(&sums), &facts).metrics.unwrap();
        let shown: Vec<bool> = metrics.dimensions.iter().map(|d| !d.suppressed).collect();
        assert_eq!(shown, [true, true, false, false]);
        let withheld = metrics.rating_count.unwrap()
            - metrics
                .dimensions
                .iter()
                .filter_map(|d| d.rating_count)
                .sum::<i64>();
        assert!(withheld >= 10, "{withheld}");
        // AVOID has 2 pledges: null, and so is the balance that would
        // give it back; 24 pledges sum into the amount.
        assert_eq!(
            metrics.pledges,
            Pledges {
                buy: Some(12),
                avoid: None,
                switch: Some(10),
                reduce: None,
                balance: None,
                monthly_amount_cents: Some(10_000),
            }
        );
    }

    #[test]
    fn shown_parts_never_leave_a_small_remainder() {
        for k in 2..6_i64 {
            for a in 0..8_i64 {
                for b in 0..8_i64 {
                    for c in 0..8_i64 {
                        for extra in 0..3_i64 {
                            let parts = [a, b, c];
                            let total = a + b + c + extra;
                            let shown = shown_parts(total, &parts, k);
                            let published: i64 = parts
                                .iter()
                                .zip(&shown)
                                .filter(|(_, s)| **s)
                                .map(|(p, _)| p)
                                .sum();
                            let withheld = total - published;
                            assert!(
                                withheld == 0 || withheld >= k || !shown.contains(&true),
                                "{parts:?}+{extra} k={k}: {shown:?}"
                            );
                            for (part, s) in parts.iter().zip(&shown) {
                                assert!(!s || publishable(*part, k));
                            }
                        }
                    }
                }
            }
        }
    }
}
