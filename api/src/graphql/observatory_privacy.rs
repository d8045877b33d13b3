//! `observatory { privacy }`: how the observatory protects its members,
//! and in the differentially private release, the published ledger of
//! what each released month spent. Open to everyone: it holds parameters
//! and counts of cells, nothing about any member.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::config::PrivacyMode;
use crate::error::{AppError, Result};
use crate::graphql::guards::state;
use crate::service::observatory::release::{self, budget, ledger};

/// The observatory's release mode.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ObservatoryPrivacyMode {
    /// Cells of fewer than k members are left out of every figure.
    Suppression,
    /// Closed months released once with calibrated noise, then frozen.
    Dp,
}

/// What one released month spent on one measure.
#[derive(SimpleObject)]
pub struct MeasureSpend {
    /// `members`, `signatures`, `ratings_<dimension>`, `scores_<dimension>`,
    /// `pledges_<kind>` or `pledged_amount`.
    pub measure: String,
    pub rho: f64,
    /// Most one member moves this measure in one producer's cell.
    pub sensitivity: i64,
    /// The discrete Gaussian's σ, in the measure's unit (amounts: whole
    /// units of 100 cents).
    pub standard_deviation: f64,
}

/// One released month.
#[derive(SimpleObject)]
pub struct ReleasedPeriod {
    /// `YYYY-MM-01`.
    pub period: String,
    pub released_at: DateTime<Utc>,
    pub code_version: String,
    pub mechanism: String,
    pub rho: f64,
    pub max_producers_per_member: i32,
    pub pledge_cap_cents: i64,
    /// The noisy member count a cell needed to be published.
    pub threshold: i64,
    /// Producers that got noise (every producer known at release).
    pub producers: i64,
    /// Cells published.
    pub published: i64,
    pub measures: Vec<MeasureSpend>,
    /// The month's cells as CSV, at a stable address.
    pub data_url: String,
    /// The month's data card (JSON): columns, method, guarantee, licence.
    pub card_url: String,
}

/// What one member may contribute to one month's release.
#[derive(SimpleObject)]
pub struct ContributionBounds {
    /// Producers one member counts for (chosen at random beyond).
    pub max_producers_per_member: u32,
    /// Per producer: one signature, one pledge of each kind, one rating
    /// of each dimension (scores 1–5), and at most this much pledged.
    pub signatures_per_producer: u32,
    pub pledges_per_kind: u32,
    pub ratings_per_dimension: u32,
    pub pledge_cap_cents: u64,
}

/// How the observatory protects its members.
pub struct ObservatoryPrivacy;

#[Object]
impl ObservatoryPrivacy {
    async fn mode(&self, ctx: &Context<'_>) -> ObservatoryPrivacyMode {
        match state(ctx).config.privacy.observatory_privacy {
            PrivacyMode::Suppression => ObservatoryPrivacyMode::Suppression,
            PrivacyMode::Dp => ObservatoryPrivacyMode::Dp,
        }
    }

    async fn mechanism(&self, ctx: &Context<'_>) -> String {
        let config = &state(ctx).config;
        match config.privacy.observatory_privacy {
            PrivacyMode::Suppression => {
                format!("k-anonymous suppression, k = {}", config.observatory_k)
            }
            PrivacyMode::Dp => release::MECHANISM.to_owned(),
        }
    }

    /// ρ one month's release spends (zCDP); null under suppression.
    async fn rho_per_period(&self, ctx: &Context<'_>) -> Option<f64> {
        let privacy = &state(ctx).config.privacy;
        privacy.dp().then(|| privacy.dp_rho.value())
    }

    /// The total ρ all releases may spend.
    async fn rho_total(&self, ctx: &Context<'_>) -> Option<f64> {
        let privacy = &state(ctx).config.privacy;
        privacy.dp().then(|| privacy.dp_rho_total.value())
    }

