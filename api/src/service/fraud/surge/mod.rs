//! Surge detection: per campaign, sliding-window counts of signatures per
//! source (network) and per e-mail domain, kept in memory so that watching
//! costs the signing path no round trip. Past `CONSUMACT_TRENDING_THRESHOLD`
//! signatures within `CONSUMACT_TRENDING_WINDOW_SECS`, a fraud signal is
//! raised once for that key and window, moderators are mailed through the
//! outbox, and with `CONSUMACT_HOLD_TRENDING=true` further signatures from
//! that key are stored `PENDING`, held by the signal, until a moderator
//! decides: dismissing it counts them; invalidating strikes them out.
//!
//! Each instance counts what it serves: behind a load balancer spreading
//! one source over N instances, a source trends at about N times the
//! threshold. Open signals are shared through the database (loaded at
//! start and reloaded when one is decided), so every instance holds alike.

use entities::campaign;
use entities::fraud_signal::{self, SignalKind, SignalStatus};
use entities::member::{self, Role};
use entities::signature::{self, SignatureStatus};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};
use uuid::Uuid;

use crate::bus::Reload;
use crate::error::{AppError, Result};
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::oversight::moderation::require_moderator;
use crate::service::signing::signature::counted as signatures;
use crate::service::viewer::Viewer;
use crate::service::{oversight::audit, validate};
use crate::state::AppState;

use detector::MAX_RECIPIENTS;
pub use detector::{Seen, SurgeDetector};

pub mod detector;

/// Watches one written signature's keys; raising or updating signals
/// happens in the background, off the signer's request.
pub fn watch(state: &AppState, campaign: Uuid, keys: Vec<(SignalKind, String)>) {
    for (kind, key) in keys {
        match state.surge.observe(campaign, kind, &key) {
            Seen::Nothing => {}
            Seen::Raise { count } => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(err) = raise(&state, campaign, kind, &key, count).await {
                        tracing::warn!(%campaign, code = err.code(), "fraud signal not raised");
                        // Let the next signature from the key try again.
                        state.surge.forget(campaign, kind, &key);
                    }
                });
            }
            Seen::Update { signal, count } => {
                let db = state.db.clone();
                tokio::spawn(async move {
                    let updated = fraud_signal::Entity::update_many()
                        .col_expr(fraud_signal::Column::Count, Expr::value(count as i64))
                        .col_expr(fraud_signal::Column::LastSeen, Expr::value(validate::now()))
                        .filter(fraud_signal::Column::Id.eq(signal))
                        .exec(&db)
                        .await;
                    if let Err(err) = updated {
                        tracing::warn!(%signal, %err, "fraud signal count not updated");
                    }
                });
            }
        }
    }
}

