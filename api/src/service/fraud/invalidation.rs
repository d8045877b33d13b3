//! Bulk invalidation: a moderator strikes out a campaign's counted
//! signatures that match a filter (a source, an e-mail domain, members, a
//! time span), and may undo it.
//!
//! The struck-out signatures stay, `INVALIDATED` and tied to the
//! invalidation, so the undo restores exactly those. Each move is one
//! guarded `UPDATE … RETURNING` that takes only rows still in the state it
//! moves them from, so a repeated call moves nothing twice, and members
//! signing meanwhile are untouched; the observatory's rollups change in the
//! same transaction, the live counter by the number of rows moved once it
//! commits (subscribers get the corrected count). Signatures a fraud signal
//! holds (`PENDING`) are struck out too, and come back held. Milestones above the new
//! count stay in the history, marked as reached before an invalidation.

use chrono::{DateTime, Utc};
use entities::fraud_signal::{self, SignalStatus};
use entities::signature::{self, SignatureStatus};
use entities::{campaign, invalidation};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, Select, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::oversight::moderation::require_moderator;
use crate::service::viewer::Viewer;
use crate::service::{oversight::audit, signing::signature as signatures, validate};
use crate::state::AppState;

/// Which signatures of the campaign to strike out; at least one criterion.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Filter {
    pub source_key: Option<String>,
    pub email_domain: Option<String>,
    pub member_ids: Option<Vec<Uuid>>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Filter {
    fn condition(&self) -> Result<Condition> {
        let mut condition = Condition::all();
        let mut criteria = 0;
        if let Some(key) = &self.source_key {
            condition = condition.add(signature::Column::SourceKey.eq(key.trim()));
            criteria += 1;
        }
        if let Some(domain) = &self.email_domain {
            condition =
                condition.add(signature::Column::EmailDomain.eq(domain.trim().to_lowercase()));
            criteria += 1;
        }
        if let Some(members) = &self.member_ids {
            if members.is_empty() || members.len() > 10_000 {
                return Err(AppError::invalid(
                    "filter.memberIds",
                    "filter.memberIds must name 1 to 10 000 members",
                ));
            }
            condition = condition.add(signature::Column::MemberId.is_in(members.iter().copied()));
            criteria += 1;
        }
        if let Some(from) = self.from {
            condition = condition.add(signature::Column::CreatedAt.gte(from));
            criteria += 1;
        }
        if let Some(to) = self.to {
            condition = condition.add(signature::Column::CreatedAt.lt(to));
            criteria += 1;
        }
        if criteria == 0 {
            return Err(AppError::invalid(
                "filter",
                "give at least one of sourceKey, emailDomain, memberIds, from, to",
            ));
        }
        Ok(condition)
    }
}

