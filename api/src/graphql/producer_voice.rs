//! The producer's voice: `claimProducer`, `decideProducerClaim`,
//! `respondToCampaign`, `reviewCommitment`, `closeCommitment`,
//! `postCampaignUpdate`, and the types they return.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::{campaign_update, producer_representative, producer_response};

use crate::error::{AppError, Result};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_creator, require_member, state};
use crate::graphql::loaders::{DbLoader, MemberById};
use crate::graphql::member::Member;
use crate::graphql::producer::Producer;
use crate::service::{self, validate};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ClaimStatus",
    remote = "entities::producer_representative::ClaimStatus"
)]
pub enum ClaimStatus {
    Pending,
    Approved,
    Rejected,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "CommitmentStatus",
    remote = "entities::producer_response::CommitmentStatus"
)]
pub enum CommitmentStatus {
    /// Awaiting its due date and the signers' review.
    Pending,
    Kept,
    Broken,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "CommitmentVerdict",
    remote = "entities::commitment_review::Verdict"
)]
pub enum CommitmentVerdict {
    Kept,
    Broken,
}

/// A member's claim to speak for a producer.
pub struct ProducerClaim(pub producer_representative::Model);

#[Object]
impl ProducerClaim {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> ClaimStatus {
        self.0.status.into()
    }
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.producer_id).await
    }
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        Ok(loader
            .load_one(MemberById(self.0.member_id))
            .await?
            .map(Member))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
}

/// A producer's public answer to a campaign.
pub struct ProducerResponse(pub producer_response::Model);

#[Object]
impl ProducerResponse {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.producer_id).await
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// What the producer commits to, if anything.
    async fn commitment(&self) -> Option<&str> {
        self.0.commitment.as_deref()
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    async fn commitment_status(&self) -> Option<CommitmentStatus> {
        self.0.commitment_status.map(Into::into)
    }
    /// Signers who found the commitment kept.
    async fn kept_reviews(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(
            service::producers::producer_voice::reviews(&state(ctx).db, self.0.id)
                .await?
                .kept,
        )
    }
    /// Signers who found the commitment broken.
    async fn broken_reviews(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(
            service::producers::producer_voice::reviews(&state(ctx).db, self.0.id)
                .await?
                .broken,
        )
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn commitment_closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.commitment_closed_at
    }
}

/// Organiser news on a campaign.
pub struct CampaignUpdate(pub campaign_update::Model);

#[Object]
impl CampaignUpdate {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct ProducerResponseInput {
    /// Up to 10 000 characters.
    pub body: String,
    /// What the producer commits to (up to 2 000 characters).
    pub commitment: Option<String>,
    /// When the commitment is due; needs a commitment.
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct CampaignUpdateInput {
    pub title: String,
    pub body: String,
}

#[derive(Default)]
pub struct ProducerVoiceQuery;

#[Object]
impl ProducerVoiceQuery {
    /// Producer claims of one status (PENDING by default), newest first; admins only.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn producer_claims(
        &self,
        ctx: &Context<'_>,
        status: Option<ClaimStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ProducerClaim>> {
        if !require_member(ctx).await?.is_admin() {
            return Err(AppError::Forbidden(
                "only admins see producer claims".into(),
            ));
        }
        let status = status.unwrap_or(ClaimStatus::Pending).into();
        let select = service::producers::producer_voice::claims(status);
        connection::paginate(
            ctx,
            select,
            producer_representative::Column::Id,
            first,
            after,
            ProducerClaim,
        )
        .await
    }
}

#[derive(Default)]
pub struct ProducerVoiceMutation;

#[Object]
impl ProducerVoiceMutation {
    /// Asks to speak for a producer; an admin decides.
    async fn claim_producer(&self, ctx: &Context<'_>, producer_id: ID) -> Result<ProducerClaim> {
        let actor = require_creator(ctx).await?;
        let id = validate::id("producerId", &producer_id)?;
        service::producers::producer_voice::claim(state(ctx), actor, id)
            .await
            .map(ProducerClaim)
    }

    /// Approves or rejects a pending claim; admins only.
    async fn decide_producer_claim(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        approve: bool,
    ) -> Result<ProducerClaim> {
        let actor = require_member(ctx).await?;
        let id = validate::id("claimId", &claim_id)?;
        service::producers::producer_voice::decide_claim(state(ctx), actor, id, approve)
            .await
            .map(ProducerClaim)
    }

    /// The producer's answer to a campaign; its approved representatives only.
    async fn respond_to_campaign(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: ProducerResponseInput,
    ) -> Result<ProducerResponse> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        let new = service::producers::producer_voice::NewResponse {
            body: input.body,
            commitment: input.commitment,
            due_at: input.due_at,
        };
        service::producers::producer_voice::respond(state(ctx), actor, id, new)
            .await
            .map(ProducerResponse)
    }

    /// A signer's verdict on a commitment (changeable until it closes).
    async fn review_commitment(
        &self,
        ctx: &Context<'_>,
        response_id: ID,
        verdict: CommitmentVerdict,
    ) -> Result<ProducerResponse> {
        let actor = require_member(ctx).await?;
        let id = validate::id("responseId", &response_id)?;
        service::producers::producer_voice::review(state(ctx), actor, id, verdict.into())
            .await
            .map(ProducerResponse)
    }

    /// Closes a commitment as KEPT or BROKEN by its reviewers' majority;
    /// the campaign's organiser or an admin.
    async fn close_commitment(
        &self,
        ctx: &Context<'_>,
        response_id: ID,
    ) -> Result<ProducerResponse> {
        let actor = require_member(ctx).await?;
        let id = validate::id("responseId", &response_id)?;
        service::producers::producer_voice::close_commitment(state(ctx), actor, id)
            .await
            .map(ProducerResponse)
    }

    /// Posts news on your campaign.
    async fn post_campaign_update(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: CampaignUpdateInput,
    ) -> Result<CampaignUpdate> {
        let actor = require_creator(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        service::producers::producer_voice::post_update(
            state(ctx),
            actor,
            id,
            &input.title,
            &input.body,
        )
        .await
        .map(CampaignUpdate)
    }
}