/// Writes the signal (or revives the open one this key already has within
/// the window, raised by another instance) and mails the moderators.
async fn raise(
    state: &AppState,
    campaign_id: Uuid,
    kind: SignalKind,
    key: &str,
    count: usize,
) -> Result<()> {
    let now = validate::now();
    let window = chrono::Duration::seconds(state.config.trending_window_secs as i64);
    let (writer, txn) = state.begin_write().await?;
    let existing = fraud_signal::Entity::find()
        .filter(fraud_signal::Column::CampaignId.eq(campaign_id))
        .filter(fraud_signal::Column::Kind.eq(kind))
        .filter(fraud_signal::Column::Key.eq(key))
        .filter(fraud_signal::Column::Status.eq(SignalStatus::Open))
        .filter(fraud_signal::Column::LastSeen.gte(now - window))
        .one(&txn)
        .await?;
    let id = match existing {
        Some(signal) => signal.id,
        None => {
            let signal = fraud_signal::ActiveModel {
                id: Set(Uuid::now_v7()),
                campaign_id: Set(campaign_id),
                kind: Set(kind),
                key: Set(key.to_owned()),
                count: Set(count as i64),
                first_seen: Set(now),
                last_seen: Set(now),
                status: Set(SignalStatus::Open),
                decided_by: Set(None),
                decided_at: Set(None),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            mail_moderators(&txn, state, &signal).await?;
            signal.id
        }
    };
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    state.surge.raised(campaign_id, kind, key, id);
    tracing::warn!(campaign = %campaign_id, ?kind, count, "fraud signal raised");
    Ok(())
}

async fn mail_moderators(
    db: &impl ConnectionTrait,
    state: &AppState,
    signal: &fraud_signal::Model,
) -> Result<()> {
    let title = campaign::Entity::find_by_id(signal.campaign_id)
        .one(db)
        .await?
        .map(|found| found.title)
        .unwrap_or_default();
    let moderators = member::Entity::find()
        .filter(member::Column::Role.is_in([Role::Moderator, Role::Admin]))
        .limit(MAX_RECIPIENTS)
        .all(db)
        .await?;
    let what = match signal.kind {
        SignalKind::Source => "source",
        SignalKind::EmailDomain => "email_domain",
    };
    for moderator in moderators {
        Mail::new(&moderator.email, &moderator.locale, Template::FraudSignal)
            .var("name", &moderator.display_name)
            .var("title", &title)
            .var("kind", what)
            .var("key", &signal.key)
            .var("count", signal.count.to_string())
            .var("window", state.config.trending_window_secs.to_string())
            .var(
                "link",
                format!("{}/campaigns/{}", state.public_url, signal.campaign_id),
            )
            .enqueue(db)
            .await?;
    }
    Ok(())
}

/// Judges a signal harmless: what it held counts now (signatures of
/// members still unconfirmed stay pending for that reason alone).
/// Moderators and admins; audit-logged.
pub async fn dismiss(state: &AppState, actor: Viewer, id: Uuid) -> Result<fraud_signal::Model> {
    require_moderator(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let decided = fraud_signal::Entity::update_many()
        .col_expr(
            fraud_signal::Column::Status,
            Expr::value(SignalStatus::Dismissed),
        )
        .col_expr(fraud_signal::Column::DecidedBy, Expr::value(actor.id))
        .col_expr(
            fraud_signal::Column::DecidedAt,
            Expr::value(validate::now()),
        )
        .filter(fraud_signal::Column::Id.eq(id))
        .filter(fraud_signal::Column::Status.eq(SignalStatus::Open))
        .exec(&txn)
        .await?;
    let signal = fraud_signal::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("fraud signal"))?;
    if decided.rows_affected == 0 {
        return Ok(signal); // already decided
    }
    if state.config.confirmation_required() {
        let unconfirmed = Query::select()
            .column(member::Column::Id)
            .from(member::Entity)
            .and_where(member::Column::EmailConfirmedAt.is_null())
            .to_owned();
        signature::Entity::update_many()
            .col_expr(signature::Column::HeldBy, Expr::value(None::<Uuid>))
            .filter(signature::Column::HeldBy.eq(id))
            .filter(signature::Column::MemberId.in_subquery(unconfirmed))
            .exec(&txn)
            .await?;
    }
    let released = signature::Entity::update_many()
        .col_expr(
            signature::Column::Status,
            Expr::value(SignatureStatus::Counted),
        )
        .col_expr(signature::Column::HeldBy, Expr::value(None::<Uuid>))
        .filter(signature::Column::HeldBy.eq(id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .exec_with_returning(&txn)
        .await?;
    let found = campaign::Entity::find_by_id(signal.campaign_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    signatures::rollup_moved(&txn, &found, &released, 1).await?;
    let note = format!("{} held signatures counted", released.len());
    audit::record(
        &txn,
        actor,
        "dismiss_fraud_signal",
        "fraud_signal",
        Some(id),
        Some(note),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    if !released.is_empty() {
        signatures::after_change(state, &found, released.len() as i64).await;
        state.folder.settle().await;
    }
    state.surge.reload(&state.db).await?;
    state.bus.publish_reload(Reload::FraudSignals).await;
    Ok(signal)
}

/// Signals for moderators to page through, optionally of one campaign and status.
pub fn list(
    actor: Viewer,
    campaign_id: Option<Uuid>,
    status: Option<SignalStatus>,
) -> Result<Select<fraud_signal::Entity>> {
    require_moderator(actor)?;
    let mut query = fraud_signal::Entity::find();
    if let Some(campaign_id) = campaign_id {
        query = query.filter(fraud_signal::Column::CampaignId.eq(campaign_id));
    }
    if let Some(status) = status {
        query = query.filter(fraud_signal::Column::Status.eq(status));
    }
    Ok(query)
}