/// Strikes out (or, with `dry_run`, counts) the campaign's counted
/// signatures matching `filter`; moderators and admins only, audit-logged.
pub async fn invalidate(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    filter: Filter,
    reason: &str,
    dry_run: bool,
) -> Result<invalidation::Model> {
    require_moderator(actor)?;
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let matching = filter.condition()?;
    let found = campaign::Entity::find_by_id(campaign_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    let record = |id: Uuid, count: i64| invalidation::ActiveModel {
        id: Set(id),
        campaign_id: Set(campaign_id),
        reason: Set(reason.clone()),
        filter: Set(serde_json::to_string(&filter).unwrap_or_default()),
        count: Set(count),
        dry_run: Set(dry_run),
        actor_id: Set(Some(actor.id)),
        revalidated_at: Set(None),
        created_at: Set(validate::now()),
    };
    let id = Uuid::now_v7();
    let (writer, txn) = state.begin_write().await?;
    let struck = if dry_run {
        let count = signature::Entity::find()
            .filter(signature::Column::CampaignId.eq(campaign_id))
            .filter(strikable())
            .filter(matching)
            .count(&txn)
            .await?;
        record(id, count as i64).insert(&txn).await?;
        Vec::new()
    } else {
        // The record first: the rows point at it.
        record(id, 0).insert(&txn).await?;
        let struck = signature::Entity::update_many()
            .col_expr(
                signature::Column::Status,
                Expr::value(SignatureStatus::Invalidated),
            )
            .col_expr(signature::Column::InvalidationId, Expr::value(id))
            .filter(signature::Column::CampaignId.eq(campaign_id))
            .filter(signature::Column::Status.eq(SignatureStatus::Counted))
            .filter(matching.clone())
            .exec_with_returning(&txn)
            .await?;
        // Signatures a fraud signal holds go too; they never counted.
        let held = signature::Entity::update_many()
            .col_expr(
                signature::Column::Status,
                Expr::value(SignatureStatus::Invalidated),
            )
            .col_expr(signature::Column::InvalidationId, Expr::value(id))
            .filter(signature::Column::CampaignId.eq(campaign_id))
            .filter(signature::Column::Status.eq(SignatureStatus::Pending))
            .filter(signature::Column::HeldBy.is_not_null())
            .filter(matching)
            .exec(&txn)
            .await?
            .rows_affected as i64;
        invalidation::Entity::update_many()
            .col_expr(
                invalidation::Column::Count,
                Expr::value(struck.len() as i64 + held),
            )
            .filter(invalidation::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        signatures::rollup_moved(&txn, &found, &struck, -1).await?;
        struck
    };
    let saved = invalidation::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("invalidation"))?;
    let action = if dry_run {
        "invalidate_signatures_dry_run"
    } else {
        "invalidate_signatures"
    };
    if !dry_run && saved.count > 0 {
        crate::outbox::event::emit(
            &txn,
            crate::vocabulary::EventType::SignaturesInvalidated,
            campaign_id,
            // No reason: only moderators may read it, and every receiver of
            // the campaign's events (its organiser, subscribers) gets this.
            serde_json::json!({
                "invalidationId": saved.id,
                "count": saved.count,
            }),
        )
        .await?;
    }
    let note = format!("{} signatures: {reason}", saved.count);
    audit::record(
        &txn,
        actor,
        action,
        "campaign",
        Some(campaign_id),
        Some(note),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    if !struck.is_empty() {
        if let Some(count) = signatures::after_change(state, &found, -(struck.len() as i64)).await {
            crate::service::signing::milestone::mark_against(&state.db, campaign_id, count).await;
        }
        state.folder.settle().await;
    }
    Ok(saved)
}

/// Undoes an invalidation: its signatures count again. Doing it twice
/// changes nothing more.
pub async fn revalidate(
    state: &AppState,
    actor: Viewer,
    invalidation_id: Uuid,
) -> Result<invalidation::Model> {
    require_moderator(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let undone = invalidation::Entity::update_many()
        .col_expr(
            invalidation::Column::RevalidatedAt,
            Expr::value(validate::now()),
        )
        .filter(invalidation::Column::Id.eq(invalidation_id))
        .filter(invalidation::Column::RevalidatedAt.is_null())
        .filter(invalidation::Column::DryRun.eq(false))
        .exec(&txn)
        .await?;
    let record = invalidation::Entity::find_by_id(invalidation_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("invalidation"))?;
    if record.dry_run {
        return Err(AppError::Conflict(
            "a dry run struck nothing out; there is nothing to undo".into(),
        ));
    }
    if undone.rows_affected == 0 {
        return Ok(record); // already undone
    }
    let found = campaign::Entity::find_by_id(record.campaign_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    // Each row goes back where it was: held while its signal is open,
    // counted otherwise.
    let open_signals = Query::select()
        .column(fraud_signal::Column::Id)
        .from(fraud_signal::Entity)
        .and_where(fraud_signal::Column::Status.eq(SignalStatus::Open))
        .to_owned();
    let held = signature::Entity::update_many()
        .col_expr(
            signature::Column::Status,
            Expr::value(SignatureStatus::Pending),
        )
        .col_expr(signature::Column::InvalidationId, Expr::value(None::<Uuid>))
        .filter(signature::Column::InvalidationId.eq(invalidation_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Invalidated))
        .filter(signature::Column::HeldBy.in_subquery(open_signals))
        .exec(&txn)
        .await?
        .rows_affected;
    let restored = signature::Entity::update_many()
        .col_expr(
            signature::Column::Status,
            Expr::value(SignatureStatus::Counted),
        )
        .col_expr(signature::Column::InvalidationId, Expr::value(None::<Uuid>))
        .col_expr(signature::Column::HeldBy, Expr::value(None::<Uuid>))
        .filter(signature::Column::InvalidationId.eq(invalidation_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Invalidated))
        .exec_with_returning(&txn)
        .await?;
    signatures::rollup_moved(&txn, &found, &restored, 1).await?;
    let note = format!("{} signatures restored", restored.len() as u64 + held);
    audit::record(
        &txn,
        actor,
        "revalidate_signatures",
        "campaign",
        Some(found.id),
        Some(note),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    if !restored.is_empty() {
        if let Some(count) = signatures::after_change(state, &found, restored.len() as i64).await {
            crate::service::signing::milestone::mark_against(&state.db, found.id, count).await;
        }
        state.folder.settle().await;
    }
    Ok(record)
}

/// What an invalidation may strike: counted signatures, and those a fraud
/// signal holds.
fn strikable() -> Condition {
    Condition::any()
        .add(signature::Column::Status.eq(SignatureStatus::Counted))
        .add(
            Condition::all()
                .add(signature::Column::Status.eq(SignatureStatus::Pending))
                .add(signature::Column::HeldBy.is_not_null()),
        )
}

/// A campaign's invalidations, for moderators to page through.
pub fn of_campaign(actor: Viewer, campaign_id: Uuid) -> Result<Select<invalidation::Entity>> {
    require_moderator(actor)?;
    Ok(invalidation::Entity::find().filter(invalidation::Column::CampaignId.eq(campaign_id)))
}
