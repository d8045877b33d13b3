//! Pledges: `pledge`, `withdrawPledge`, `markPledgeKept`, and the public
//! totals. Individual pledges are seen by their owner only.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::pledge;

use crate::error::Result;
use crate::graphql::guards::{require_member, state};
use crate::service::{self, validate};

/// What a pledger commits to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "PledgeKind", remote = "entities::pledge::PledgeKind")]
pub enum PledgeKind {
    /// Buy from the producer.
    Buy,
    /// Stop buying from the producer.
    Avoid,
    /// Switch to another producer.
    Switch,
    /// Buy less.
    Reduce,
}

/// `PENDING → ACTIVE → (KEPT | WITHDRAWN)`, or `PENDING → EXPIRED`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "PledgeStatus", remote = "entities::pledge::PledgeStatus")]
pub enum PledgeStatus {
    /// Conditional, waiting for enough pledgers.
    Pending,
    /// In force.
    Active,
    /// Done: the pledger did what they pledged.
    Kept,
    Withdrawn,
    /// The campaign ended before enough members pledged.
    Expired,
}

/// A member's own pledge.
pub struct Pledge(pub pledge::Model);

#[Object]
impl Pledge {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn kind(&self) -> PledgeKind {
        self.0.kind.into()
    }
    async fn status(&self) -> PledgeStatus {
        self.0.status.into()
    }
    async fn monthly_amount_cents(&self) -> Option<i64> {
        self.0.monthly_amount_cents
    }
    /// Pledgers the campaign needs before this pledge activates.
    async fn activation_threshold(&self) -> Option<i32> {
        self.0.activation_threshold
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn activated_at(&self) -> Option<DateTime<Utc>> {
        self.0.activated_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// What a campaign's pledges add up to; no individual is shown.
#[derive(SimpleObject)]
pub struct PledgeTotals {
    /// Pledges pending, active or kept.
    pub pledgers: i64,
    /// Pledges in force.
    pub active: i64,
    /// Monthly amount of the active and kept pledges, in cents; null while
    /// fewer than k of them sum into it, so that no one's amount shows.
    pub monthly_amount_cents: Option<i64>,
}

impl From<service::campaigns::pledge::PledgeTotals> for PledgeTotals {
    fn from(totals: service::campaigns::pledge::PledgeTotals) -> Self {
        Self {
            pledgers: totals.pledgers,
            active: totals.active,
            monthly_amount_cents: totals.monthly_amount_cents,
        }
    }
}

#[derive(InputObject)]
pub struct PledgeInput {
    pub kind: PledgeKind,
    /// Non-negative, at most 1 000 000 (10 000.00).
    pub monthly_amount_cents: Option<i64>,
    /// Make the pledge conditional: it activates once the campaign has this many pledgers.
    pub activation_threshold: Option<i32>,
}

#[derive(Default)]
pub struct PledgeMutation;

#[Object]
impl PledgeMutation {
    /// Pledges to an open campaign; one live pledge per member and campaign.
    async fn pledge(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: PledgeInput,
    ) -> Result<Pledge> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        let new = service::campaigns::pledge::NewPledge {
            kind: input.kind.into(),
            monthly_amount_cents: input.monthly_amount_cents,
            activation_threshold: input.activation_threshold,
        };
        service::campaigns::pledge::pledge(state(ctx), actor, id, new)
            .await
            .map(Pledge)
    }

    /// Withdraws your pending or active pledge.
    async fn withdraw_pledge(&self, ctx: &Context<'_>, pledge_id: ID) -> Result<Pledge> {
        let actor = require_member(ctx).await?;
        let id = validate::id("pledgeId", &pledge_id)?;
        service::campaigns::pledge::withdraw(state(ctx), actor, id)
            .await
            .map(Pledge)
    }

    /// Marks your active pledge as kept.
    async fn mark_pledge_kept(&self, ctx: &Context<'_>, pledge_id: ID) -> Result<Pledge> {
        let actor = require_member(ctx).await?;
        let id = validate::id("pledgeId", &pledge_id)?;
        service::campaigns::pledge::mark_kept(state(ctx), actor, id)
            .await
            .map(Pledge)
    }
}
