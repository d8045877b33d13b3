//! Sponsors and review before a campaign goes public: `sponsorCampaign`,
//! `campaignsInReview`, `approveCampaign`, `rejectCampaign`.

use async_graphql::{Context, ID, Object};
use entities::campaign;

use crate::error::Result;
use crate::graphql::campaign::Campaign;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state};
use crate::service::{campaigns::sponsorship, validate};

#[derive(Default)]
pub struct SponsorshipQuery;

#[Object]
impl SponsorshipQuery {
    /// Campaigns waiting for a moderator; moderators and admins only.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn campaigns_in_review(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Campaign>> {
        let actor = require_member(ctx).await?;
        let select = sponsorship::in_review(actor)?;
        connection::paginate(ctx, select, campaign::Column::Id, first, after, Campaign).await
    }
}

#[derive(Default)]
pub struct SponsorshipMutation;

#[Object]
impl SponsorshipMutation {
    /// Backs a campaign that gathers sponsors, with the code its organiser
    /// shared; needs a confirmed address. Your backing becomes your
    /// signature once it opens.
    async fn sponsor_campaign(&self, ctx: &Context<'_>, code: String) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        sponsorship::sponsor(state(ctx), actor, &code)
            .await
            .map(Campaign)
    }

    /// `IN_REVIEW → OPEN`; moderators and admins only.
    async fn approve_campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        sponsorship::approve(state(ctx), actor, id)
            .await
            .map(Campaign)
    }

    /// `IN_REVIEW → REJECTED` with a public reason; moderators and admins only.
    async fn reject_campaign(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        sponsorship::reject(state(ctx), actor, id, &reason)
            .await
            .map(Campaign)
    }
}
