//! Campaigns changed over GraphQL: `createCampaign`, `updateCampaign`,
//! `publishCampaign`, `closeCampaign` and the rest of the organiser's
//! mutations, and their inputs.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::graphql::guards::{require_creator, require_member, state};
use crate::service::{self, validate};

use crate::graphql::campaign::{Campaign, CampaignKind, CampaignOutcome};

#[derive(InputObject)]
pub struct CreateCampaignInput {
    pub kind: CampaignKind,
    /// 5-140 characters.
    pub title: String,
    /// 10-280 characters.
    pub summary: String,
    /// Up to 20 000 characters.
    pub body: String,
    /// The producer aimed at; may be left out when `brandId` names a brand
    /// with a known owner (the campaign then aims at that owner).
    pub producer_id: Option<ID>,
    /// The brand the campaign is about; its products are in conflict with
    /// the campaign on the shelf (`conflicts`).
    pub brand_id: Option<ID>,
    pub community_id: Option<ID>,
    /// Supporters aimed for, 1 to 100 000 000.
    pub goal: Option<i32>,
    /// In the future, at most five years away.
    pub deadline: Option<DateTime<Utc>>,
    /// Slugs of the values the campaign stands for (at most 10).
    #[graphql(default)]
    pub value_tags: Vec<String>,
    /// CO_CREATION only: votes a proposal needs to be selected.
    pub selection_threshold: Option<i32>,
    /// CO_CREATION only: what contributors get (recognition, a share, a
    /// product named after them), up to 2 000 characters.
    pub reward_description: Option<String>,
    /// Where the action applies (ISO 3166), if anywhere in particular.
    pub territory: Option<String>,
    /// `en` or `fr`; by default your language.
    pub language: Option<String>,
    /// Counted signatures at which the producer is asked to answer: at
    /// least `CONSUMACT_RESPONSE_THRESHOLD_MIN`; by default
    /// `CONSUMACT_RESPONSE_THRESHOLD`.
    pub response_threshold: Option<i32>,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateCampaignInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub goal: Option<i32>,
    pub deadline: Option<DateTime<Utc>>,
    /// Replaces the campaign's value tags.
    pub value_tags: Option<Vec<String>>,
    pub selection_threshold: Option<i32>,
    /// CO_CREATION only; an empty text removes it.
    pub reward_description: Option<String>,
    /// An empty text removes it.
    pub territory: Option<String>,
    pub language: Option<String>,
    /// Until the campaign has requested an answer (`CONFLICT` after).
    pub response_threshold: Option<i32>,
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Drafts a campaign; the caller becomes its organiser.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        input: CreateCampaignInput,
    ) -> Result<Campaign> {
        let actor = require_creator(ctx).await?;
        let new = service::campaigns::campaign::NewCampaign {
            kind: input.kind.into(),
            title: input.title,
            summary: input.summary,
            body: input.body,
            producer_id: input
                .producer_id
                .map(|id| validate::id("input.producerId", &id))
                .transpose()?,
            brand_id: input
                .brand_id
                .map(|id| validate::id("input.brandId", &id))
                .transpose()?,
            community_id: input
                .community_id
                .map(|id| validate::id("input.communityId", &id))
                .transpose()?,
            goal: input.goal,
            deadline: input.deadline,
            value_tags: input.value_tags,
            selection_threshold: input.selection_threshold,
            reward_description: input.reward_description,
            territory: input.territory,
            language: input.language,
            response_threshold: input.response_threshold,
        };
        service::campaigns::campaign::create(state(ctx), actor, new)
            .await
            .map(Campaign)
    }

    /// Edits a draft or open campaign; its organiser or an admin only.
    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCampaignInput,
    ) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        let changes = service::campaigns::campaign::CampaignChanges {
            title: input.title,
            summary: input.summary,
            body: input.body,
            goal: input.goal,
            deadline: input.deadline,
            value_tags: input.value_tags,
            selection_threshold: input.selection_threshold,
            reward_description: input.reward_description,
            territory: input.territory,
            language: input.language,
            response_threshold: input.response_threshold,
        };
        service::campaigns::campaign::update(state(ctx), actor, id, changes)
            .await
            .map(Campaign)
    }

    /// `DRAFT → OPEN`, or `SPONSORING` / `IN_REVIEW` first when the
    /// instance asks for sponsors or review. Needs a confirmed address.
    async fn publish_campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::campaigns::campaign::publish(state(ctx), actor, id)
            .await
            .map(Campaign)
    }

    /// `OPEN → VICTORY | CLOSED`.
    async fn close_campaign(
        &self,
        ctx: &Context<'_>,
        id: ID,
        outcome: CampaignOutcome,
    ) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        let outcome = match outcome {
            CampaignOutcome::Victory => service::campaigns::campaign::Outcome::Victory,
            CampaignOutcome::Closed => service::campaigns::campaign::Outcome::Closed,
        };
        service::campaigns::campaign::close(state(ctx), actor, id, outcome)
            .await
            .map(Campaign)
    }
}
