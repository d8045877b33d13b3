//! Moderation: `flagContent`, `hideContent`, `restoreContent`,
//! `dismissFlag`, `escalateFlag`, and the `flags` and `auditLog` lists for
//! moderators. Scopes (site and community) are explained in
//! [`crate::service::oversight::moderation`].

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entities::{audit_log, flag};

use crate::error::Result;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_creator, require_member, state};
use crate::service::oversight::moderation::{self, ModerationTarget};
use crate::service::{self, validate};

/// Content that can be flagged and hidden.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Campaign,
    Proposal,
    /// A signature's public comment and name.
    Signature,
    /// A producer's response.
    Response,
}

impl From<ContentKind> for ModerationTarget {
    fn from(kind: ContentKind) -> Self {
        match kind {
            ContentKind::Campaign => ModerationTarget::Campaign,
            ContentKind::Proposal => ModerationTarget::Proposal,
            ContentKind::Signature => ModerationTarget::Signature,
            ContentKind::Response => ModerationTarget::Response,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "FlagStatus", remote = "entities::flag::FlagStatus")]
pub enum FlagStatus {
    Open,
    /// The content was hidden.
    Upheld,
    Dismissed,
}

/// A report of abusive content.
pub struct Flag(pub flag::Model);

#[Object]
impl Flag {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// CAMPAIGN, PROPOSAL, SIGNATURE or RESPONSE.
    async fn target_kind(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> ID {
        ID(self.0.target_id.to_string())
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn status(&self) -> FlagStatus {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// When a community moderator passed it on to site moderators.
    async fn escalated_at(&self) -> Option<DateTime<Utc>> {
        self.0.escalated_at
    }
}

/// One moderation or admin decision.
pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Who decided; null once their account is deleted.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|id| ID(id.to_string()))
    }
    /// HIDE, CONFIRM_HIDE, RESTORE, DISMISS_FLAG, ESCALATE_FLAG,
    /// APPROVE_CLAIM, REJECT_CLAIM…
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn target_kind(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<ID> {
        self.0.target_id.map(|id| ID(id.to_string()))
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The scope a moderation decision was taken in: SITE (site moderators,
    /// admins) or COMMUNITY (a community's moderator); null for other entries.
    async fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// Flags of one status (OPEN by default), newest first: every flag for
    /// site moderators and admins; with `communityId`, the flags on that
    /// community's content, for its moderators too.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn flags(
        &self,
        ctx: &Context<'_>,
        status: Option<FlagStatus>,
        community_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Flag>> {
        let actor = require_member(ctx).await?;
        let status = status.unwrap_or(FlagStatus::Open).into();
        let select = match community_id {
            Some(id) => {
                let community = validate::id("communityId", &id)?;
                moderation::community_flags(state(ctx), actor, community, status).await?
            }
            None => {
                moderation::require_moderator(actor)?;
                moderation::flags(status)
            }
        };
        connection::paginate(ctx, select, flag::Column::Id, first, after, Flag).await
    }

    /// Decisions, newest first, optionally about one target; moderators and admins.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        target_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<AuditEntry>> {
        moderation::require_moderator(require_member(ctx).await?)?;
        let target = target_id
            .map(|id| validate::id("targetId", &id))
            .transpose()?;
        let select = service::oversight::audit::entries(target);
        connection::paginate(ctx, select, audit_log::Column::Id, first, after, AuditEntry).await
    }
}

#[derive(Default)]
pub struct ModerationMutation;

#[Object]
impl ModerationMutation {
    /// Reports content to the moderators.
    async fn flag_content(
        &self,
        ctx: &Context<'_>,
        kind: ContentKind,
        id: ID,
        reason: String,
    ) -> Result<Flag> {
        let actor = require_creator(ctx).await?;
        let id = validate::id("id", &id)?;
        moderation::flag(state(ctx), actor, kind.into(), id, &reason)
            .await
            .map(Flag)
    }

    /// Hides content from public lists, with a reason; moderators only. A
    /// community moderator's hide leaves flags open for site moderators and
    /// does not move the observatory until a site moderator hides it again,
    /// which confirms it.
    async fn hide_content(
        &self,
        ctx: &Context<'_>,
        kind: ContentKind,
        id: ID,
        reason: String,
    ) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        moderation::set_hidden(state(ctx), actor, kind.into(), id, true, &reason).await?;
        Ok(true)
    }

    /// Restores hidden content, with a reason; moderators only. What site
    /// moderators hid, only they restore.
    async fn restore_content(
        &self,
        ctx: &Context<'_>,
        kind: ContentKind,
        id: ID,
        reason: String,
    ) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        moderation::set_hidden(state(ctx), actor, kind.into(), id, false, &reason).await?;
        Ok(true)
    }

    /// Dismisses a flag that needs no action; site moderators and admins.
    async fn dismiss_flag(&self, ctx: &Context<'_>, flag_id: ID) -> Result<Flag> {
        let actor = require_member(ctx).await?;
        let id = validate::id("flagId", &flag_id)?;
        moderation::dismiss(state(ctx), actor, id).await.map(Flag)
    }

    /// Passes an open flag on to site moderators, with a note; moderators of
    /// the community its content belongs to. The flag stays open.
    async fn escalate_flag(&self, ctx: &Context<'_>, flag_id: ID, note: String) -> Result<Flag> {
        let actor = require_member(ctx).await?;
        let id = validate::id("flagId", &flag_id)?;
        moderation::escalate(state(ctx), actor, id, &note)
            .await
            .map(Flag)
    }
}
