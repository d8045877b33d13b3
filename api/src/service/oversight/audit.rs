//! The audit log: who did what to which content or account, and why.
//! Moderation and admin decisions write here; nothing is ever deleted.

use entities::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set,
};
use uuid::Uuid;

use crate::error::Result;
use crate::service::validate;
use crate::service::viewer::Viewer;

/// Appends one entry.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: Viewer,
    action: &str,
    target_type: &str,
    target_id: Option<Uuid>,
    reason: Option<String>,
) -> Result<()> {
    record_scoped(db, actor, action, target_type, target_id, reason, None).await
}

/// [`record`] for a moderation decision, with the scope it was taken in
/// (`SITE` or `COMMUNITY`).
pub async fn record_scoped(
    db: &impl ConnectionTrait,
    actor: Viewer,
    action: &str,
    target_type: &str,
    target_id: Option<Uuid>,
    reason: Option<String>,
    scope: Option<&str>,
) -> Result<()> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(Some(actor.id)),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        reason: Set(reason),
        scope: Set(scope.map(str::to_owned)),
        created_at: Set(validate::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Entries, optionally about one target, for the caller to page through.
pub fn entries(target_id: Option<Uuid>) -> Select<audit_log::Entity> {
    let query = audit_log::Entity::find();
    match target_id {
        Some(target) => query.filter(audit_log::Column::TargetId.eq(target)),
        None => query,
    }
}
