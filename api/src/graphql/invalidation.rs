//! Bulk invalidation, for moderators: `invalidateSignatures`,
//! `revalidateSignatures`, `invalidations`.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::invalidation;

use crate::error::Result;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state};
use crate::service::{fraud::invalidation as service, validate};

/// Signatures struck out together (or, for a dry run, counted).
pub struct Invalidation(pub invalidation::Model);

#[Object]
impl Invalidation {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    /// Signatures struck out (for a dry run: that would have been).
    async fn count(&self) -> i64 {
        self.0.count
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When `revalidateSignatures` undid it.
    async fn revalidated_at(&self) -> Option<DateTime<Utc>> {
        self.0.revalidated_at
    }
}

/// Which counted signatures of the campaign to strike out; every given
/// criterion must hold, and at least one must be given.
#[derive(InputObject, Default)]
pub struct InvalidationFilter {
    /// A `Signature.sourceKey`: everything signed from that network.
    pub source_key: Option<String>,
    /// A `Signature.emailDomain`.
    pub email_domain: Option<String>,
    pub member_ids: Option<Vec<ID>>,
    /// Signed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Signed before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct InvalidationQuery;

#[Object]
impl InvalidationQuery {
    /// A campaign's invalidations, newest first; moderators and admins.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn invalidations(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Invalidation>> {
        let actor = require_member(ctx).await?;
        let campaign_id = validate::id("campaignId", &campaign_id)?;
        let select = service::of_campaign(actor, campaign_id)?;
        connection::paginate(
            ctx,
            select,
            invalidation::Column::Id,
            first,
            after,
            Invalidation,
        )
        .await
    }
}

#[derive(Default)]
pub struct InvalidationMutation;

#[Object]
impl InvalidationMutation {
    /// Strikes out the campaign's counted signatures matching `filter`:
    /// they stay, `INVALIDATED`, and leave the live count, the goal, the
    /// observatory and the public list, exactly once. `dryRun` only counts
    /// them. Moderators and admins; audit-logged.
    async fn invalidate_signatures(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        filter: InvalidationFilter,
        reason: String,
        #[graphql(default_with = "Some(false)")] dry_run: Option<bool>,
    ) -> Result<Invalidation> {
        let actor = require_member(ctx).await?;
        let campaign_id = validate::id("campaignId", &campaign_id)?;
        let member_ids = filter
            .member_ids
            .map(|ids| {
                ids.iter()
                    .map(|id| validate::id("filter.memberIds", id))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let filter = service::Filter {
            source_key: filter.source_key,
            email_domain: filter.email_domain,
            member_ids,
            from: filter.from,
            to: filter.to,
        };
        let dry_run = dry_run.unwrap_or(false);
        service::invalidate(state(ctx), actor, campaign_id, filter, &reason, dry_run)
            .await
            .map(Invalidation)
    }

    /// Undoes an invalidation: its signatures count again, exactly once
    /// however often this is called. Moderators and admins; audit-logged.
    async fn revalidate_signatures(
        &self,
        ctx: &Context<'_>,
        invalidation_id: ID,
    ) -> Result<Invalidation> {
        let actor = require_member(ctx).await?;
        let id = validate::id("invalidationId", &invalidation_id)?;
        service::revalidate(state(ctx), actor, id)
            .await
            .map(Invalidation)
    }
}
