//! Confirming an e-mail address, and what it unlocks.
//!
//! A member who has not confirmed their address may sign, but their
//! signatures are stored `PENDING` and count nowhere. Confirming moves all
//! of them to `COUNTED` in one transaction with their observatory rollups;
//! after the commit each campaign's live counter, milestones and
//! subscribers move, exactly once per signature (the guarded status update
//! hands each row to one confirmation only). Pending signatures of members
//! who never confirm are deleted once the link's lifetime has passed.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entities::campaign;
use entities::email_token::TokenPurpose;
use entities::member;
use entities::signature::{self, SignatureStatus};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::ratelimit::Action;
use crate::service::fold;
use crate::service::viewer::Viewer;
use crate::service::{identity::email_token, signing::signature as signatures, validate};
use crate::state::AppState;

/// Writes a confirmation link for `member` into the outbox, within the
/// caller's transaction.
pub async fn mail_link(
    db: &impl ConnectionTrait,
    state: &AppState,
    member: &member::Model,
) -> Result<()> {
    let hours = state.config.confirm_ttl_hours;
    let token = email_token::issue(
        db,
        member.id,
        TokenPurpose::Confirm,
        Duration::hours(i64::from(hours)),
    )
    .await?;
    Mail::new(&member.email, &member.locale, Template::ConfirmEmail)
        .var("name", &member.display_name)
        .var(
            "link",
            format!("{}/confirm-email?token={token}", state.public_url),
        )
        .var("hours", hours.to_string())
        .enqueue(db)
        .await?;
    Ok(())
}