    /// The ε of (ε, δ)-differential privacy one month's ρ gives, at `delta`
    /// (ε = ρ + 2 √(ρ ln(1/δ))); null under suppression.
    async fn epsilon_at_delta(&self, ctx: &Context<'_>, delta: f64) -> Result<Option<f64>> {
        check_delta(delta)?;
        let privacy = &state(ctx).config.privacy;
        Ok(privacy
            .dp()
            .then(|| budget::epsilon_at(privacy.dp_rho.value(), delta)))
    }

    /// The same for everything released so far together (its ρ spent).
    async fn epsilon_spent_at_delta(&self, ctx: &Context<'_>, delta: f64) -> Result<Option<f64>> {
        check_delta(delta)?;
        let ledger = read(ctx).await?;
        Ok(ledger.map(|ledger| {
            let spent: f64 = ledger.spent.parse().unwrap_or(f64::INFINITY);
            if spent == 0.0 {
                0.0
            } else {
                budget::epsilon_at(spent, delta)
            }
        }))
    }

    async fn rho_spent(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(read(ctx).await?.and_then(|l| l.spent.parse().ok()))
    }

    async fn rho_remaining(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(read(ctx).await?.and_then(|l| l.remaining.parse().ok()))
    }

    /// Why the next month would not be released, when the budget left
    /// cannot pay for it.
    async fn refusal(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(read(ctx).await?.and_then(|l| l.refusal))
    }

    /// The noisy member count a cell needs to be published.
    async fn threshold(&self, ctx: &Context<'_>) -> Option<i64> {
        let privacy = &state(ctx).config.privacy;
        privacy
            .dp()
            .then(|| budget::Budget::of(privacy).threshold())
    }

    async fn contribution_bounds(&self, ctx: &Context<'_>) -> Option<ContributionBounds> {
        let privacy = &state(ctx).config.privacy;
        privacy.dp().then_some(ContributionBounds {
            max_producers_per_member: privacy.dp_max_producers,
            signatures_per_producer: 1,
            pledges_per_kind: 1,
            ratings_per_dimension: 1,
            pledge_cap_cents: privacy.dp_pledge_cap_cents,
        })
    }

    /// Every released month, oldest first (the ledger).
    async fn periods_released(&self, ctx: &Context<'_>) -> Result<Vec<ReleasedPeriod>> {
        let Some(ledger) = read(ctx).await? else {
            return Ok(Vec::new());
        };
        Ok(ledger.periods.into_iter().map(released_period).collect())
    }
}

fn check_delta(delta: f64) -> Result<()> {
    if delta > 0.0 && delta < 1.0 {
        Ok(())
    } else {
        Err(AppError::invalid(
            "delta",
            "delta must lie strictly between 0 and 1",
        ))
    }
}

async fn read(ctx: &Context<'_>) -> Result<Option<ledger::Ledger>> {
    let state = state(ctx);
    let privacy = &state.config.privacy;
    if !privacy.dp() {
        return Ok(None);
    }
    Ok(Some(
        ledger::read(
            &state.observatory_db,
            &privacy.dp_rho,
            &privacy.dp_rho_total,
        )
        .await?,
    ))
}

pub fn released_period(period: ledger::PeriodRelease) -> ReleasedPeriod {
    let month = period.period.get(..7).unwrap_or_default().to_owned();
    ReleasedPeriod {
        data_url: format!("/observatory/releases/{month}.csv"),
        card_url: format!("/observatory/releases/{month}.json"),
        period: period.period,
        released_at: period.released_at,
        code_version: period.code_version,
        mechanism: period.mechanism,
        rho: period.rho.parse().unwrap_or(f64::NAN),
        max_producers_per_member: period.max_producers,
        pledge_cap_cents: period.pledge_cap_cents,
        threshold: period.threshold,
        producers: period.producers,
        published: period.published,
        measures: period
            .measures
            .into_iter()
            .map(|m| MeasureSpend {
                measure: m.measure,
                rho: m.rho,
                sensitivity: m.sensitivity,
                standard_deviation: m.standard_deviation,
            })
            .collect(),
    }
}
