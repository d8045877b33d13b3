//! Surge detection, for moderators: `fraudSignals`, `dismissFraudSignal`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entities::fraud_signal;

use crate::error::Result;
use crate::graphql::campaign::Campaign;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state, viewer};
use crate::service::{fraud::surge, validate};

/// What a surge came from.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "FraudSignalKind",
    remote = "entities::fraud_signal::SignalKind"
)]
pub enum FraudSignalKind {
    /// One network: the key is a `Signature.sourceKey`.
    Source,
    /// One e-mail domain.
    EmailDomain,
}

/// Whether a moderator has decided.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "FraudSignalStatus",
    remote = "entities::fraud_signal::SignalStatus"
)]
pub enum FraudSignalStatus {
    Open,
    /// Judged genuine: what it held counts.
    Dismissed,
}

/// One source or e-mail domain signed a campaign more than the trending
/// threshold within the window.
pub struct FraudSignal(pub fraud_signal::Model);

#[Object]
impl FraudSignal {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        let viewer = viewer(ctx).await?;
        Ok(
            crate::service::campaigns::campaign::get(&state(ctx).db, viewer, self.0.campaign_id)
                .await?
                .map(Campaign),
        )
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn kind(&self) -> FraudSignalKind {
        self.0.kind.into()
    }
    /// The source key or the e-mail domain.
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// Signatures seen from it within the window, at the last update.
    async fn count(&self) -> i64 {
        self.0.count
    }
    async fn first_seen(&self) -> DateTime<Utc> {
        self.0.first_seen
    }
    async fn last_seen(&self) -> DateTime<Utc> {
        self.0.last_seen
    }
    async fn status(&self) -> FraudSignalStatus {
        self.0.status.into()
    }
}

#[derive(Default)]
pub struct SurgeQuery;

#[Object]
impl SurgeQuery {
    /// Fraud signals, newest first, optionally of one campaign and status;
    /// moderators and admins.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn fraud_signals(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<ID>,
        status: Option<FraudSignalStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<FraudSignal>> {
        let actor = require_member(ctx).await?;
        let campaign_id = campaign_id
            .map(|id| validate::id("campaignId", &id))
            .transpose()?;
        let select = surge::list(actor, campaign_id, status.map(Into::into))?;
        connection::paginate(
            ctx,
            select,
            fraud_signal::Column::Id,
            first,
            after,
            FraudSignal,
        )
        .await
    }
}

#[derive(Default)]
pub struct SurgeMutation;

#[Object]
impl SurgeMutation {
    /// Judges a signal genuine: the signatures it held count now.
    /// Moderators and admins; audit-logged.
    async fn dismiss_fraud_signal(&self, ctx: &Context<'_>, id: ID) -> Result<FraudSignal> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        surge::dismiss(state(ctx), actor, id).await.map(FraudSignal)
    }
}
