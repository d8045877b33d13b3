//! Trust ratings: `rateProducer` and the viewer's own ratings of a
//! producer (`Producer.myRatings`). The observatory reads them only through
//! its rollups (`graphql::observatory`).

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::trust_rating;

use crate::error::Result;
use crate::graphql::guards::{client_ip, require_member, state, viewer};
use crate::graphql::producer::Producer;
use crate::service::{producers::rating, validate};

/// A dimension of trust a member rates.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TrustDimension", remote = "entities::trust_rating::Dimension")]
pub enum TrustDimension {
    /// Says openly what it does and how.
    Transparency,
    /// Deals fairly with consumers, workers and suppliers.
    Fairness,
    /// Keeps the commitments it makes.
    CommitmentKeeping,
    /// Makes what it sells well.
    Quality,
}

/// One dimension's score.
#[derive(InputObject)]
pub struct TrustScoreInput {
    pub dimension: TrustDimension,
    /// 1 (no trust) to 5 (full trust).
    pub score: i32,
}

/// A rating of a producer on one to four dimensions.
#[derive(InputObject)]
pub struct TrustRatingInput {
    pub scores: Vec<TrustScoreInput>,
}

/// The viewer's rating of a producer on one dimension for one month.
pub struct TrustRating(pub trust_rating::Model);

#[Object]
impl TrustRating {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn dimension(&self) -> TrustDimension {
        self.0.dimension.into()
    }
    /// 1–5.
    async fn score(&self) -> i32 {
        i32::from(self.0.score)
    }
    /// The calendar month, `YYYY-MM`: rating again this month replaces it.
    async fn period(&self) -> &str {
        &self.0.period
    }
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.producer_id).await
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct RatingMutation;

#[Object]
impl RatingMutation {
    /// Rates a producer 1–5 on one or more dimensions. Rating again within
    /// the same calendar month replaces that month's rating. Rate-limited.
    async fn rate_producer(
        &self,
        ctx: &Context<'_>,
        producer_id: ID,
        input: TrustRatingInput,
    ) -> Result<Vec<TrustRating>> {
        let actor = require_member(ctx).await?;
        let id = validate::id("producerId", &producer_id)?;
        let scores = input
            .scores
            .into_iter()
            .map(|score| rating::Score {
                dimension: score.dimension.into(),
                score: score.score,
            })
            .collect();
        let saved = rating::rate(state(ctx), actor, Some(client_ip(ctx)?), id, scores).await?;
        Ok(saved.into_iter().map(TrustRating).collect())
    }
}

/// The viewer's ratings of a producer this month.
pub async fn viewer_ratings(
    ctx: &Context<'_>,
    producer_id: uuid::Uuid,
) -> Result<Vec<TrustRating>> {
    let Some(viewer) = viewer(ctx).await? else {
        return Ok(Vec::new());
    };
    let period = rating::current_period();
    Ok(
        rating::of_member(&state(ctx).db, viewer.id, producer_id, &period)
            .await?
            .into_iter()
            .map(TrustRating)
            .collect(),
    )
}