/// Mails `actor` a new confirmation link (rate-limited per member).
pub async fn resend(state: &AppState, actor: Viewer) -> Result<bool> {
    let found = member::Entity::find_by_id(actor.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if found.email_confirmed_at.is_some() {
        return Err(AppError::Conflict(
            "your e-mail address is already confirmed".into(),
        ));
    }
    state.limits.check_member(Action::Resend, actor.id)?;
    let (writer, txn) = state.begin_write().await?;
    mail_link(&txn, state, &found).await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(true)
}

/// Confirms the address the link was sent to, counts the member's pending
/// signatures, and returns the member.
pub async fn confirm(state: &AppState, token: &str) -> Result<member::Model> {
    // Checked before the writer turn: a bogus link costs one read.
    if let Err(refused) = email_token::check(&state.db, "token", token, TokenPurpose::Confirm).await
    {
        return Err(already_confirmed(state, token).await.unwrap_or(refused));
    }
    let (writer, txn) = state.begin_write().await?;
    let spent = email_token::spend(&txn, "token", token, TokenPurpose::Confirm).await?;
    let member_id = spent.member_id;
    let now = validate::now();
    member::Entity::update_many()
        .col_expr(member::Column::EmailConfirmedAt, Expr::value(now))
        .col_expr(member::Column::UpdatedAt, Expr::value(now))
        .filter(member::Column::Id.eq(member_id))
        .filter(member::Column::EmailConfirmedAt.is_null())
        .exec(&txn)
        .await?;
    email_token::revoke(&txn, member_id, TokenPurpose::Confirm).await?;
    let (counted, campaigns) = count_pending(&txn, member_id, None).await?;
    let confirmed = member::Entity::find_by_id(member_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .member_changed(state.bus.as_ref(), member_id)
        .await;
    announce(state, &counted, &campaigns).await;
    Ok(confirmed)
}

/// `CONFLICT` ("already confirmed") when `token` was a confirmation link of
/// an address that is now confirmed, so that the owner's second click (or
/// the first, after a scanner's) says so instead of "invalid link".
async fn already_confirmed(state: &AppState, token: &str) -> Option<AppError> {
    let found = email_token::find(&state.db, "token", token, TokenPurpose::Confirm)
        .await
        .ok()?;
    let member = member::Entity::find_by_id(found.member_id)
        .one(&state.db)
        .await
        .ok()??;
    member
        .email_confirmed_at
        .is_some()
        .then(|| AppError::Conflict("this e-mail address is already confirmed".into()))
}

/// Counters, milestones and subscribers, once per signature just counted.
async fn announce(
    state: &AppState,
    counted: &[signature::Model],
    campaigns: &HashMap<Uuid, campaign::Model>,
) {
    for signature in counted {
        if let Some(found) = campaigns.get(&signature.campaign_id) {
            signatures::after_change(state, found, 1).await;
        }
    }
    if !counted.is_empty() {
        state.folder.settle().await;
    }
}

/// Moves `member_id`'s pending signatures (made up to `up_to`, when given)
/// to `COUNTED` and queues them for the fold; returns the rows this call
/// moved and their campaigns.
async fn count_pending(
    txn: &impl ConnectionTrait,
    member_id: Uuid,
    up_to: Option<DateTime<Utc>>,
) -> Result<(Vec<signature::Model>, HashMap<Uuid, campaign::Model>)> {
    let mut pending = signature::Entity::update_many()
        .col_expr(
            signature::Column::Status,
            Expr::value(SignatureStatus::Counted),
        )
        .filter(signature::Column::MemberId.eq(member_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        // Held by a fraud signal: a moderator decides, not the confirmation.
        .filter(signature::Column::HeldBy.is_null());
    if let Some(up_to) = up_to {
        pending = pending.filter(signature::Column::CreatedAt.lte(up_to));
    }
    let counted = pending.exec_with_returning(txn).await?;
    if counted.is_empty() {
        return Ok((counted, HashMap::new()));
    }
    let campaigns: HashMap<Uuid, campaign::Model> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(counted.iter().map(|s| s.campaign_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|found| (found.id, found))
        .collect();
    let mut changes = fold::Changes::default();
    for signature in &counted {
        changes.signature(
            signature.producer_id,
            Some(member_id),
            signature.campaign_id,
            campaigns
                .get(&signature.campaign_id)
                .and_then(|found| found.community_id),
            signature.created_at,
            1,
        );
    }
    fold::record(txn, &changes).await?;
    Ok((counted, campaigns))
}

/// Counts the pending signatures that confirmed members made before they
/// confirmed. One can be left behind when its batch commits while its
/// signer's confirmation is moving their other pending signatures; this
/// repair pass (run with the upkeep) counts it, once, like the others.
/// Returns how many it counted.
pub async fn count_left_behind(state: &AppState) -> Result<usize> {
    let confirmed = Query::select()
        .column(member::Column::Id)
        .from(member::Entity)
        .and_where(member::Column::EmailConfirmedAt.is_not_null())
        .to_owned();
    let members: Vec<Option<Uuid>> = signature::Entity::find()
        .select_only()
        .column(signature::Column::MemberId)
        .distinct()
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .filter(signature::Column::MemberId.in_subquery(confirmed))
        .limit(100)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut total = 0;
    for member_id in members.into_iter().flatten() {
        let Some(confirmed_at) = member::Entity::find_by_id(member_id)
            .one(&state.db)
            .await?
            .and_then(|found| found.email_confirmed_at)
        else {
            continue;
        };
        let (writer, txn) = state.begin_write().await?;
        let (counted, campaigns) = count_pending(&txn, member_id, Some(confirmed_at)).await?;
        txn.commit().await?;
        drop(writer);
        total += counted.len();
        announce(state, &counted, &campaigns).await;
    }
    Ok(total)
}

/// Deletes the pending signatures of members still unconfirmed a link's
/// lifetime after signing, tokens long expired, and outbox messages and
/// webhook deliveries settled more than `CONSUMACT_OUTBOX_KEEP_DAYS` ago
/// (with idle digests). They never counted, so no counter moves.
pub async fn purge_unconfirmed(state: &AppState) -> Result<u64> {
    let ttl = Duration::hours(i64::from(state.config.confirm_ttl_hours));
    let before = validate::now() - ttl;
    let unconfirmed = Query::select()
        .column(member::Column::Id)
        .from(member::Entity)
        .and_where(member::Column::EmailConfirmedAt.is_null())
        .to_owned();
    let (writer, txn) = state.begin_write().await?;
    let removed = signature::Entity::delete_many()
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .filter(signature::Column::CreatedAt.lt(before))
        .filter(signature::Column::MemberId.in_subquery(unconfirmed))
        .exec(&txn)
        .await?
        .rows_affected;
    email_token::purge_expired(&txn, before).await?;
    let keep = Duration::days(i64::from(state.config.outbox_keep_days));
    crate::outbox::purge_settled(&txn, validate::now() - keep).await?;
    crate::service::notify::webhook::purge_settled(&txn, validate::now() - keep).await?;
    crate::service::notify::notification::purge_idle(&txn, validate::now()).await?;
    txn.commit().await?;
    drop(writer);
    Ok(removed)
}
