//! The block-list: address ranges (CIDR) and e-mail domains (`*.` for all
//! subdomains) refused at registration and signing, and allow rules that
//! let through what they match despite block rules of the same kind.
//!
//! Every instance keeps the rules in memory, so a check costs no round
//! trip; a change is written to the database, audit-logged, and announced
//! on the event bus (Redis pub/sub across instances), on which every
//! instance reloads them. A periodic reload covers an announcement lost
//! while Redis was away. Expired rules stop applying at once, without a
//! reload.

use chrono::{DateTime, Utc};
use entities::block_rule::{self, BlockKind};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Select, Set};
use uuid::Uuid;

use crate::bus::Reload;
use crate::error::{AppError, Result};
use crate::service::viewer::Viewer;
use crate::service::{oversight::audit, validate};
use crate::state::AppState;

pub use list::BlockList;

pub mod list;

/// What `add` needs.
pub struct NewRule {
    pub kind: BlockKind,
    pub pattern: String,
    pub allow: bool,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
}

fn require_admin(actor: Viewer) -> Result<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only an admin manages block rules".into(),
        ))
    }
}

/// Adds a rule (admins only), audit-logged, in force on every instance
/// within a second.
pub async fn add(state: &AppState, actor: Viewer, input: NewRule) -> Result<block_rule::Model> {
    require_admin(actor)?;
    let pattern = list::normalise(input.kind, &input.pattern)?;
    let reason = validate::text("input.reason", &input.reason, 3, 500)?;
    let now = validate::now();
    if input.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid(
            "input.expiresAt",
            "input.expiresAt must be in the future",
        ));
    }
    let (writer, txn) = state.begin_write().await?;
    let rule = block_rule::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(input.kind),
        pattern: Set(pattern.clone()),
        allow: Set(input.allow),
        reason: Set(reason),
        expires_at: Set(input.expires_at),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let action = if input.allow {
        "add_allow_rule"
    } else {
        "add_block_rule"
    };
    audit::record(
        &txn,
        actor,
        action,
        "block_rule",
        Some(rule.id),
        Some(pattern),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    changed(state).await?;
    Ok(rule)
}

/// Removes a rule (admins only), audit-logged.
pub async fn remove(state: &AppState, actor: Viewer, id: Uuid) -> Result<bool> {
    require_admin(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let rule = block_rule::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("block rule"))?;
    block_rule::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "remove_block_rule",
        "block_rule",
        Some(id),
        Some(rule.pattern),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    changed(state).await?;
    Ok(true)
}

/// Reloads here at once, and tells the other instances.
async fn changed(state: &AppState) -> Result<()> {
    state.blocks.reload(&state.db).await?;
    state.bus.publish_reload(Reload::BlockRules).await;
    Ok(())
}

/// Every rule, for admins to page through.
pub fn list(actor: Viewer) -> Result<Select<block_rule::Entity>> {
    require_admin(actor)?;
    Ok(block_rule::Entity::find().order_by_desc(block_rule::Column::Id))
}
