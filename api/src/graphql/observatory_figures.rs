//! The figures of one observatory cell as GraphQL shows them: trust by
//! dimension, pledges, answers and response requests, commitments. Each
//! mirrors `service::observatory::metrics`, which applies the k-rule.

use async_graphql::SimpleObject;

use crate::graphql::rating::TrustDimension;
use crate::service::observatory::metrics;
use crate::service::observatory::release::budget::FigureErrors;

/// Trust on one dimension. Its figures are null and `suppressed` is true
/// when fewer than k ratings of the cell fall in it, or when the cell's
/// totals less the other dimensions would give back one that has.
#[derive(SimpleObject)]
pub struct DimensionTrust {
    pub dimension: TrustDimension,
    pub suppressed: bool,
    pub rating_count: Option<i64>,
    /// Mean score, 1–5.
    pub mean: Option<f64>,
    /// This dimension's own trust index, 0–100.
    pub trust_index: Option<f64>,
}

/// Buying pledges made (and not withdrawn). A kind with fewer than k
/// pledges in the cell is null; so is the balance unless both its terms
/// show, and the amount unless at least k pledges sum into it.
#[derive(SimpleObject)]
pub struct PledgeBalance {
    pub buy: Option<i64>,
    pub avoid: Option<i64>,
    pub switch: Option<i64>,
    pub reduce: Option<i64>,
    /// BUY minus AVOID.
    pub balance: Option<i64>,
    /// Monthly amounts pledged, in cents.
    pub monthly_amount_cents: Option<i64>,
}

/// How producers answer the campaigns aimed at them.
#[derive(SimpleObject)]
pub struct ResponseStats {
    /// Published campaigns aimed at the producers.
    pub campaigns: i64,
    /// Of which answered at least once.
    pub answered: i64,
    /// answered / campaigns, 0–1.
    pub response_rate: Option<f64>,
    /// Median hours from publication to the first response, estimated from
    /// the answers counted in classes of hours (bounds 1, 2, 3, 4, 6, 8, 12,
    /// 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720 and 1 440): the
    /// class holding the middle answer, linearly within it; 1 440 when the
    /// middle answer took 60 days or more.
    pub median_hours_to_first_response: Option<f64>,
    /// Campaigns whose count reached their response threshold and
    /// requested an answer (withdrawn and voided requests left out).
    pub requested: i64,
    /// Of which answered by the due date.
    pub answered_on_time: i64,
    /// Of which unanswered past the due date.
    pub overdue: i64,
    /// answeredOnTime / requested, 0–1.
    pub on_time_rate: Option<f64>,
    /// overdue / requested, 0–1.
    pub overdue_rate: Option<f64>,
}

/// Commitments made in responses, and how they ended.
#[derive(SimpleObject)]
pub struct CommitmentStats {
    pub made: i64,
    pub kept: i64,
    pub broken: i64,
    pub open: i64,
}

/// Standard errors of a cell's figures, from the noise of the released
/// cells summed into it (variances add); a 95 % interval is the figure
/// ± 1.96 standard errors. Only in the differentially private release.
#[derive(SimpleObject)]
pub struct StandardErrors {
    pub member_count: f64,
    pub signatures: f64,
    pub rating_count: f64,
    /// Of the trust index (delta method); null without ratings.
    pub trust_index: Option<f64>,
    pub pledges_buy: f64,
    pub pledges_avoid: f64,
    pub pledges_switch: f64,
    pub pledges_reduce: f64,
    pub monthly_amount_cents: f64,
}

impl From<FigureErrors> for StandardErrors {
    fn from(e: FigureErrors) -> Self {
        StandardErrors {
            member_count: e.member_count,
            signatures: e.signatures,
            rating_count: e.rating_count,
            trust_index: e.trust_index,
            pledges_buy: e.pledges[0],
            pledges_avoid: e.pledges[1],
            pledges_switch: e.pledges[2],
            pledges_reduce: e.pledges[3],
            monthly_amount_cents: e.monthly_amount_cents,
        }
    }
}

/// The metrics of one cell.
#[derive(SimpleObject)]
pub struct TrustMetrics {
    /// Bayesian trust index, 0–100: the ratings' mean pulled towards the
    /// prior by its weight (see `Observatory.prior`). Null with fewer than
    /// k ratings in the cell.
    pub trust_index: Option<f64>,
    /// Null with fewer than k ratings in the cell.
    pub rating_count: Option<i64>,
    pub dimensions: Vec<DimensionTrust>,
    /// Signatures on campaigns aimed at the producers.
    pub signatures: i64,
    pub pledges: PledgeBalance,
    pub responses: ResponseStats,
    pub commitments: CommitmentStats,
    /// The figures' standard errors, in the differentially private release
    /// (`observatory { privacy { mode } }` is `dp`); null under suppression.
    pub standard_errors: Option<StandardErrors>,
}

impl From<metrics::TrustMetrics> for TrustMetrics {
    fn from(m: metrics::TrustMetrics) -> Self {
        TrustMetrics {
            trust_index: m.trust_index,
            rating_count: m.rating_count,
            dimensions: m
                .dimensions
                .into_iter()
                .map(|d| DimensionTrust {
                    dimension: d.dimension.into(),
                    suppressed: d.suppressed,
                    rating_count: d.rating_count,
                    mean: d.mean,
                    trust_index: d.trust_index,
                })
                .collect(),
            signatures: m.signatures,
            pledges: PledgeBalance {
                buy: m.pledges.buy,
                avoid: m.pledges.avoid,
                switch: m.pledges.switch,
                reduce: m.pledges.reduce,
                balance: m.pledges.balance,
                monthly_amount_cents: m.pledges.monthly_amount_cents,
            },
            responses: ResponseStats {
                campaigns: m.responses.campaigns,
                answered: m.responses.answered,
                response_rate: m.responses.response_rate,
                median_hours_to_first_response: m.responses.median_hours_to_first_response,
                requested: m.responses.requested,
                answered_on_time: m.responses.answered_on_time,
                overdue: m.responses.overdue,
                on_time_rate: m.responses.on_time_rate,
                overdue_rate: m.responses.overdue_rate,
            },
            commitments: CommitmentStats {
                made: m.commitments.made,
                kept: m.commitments.kept,
                broken: m.commitments.broken,
                open: m.commitments.open,
            },
            standard_errors: m.errors.map(Into::into),
        }
    }
}
