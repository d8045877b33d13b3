//! Signing, the hot path: rate limit → campaign open? → insert (the unique
//! index is the last guard against double counting) and the observatory's
//! rollup, in one transaction shared with the signatures that arrive at the
//! same time (`sign_batch`) → after commit, bump
//! the live counter → record milestones → publish.
//!
//! Signing twice answers `CONFLICT` and counts once. Once the signature is
//! committed, nothing after it (counter, milestones, events) can fail the
//! request: those are derived data that reconciliation repairs.

use std::net::IpAddr;

use entities::campaign::{self, CampaignStatus};
use entities::signature::{self, SignatureStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::counters::Counter;
use crate::error::{AppError, Result};
use crate::events::CounterEvent;
use crate::ratelimit::Action;
use crate::service::auth::Viewer;
use crate::service::observatory::rollup::{self, Delta};
use crate::service::sign_batch::NewSignature;
use crate::service::{campaign as campaigns, milestone, surge, validate};
use crate::state::AppState;
use entities::fraud_signal::SignalKind;

/// Longest public comment on a signature.
pub const MAX_COMMENT: usize = 500;

/// What a signer may add.
#[derive(Default)]
pub struct SignInput {
    pub comment: Option<String>,
    /// Show "anonymous" instead of the signer's name.
    pub anonymous: bool,
    /// Where the signer lives, as their account says.
    pub territory: Option<String>,
    /// The signer's e-mail domain, as their account says.
    pub email_domain: Option<String>,
}

async fn open_campaign(state: &AppState, actor: Viewer, id: Uuid) -> Result<campaign::Model> {
    let found = campaigns::get(&state.db, Some(actor), id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status != CampaignStatus::Open {
        return Err(AppError::Conflict(
            "this campaign is not open for signatures".into(),
        ));
    }
    if found
        .deadline
        .is_some_and(|deadline| deadline <= validate::now())
    {
        return Err(AppError::Conflict(
            "this campaign's deadline has passed".into(),
        ));
    }
    Ok(found)
}

/// Signs `campaign_id` as `actor`, from `client` (for rate limiting).
pub async fn sign(
    state: &AppState,
    actor: Viewer,
    client: Option<IpAddr>,
    campaign_id: Uuid,
    input: SignInput,
) -> Result<signature::Model> {
    state.blocks.check(client, input.email_domain.as_deref())?;
    state.limits.check_member(Action::Sign, actor.id)?;
    if let Some(ip) = client {
        state.limits.check_address(Action::Sign, ip)?;
    }
    let comment = validate::optional_text("input.comment", input.comment.as_deref(), MAX_COMMENT)?;
    let found = open_campaign(state, actor, campaign_id).await?;
    let source_key = client.map(|ip| state.sources.key_of(ip));
    let mut watched = Vec::with_capacity(2);
    if let Some(key) = &source_key {
        watched.push((SignalKind::Source, key.clone()));
    }
    if let Some(domain) = &input.email_domain {
        watched.push((SignalKind::EmailDomain, domain.clone()));
    }
    // A signature waits, counted nowhere, while its signer has not
    // confirmed their address (`service::confirmation`) or while a fraud
    // signal holds its source or domain (`service::surge`).
    let held_by = state.surge.holding(found.id, &watched);
    let status = if actor.confirmed && held_by.is_none() {
        SignatureStatus::Counted
    } else {
        SignatureStatus::Pending
    };
    let created = state
        .signer
        .sign(NewSignature {
            campaign_id: found.id,
            producer_id: found.producer_id,
            member_id: actor.id,
            comment,
            anonymous: input.anonymous,
            territory: input.territory,
            created_at: validate::now(),
            status,
            source_key,
            email_domain: input.email_domain,
            held_by,
        })
        .await?;
    crate::metrics::Metrics::increment(&state.metrics.signatures);
    surge::watch(state, found.id, watched);
    if created.status == SignatureStatus::Counted {
        after_change(state, &found, 1).await;
    }
    Ok(created)
}

/// Withdraws `actor`'s signature from an open campaign.
pub async fn withdraw(state: &AppState, actor: Viewer, campaign_id: Uuid) -> Result<bool> {
    let found = open_campaign(state, actor, campaign_id).await?;
    let (writer, txn) = state.begin_write().await?;
    let Some(signed) = signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(found.id))
        .filter(signature::Column::MemberId.eq(actor.id))
        .one(&txn)
        .await?
    else {
        return Err(AppError::Conflict(
            "you have not signed this campaign".into(),
        ));
    };
    if signed.status == SignatureStatus::Invalidated {
        // Struck out by a moderator: kept for the record.
        return Err(AppError::Conflict(
            "this signature was struck out by a moderator and cannot be withdrawn".into(),
        ));
    }
    // Guarded by the status read, so a confirmation or an invalidation
    // committing meanwhile cannot make this withdrawal count twice.
    let deleted = signature::Entity::delete_many()
        .filter(signature::Column::Id.eq(signed.id))
        .filter(signature::Column::Status.eq(signed.status))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::Conflict(
            "your signature changed meanwhile; try again".into(),
        ));
    }
    if signed.status == SignatureStatus::Pending {
        // It counted nowhere: it simply goes.
        txn.commit().await?;
        return Ok(true);
    }
    rollup::apply(
        &txn,
        state.config.observatory_grain,
        found.producer_id,
        signed.created_at,
        actor.id,
        &Delta::signature(-1),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    after_change(state, &found, -1).await;
    Ok(true)
}

