//! Offline tallies over GraphQL: `recordOfflineTally`,
//! `recommendOfflineTally`, `verifyOfflineTally`, `rejectOfflineTally`,
//! `revokeOfflineTally`, `Campaign.offlineTallies` and site moderators'
//! `pendingOfflineTallies`.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::offline_tally;

use crate::error::{AppError, Result};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state, viewer};
use crate::service::{signing::offline_tally as service, validate};

/// Signatures collected offline, counted once a moderator verifies them.
pub struct OfflineTally(pub offline_tally::Model);

/// A tally's review.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::offline_tally::TallyStatus")]
pub enum OfflineTallyStatus {
    /// Waits for a moderator; counts nowhere.
    Pending,
    /// Counts in `counters { offlineSignatures total }`.
    Verified,
    Rejected,
    /// Verified, then taken back out of the count by a site moderator.
    Revoked,
}

#[Object]
impl OfflineTally {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn count(&self) -> i32 {
        self.0.count
    }
    /// Where they were collected (ISO 3166).
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    async fn collected_from(&self) -> DateTime<Utc> {
        self.0.collected_from
    }
    async fn collected_to(&self) -> DateTime<Utc> {
        self.0.collected_to
    }
    /// What backs it; its organiser and moderators only, null for others.
    async fn evidence(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let insider = match viewer(ctx).await? {
            Some(actor) => {
                self.0.recorded_by == Some(actor.id)
                    || actor.moderates()
                    || self.0.reviewed_by == Some(actor.id)
            }
            None => false,
        };
        Ok(insider.then_some(self.0.evidence.as_str()))
    }
    async fn status(&self) -> OfflineTallyStatus {
        self.0.status.into()
    }
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }
    /// Why a moderator rejected it.
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    /// When a moderator of the campaign's community recommended it.
    async fn recommended_at(&self) -> Option<DateTime<Utc>> {
        self.0.recommended_at
    }
    /// When a site moderator revoked it after its verification.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Why it was revoked.
    async fn revocation_reason(&self) -> Option<&str> {
        self.0.revocation_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Signatures collected offline.
#[derive(InputObject)]
pub struct OfflineTallyInput {
    /// How many (1 to `CONSUMACT_OFFLINE_TALLY_MAX`).
    pub count: i32,
    /// Where (ISO 3166: `FR`, `FR-ARA`).
    pub territory: Option<String>,
    pub collected_from: DateTime<Utc>,
    pub collected_to: DateTime<Utc>,
    /// What a moderator can check: where the sheets are, a scan's address.
    pub evidence: String,
}

#[derive(Default)]
pub struct OfflineTallyQuery;

#[Object]
impl OfflineTallyQuery {
    /// Tallies waiting for a moderator, oldest first; moderators and admins.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn pending_offline_tallies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<OfflineTally>> {
        let actor = require_member(ctx).await?;
        if !actor.moderates() {
            return Err(AppError::Forbidden("moderators and admins only".into()));
        }
        connection::paginate(
            ctx,
            service::pending(),
            offline_tally::Column::Id,
            first,
            after,
            OfflineTally,
        )
        .await
    }
}

#[derive(Default)]
pub struct OfflineTallyMutation;

#[Object]
impl OfflineTallyMutation {
    /// Records signatures collected offline on your published campaign; they
    /// count once a moderator verifies them. Audit-logged.
    async fn record_offline_tally(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: OfflineTallyInput,
    ) -> Result<OfflineTally> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        let input = service::NewTally {
            count: input.count,
            territory: input.territory,
            collected_from: input.collected_from,
            collected_to: input.collected_to,
            evidence: input.evidence,
        };
        service::record(state(ctx), actor, id, input)
            .await
            .map(OfflineTally)
    }

    /// Verifies a pending tally: its signatures count from now on. Site
    /// moderators and admins, never the tally's recorder, the campaign's
    /// organiser or an account newer than the campaign; audit-logged.
    async fn verify_offline_tally(&self, ctx: &Context<'_>, id: ID) -> Result<OfflineTally> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::verify(state(ctx), actor, id)
            .await
            .map(OfflineTally)
    }

    /// Recommends a pending tally to site moderators; moderators of the
    /// campaign's community (not its recorder or organiser). Audit-logged.
    async fn recommend_offline_tally(&self, ctx: &Context<'_>, id: ID) -> Result<OfflineTally> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::recommend(state(ctx), actor, id)
            .await
            .map(OfflineTally)
    }

    /// Takes a verified tally back out of the count, with a reason its
    /// organiser sees: the campaign's counts drop once, and milestones
    /// above the new total are marked as reached before a revocation. Site
    /// moderators and admins; audit-logged.
    async fn revoke_offline_tally(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<OfflineTally> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::revoke(state(ctx), actor, id, &reason)
            .await
            .map(OfflineTally)
    }

    /// Rejects a pending tally, with a reason its organiser sees.
    async fn reject_offline_tally(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<OfflineTally> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::reject(state(ctx), actor, id, &reason)
            .await
            .map(OfflineTally)
    }
}
