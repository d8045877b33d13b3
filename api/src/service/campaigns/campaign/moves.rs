//! A campaign's status moves (draft → sponsoring → review → open →
//! ended), guarded so that two concurrent moves cannot both succeed, with
//! the observatory's facts and groups and the events that follow each.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, UpdateMany};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::event;
use crate::service::observatory::rollup::AtomRule;
use crate::vocabulary::EventType;

/// A campaign's move from `from` to `to` at `now`, guarded by `from` so
/// that two concurrent moves cannot both succeed; stamps `published_at` on
/// opening and `closed_at` on an ending. Callers may set more columns, then
/// run it with [`apply_move`].
pub(crate) fn status_move(
    id: Uuid,
    from: CampaignStatus,
    to: CampaignStatus,
    now: DateTime<Utc>,
) -> UpdateMany<campaign::Entity> {
    let update = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(to))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(id))
        .filter(campaign::Column::Status.eq(from));
    match to {
        CampaignStatus::Open => update.col_expr(campaign::Column::PublishedAt, Expr::value(now)),
        CampaignStatus::Victory | CampaignStatus::Closed | CampaignStatus::Rejected => {
            update.col_expr(campaign::Column::ClosedAt, Expr::value(now))
        }
        _ => update,
    }
}

/// Runs a [`status_move`] of campaign `id` and returns the campaign after
/// it; `CONFLICT` when the campaign was no longer where the move started.
pub(crate) async fn apply_move(
    db: &impl ConnectionTrait,
    rule: AtomRule,
    update: UpdateMany<campaign::Entity>,
    id: Uuid,
) -> Result<campaign::Model> {
    if update.exec(db).await?.rows_affected == 0 {
        return Err(AppError::Conflict(
            "the campaign changed meanwhile; reload it".into(),
        ));
    }
    let moved = campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    // Publishing (or ending) moves the producer's stored facts, and
    // publishing its groups.
    crate::service::observatory::write_facts::refresh(db, rule, moved.producer_id).await?;
    crate::service::observatory::groups::regroup(db, rule, moved.producer_id).await?;
    // Announced in the same transaction as the move (see `outbox::event`).
    match moved.status {
        CampaignStatus::Open => {
            event::emit(db, EventType::CampaignPublished, moved.id, json!({})).await?;
        }
        CampaignStatus::Victory | CampaignStatus::Closed => {
            let outcome = if moved.status == CampaignStatus::Victory {
                "VICTORY"
            } else {
                "CLOSED"
            };
            event::emit(
                db,
                EventType::CampaignClosed,
                moved.id,
                json!({ "outcome": outcome }),
            )
            .await?;
        }
        _ => {}
    }
    Ok(moved)
}