/// Counter, milestones and live update after a committed change; the new
/// count. Failures are logged, never returned (`None`): the change itself
/// is already safe, and reconciliation repairs the counter.
pub(crate) async fn after_change(
    state: &AppState,
    found: &campaign::Model,
    delta: i64,
) -> Option<i64> {
    let (count, seq) = match state
        .counters
        .add(&state.db, found.id, Counter::Signatures, delta)
        .await
    {
        Ok(counted) => counted,
        Err(err) => {
            tracing::warn!(campaign = %found.id, ?err, "signature counter not updated");
            return None;
        }
    };
    let reached = if delta > 0 {
        milestone::record_reached(&state.db, &state.milestones, found.id, found.goal, count)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(campaign = %found.id, ?err, "milestones not recorded");
                Vec::new()
            })
    } else {
        Vec::new()
    };
    let at = validate::now();
    let event = |milestone: Option<i64>| CounterEvent {
        campaign_id: found.id,
        counter: Counter::Signatures.into(),
        value: count,
        at,
        milestone,
        goal_reached: milestone.is_some() && milestone == found.goal.map(i64::from),
        seq,
    };
    if reached.is_empty() {
        state.events.publish(event(None)).await;
    }
    for threshold in reached {
        tracing::info!(campaign = %found.id, threshold, "milestone reached");
        state.events.publish(event(Some(threshold))).await;
    }
    Some(count)
}

/// Adds (`sign` 1) or takes away (-1) the observatory contributions of
/// signatures of `found` that just became, or stopped being, counted.
pub(crate) async fn rollup_moved(
    txn: &impl ConnectionTrait,
    state: &AppState,
    found: &campaign::Model,
    moved: &[signature::Model],
    sign: i64,
) -> Result<()> {
    let changes: Vec<_> = moved
        .iter()
        .filter_map(|row| {
            Some((
                found.producer_id,
                row.created_at,
                row.member_id?,
                Delta::signature(sign),
            ))
        })
        .collect();
    rollup::apply_many(txn, state.config.observatory_grain, &changes).await
}

/// Public signatures of a campaign, for the caller to page through: counted
/// ones only.
pub fn of_campaign(campaign_id: Uuid) -> Select<signature::Entity> {
    signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(campaign_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Counted))
        .filter(signature::Column::HiddenAt.is_null())
}

/// How many signatures of a campaign wait for their signers to confirm.
pub async fn pending_count(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<i64> {
    Ok(signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(campaign_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .count(db)
        .await? as i64)
}

/// A member's own signatures, pending ones included.
pub fn of_member(member_id: Uuid) -> Select<signature::Entity> {
    signature::Entity::find().filter(signature::Column::MemberId.eq(member_id))
}
