//! Whom a campaign aims at over time: `Campaign.brand`, `Campaign.targets`
//! and `escalateCampaign`, which moves an open campaign from its target to
//! an owner of it (see `service::campaigns::campaign::target`).

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::{brand, campaign};
use sea_orm::EntityTrait;

use crate::error::Result;
use crate::graphql::campaign::Campaign;
use crate::graphql::catalogue::Brand;
use crate::graphql::guards::{require_member, state};
use crate::graphql::producer::Producer;
use crate::service::campaigns::campaign::target as service;
use crate::service::validate;

/// One of a campaign's targets, with the time it was aimed at.
pub struct CampaignTarget(pub service::Target);

#[Object]
impl CampaignTarget {
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.producer_id).await
    }
    /// When the campaign started aiming at it (its creation, or the
    /// escalation to it).
    async fn since(&self) -> DateTime<Utc> {
        self.0.since
    }
    /// When an escalation moved the campaign on; null for the target now.
    async fn until(&self) -> Option<DateTime<Utc>> {
        self.0.until
    }
    /// The organiser's reason for escalating to it; null for the first.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

/// The brand `found` is about, if it names one.
pub(crate) async fn brand_of(ctx: &Context<'_>, found: &campaign::Model) -> Result<Option<Brand>> {
    let Some(id) = found.brand_id else {
        return Ok(None);
    };
    Ok(brand::Entity::find_by_id(id)
        .one(&state(ctx).db)
        .await?
        .map(Brand))
}

/// `found`'s targets, first to now.
pub(crate) async fn targets_of(
    ctx: &Context<'_>,
    found: &campaign::Model,
) -> Result<Vec<CampaignTarget>> {
    Ok(service::history(&state(ctx).db, found)
        .await?
        .into_iter()
        .map(CampaignTarget)
        .collect())
}

#[derive(InputObject)]
pub struct EscalateCampaignInput {
    pub campaign_id: ID,
    /// An owner above the target, however far up; by default its direct
    /// parent in the ownership graph.
    pub to_producer_id: Option<ID>,
    /// Why (10-2 000 characters), shown with the campaign's targets.
    pub reason: String,
}

#[derive(Default)]
pub struct CampaignTargetMutation;

#[Object]
impl CampaignTargetMutation {
    /// Moves an open campaign from its target to an owner of it; its
    /// organiser or an admin. Signatures and pledges made before stay
    /// counted for the former target; the response request stays with the
    /// producer it asked. `CONFLICT` when the target has no known owner.
    async fn escalate_campaign(
        &self,
        ctx: &Context<'_>,
        input: EscalateCampaignInput,
    ) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let escalation = service::Escalation {
            campaign_id: validate::id("input.campaignId", &input.campaign_id)?,
            to_producer_id: input
                .to_producer_id
                .map(|id| validate::id("input.toProducerId", &id))
                .transpose()?,
            reason: input.reason,
        };
        service::escalate(state(ctx), actor, escalation)
            .await
            .map(Campaign)
    }
}
