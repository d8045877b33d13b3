//! Offline tallies: signatures collected on paper or elsewhere (a market
//! stall, a shop counter, a place with poor connectivity), recorded by the
//! campaign's organiser with evidence, and counted once a moderator
//! verifies them. Verified tallies add to the campaign's
//! `offlineSignatures`, shown apart from online signatures, and to its goal
//! progress. A moderator of the campaign's community may recommend a
//! pending tally; only a site moderator verifies it, and may later revoke
//! it. Every step is written to the audit log.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::offline_tally::{self, TallyStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set,
};
use uuid::Uuid;

use super::response_request::ResponseRule;
use crate::counters::Counter;
use crate::error::{AppError, Result};
use crate::service::viewer::Viewer;
use crate::service::{
    campaigns::campaign as campaigns, oversight::audit, oversight::moderation, signing::milestone,
    signing::standing, validate,
};
use crate::state::AppState;

/// Longest evidence note.
const MAX_EVIDENCE: usize = 2_000;

/// What an organiser records.
pub struct NewTally {
    pub count: i32,
    pub territory: Option<String>,
    pub collected_from: DateTime<Utc>,
    pub collected_to: DateTime<Utc>,
    pub evidence: String,
}

/// Records a tally on a published campaign; its organiser (or an admin).
pub async fn record(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    input: NewTally,
) -> Result<offline_tally::Model> {
    let found = campaigns::get(&state.db, Some(actor), campaign_id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser may record offline signatures".into(),
        ));
    }
    if !matches!(
        found.status,
        CampaignStatus::Open | CampaignStatus::Victory | CampaignStatus::Closed
    ) {
        return Err(AppError::Conflict(
            "offline signatures are recorded on a published campaign".into(),
        ));
    }
    let max = state.config.limits.offline_tally_max as i32;
    if !(1..=max).contains(&input.count) {
        return Err(AppError::invalid(
            "input.count",
            format!("input.count must be between 1 and {max}"),
        ));
    }
    let territory = validate::optional_territory("input.territory", input.territory.as_deref())?;
    let now = validate::now();
    if input.collected_from > input.collected_to {
        return Err(AppError::invalid(
            "input.collectedFrom",
            "input.collectedFrom must not be after input.collectedTo",
        ));
    }
    if input.collected_to > now + chrono::Duration::minutes(5) {
        return Err(AppError::invalid(
            "input.collectedTo",
            "input.collectedTo is in the future",
        ));
    }
    let evidence = validate::text("input.evidence", &input.evidence, 3, MAX_EVIDENCE)?;
    within_caps(state, found.id, input.count).await?;
    let (writer, txn) = state.begin_write().await?;
    let created = offline_tally::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(found.id),
        recorded_by: Set(Some(actor.id)),
        count: Set(input.count),
        territory: Set(territory),
        collected_from: Set(input.collected_from),
        collected_to: Set(input.collected_to),
        evidence: Set(evidence),
        status: Set(TallyStatus::Pending),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        rejection_reason: Set(None),
        created_at: Set(now),
        recommended_by: Set(None),
        recommended_at: Set(None),
        revoked_by: Set(None),
        revoked_at: Set(None),
        revocation_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "offline_tally.recorded",
        "offline_tally",
        Some(created.id),
        Some(format!("{} signatures", created.count)),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// `CONFLICT` when `count` more signatures would take the campaign's
/// tallies (pending or verified) past `CONSUMACT_OFFLINE_TALLY_CAMPAIGN_MAX`;
/// `RATE_LIMITED` past `CONSUMACT_OFFLINE_TALLIES_PER_DAY` tallies recorded
/// on it in the last 24 hours.
async fn within_caps(state: &AppState, campaign_id: Uuid, count: i32) -> Result<()> {
    let live = offline_tally::Entity::find()
        .filter(offline_tally::Column::CampaignId.eq(campaign_id))
        .filter(offline_tally::Column::Status.is_in([TallyStatus::Pending, TallyStatus::Verified]))
        .all(&state.db)
        .await?;
    let held: i64 = live.iter().map(|tally| i64::from(tally.count)).sum();
    let cap = i64::from(state.config.limits.offline_tally_campaign_max);
    if held + i64::from(count) > cap {
        return Err(AppError::Conflict(format!(
            "a campaign holds at most {cap} offline signatures (pending or verified); it has {held}"
        )));
    }
    let day_ago = validate::now() - chrono::Duration::days(1);
    let mut today: Vec<_> = live
        .iter()
        .map(|tally| tally.created_at)
        .filter(|at| *at > day_ago)
        .collect();
    if today.len() >= state.config.limits.offline_tallies_per_day as usize {
        today.sort();
        let frees_at = today[0] + chrono::Duration::days(1);
        let wait = Ord::max((frees_at - validate::now()).num_milliseconds(), 1);
        return Err(AppError::RateLimited {
            retry_after_ms: u64::try_from(wait).unwrap_or(1),
        });
    }
    Ok(())
}

/// A tally and its campaign; `NOT_FOUND` when either is gone.
async fn with_campaign(
    state: &AppState,
    tally_id: Uuid,
) -> Result<(offline_tally::Model, campaign::Model)> {
    let tally = offline_tally::Entity::find_by_id(tally_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("offline tally"))?;
    let found = campaign::Entity::find_by_id(tally.campaign_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("offline tally"))?;
    Ok((tally, found))
}

/// A pending tally and its campaign, for a site moderator who is neither
/// its recorder nor the campaign's organiser, and whose account is older
/// than the campaign: nobody verifies a count they or their own second
/// account made (a community moderator is anyone who created a community,
/// so community moderators do not verify).
async fn for_review(
    state: &AppState,
    actor: Viewer,
    tally_id: Uuid,
) -> Result<(offline_tally::Model, campaign::Model)> {
    let (tally, found) = with_campaign(state, tally_id).await?;
    if !actor.moderates() {
        return Err(AppError::Forbidden(
            "only site moderators and admins verify offline signatures".into(),
        ));
    }
    not_their_own(actor, &tally, &found)?;
    let reviewer = entities::member::Entity::find_by_id(actor.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if reviewer.created_at > found.created_at {
        return Err(AppError::Forbidden(
            "an account made after the campaign does not verify its offline signatures".into(),
        ));
    }
    if tally.status != TallyStatus::Pending {
        return Err(AppError::Conflict("this tally was already reviewed".into()));
    }
    Ok((tally, found))
}

/// `FORBIDDEN` for the tally's recorder and the campaign's organiser.
fn not_their_own(
    actor: Viewer,
    tally: &offline_tally::Model,
    found: &campaign::Model,
) -> Result<()> {
    if tally.recorded_by == Some(actor.id) || found.organiser_id == Some(actor.id) {
        return Err(AppError::Forbidden(
            "a tally is reviewed by someone other than who recorded it and the campaign's organiser"
                .into(),
        ));
    }
    Ok(())
}

/// Moves a pending tally to `to`, guarded by its status; `CONFLICT` when
/// another moderator decided first.
async fn decide(
    db: &impl ConnectionTrait,
    actor: Viewer,
    tally: &offline_tally::Model,
    to: TallyStatus,
    reason: Option<String>,
) -> Result<()> {
    let moved = offline_tally::Entity::update_many()
        .col_expr(offline_tally::Column::Status, Expr::value(to))
        .col_expr(offline_tally::Column::ReviewedBy, Expr::value(actor.id))
        .col_expr(
            offline_tally::Column::ReviewedAt,
            Expr::value(validate::now()),
        )
        .col_expr(offline_tally::Column::RejectionReason, Expr::value(reason))
        .filter(offline_tally::Column::Id.eq(tally.id))
        .filter(offline_tally::Column::Status.eq(TallyStatus::Pending))
        .exec(db)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict("this tally was already reviewed".into()));
    }
    Ok(())
}

/// Verifies a tally: its signatures count from now on.
pub async fn verify(
    state: &AppState,
    actor: Viewer,
    tally_id: Uuid,
) -> Result<offline_tally::Model> {
    let (tally, found) = for_review(state, actor, tally_id).await?;
    let (writer, txn) = state.begin_write().await?;
    decide(&txn, actor, &tally, TallyStatus::Verified, None).await?;
    offline_moved(
        &txn,
        ResponseRule::of(&state.config),
        found.id,
        i64::from(tally.count),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "offline_tally.verified",
        "offline_tally",
        Some(tally.id),
        Some(format!("{} signatures", tally.count)),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), found.id)
        .await;
    // Goal progress counts offline signatures: milestones may be crossed.
    let (updated, online) = counted(state, found).await?;
    let reached = milestone::record_reached(
        &state.db,
        &state.milestones,
        updated.id,
        updated.goal,
        online + updated.offline_signatures,
    )
    .await?;
    if !reached.is_empty() {
        crate::service::signing::signature::announce_milestones(
            state,
            (&updated).into(),
            online,
            &reached,
        )
        .await;
    }
    reviewed(state, tally.id).await
}

/// A campaign's offline signatures, and its stored total, move by `delta`
/// (a tally verified, or revoked), in the caller's transaction.
async fn offline_moved(
    db: &impl ConnectionTrait,
    rule: ResponseRule,
    campaign_id: Uuid,
    delta: i64,
) -> Result<()> {
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::OfflineSignatures,
            Expr::col(campaign::Column::OfflineSignatures).add(delta),
        )
        .filter(campaign::Column::Id.eq(campaign_id))
        .exec(db)
        .await?;
    standing::offline_signatures(db, rule, campaign_id, delta).await
}

/// The campaign as it is now, and its online signatures.
async fn counted(state: &AppState, found: campaign::Model) -> Result<(campaign::Model, i64)> {
    let updated = campaign::Entity::find_by_id(found.id)
        .one(&state.db)
        .await?
        .unwrap_or(found);
    let online = state
        .counters
        .read_many(&state.db, &[updated.id])
        .await?
        .get(&updated.id)
        .map(|counts| counts.get(Counter::Signatures))
        .unwrap_or_default();
    Ok((updated, online))
}

/// Takes a verified tally back out of the count (the sheets were forged,
/// or counted twice), with a reason its organiser sees; site moderators
/// and admins who neither recorded it nor organise the campaign. The
/// campaign's offline and total counts drop by the tally's count exactly
/// once (its status settles two moderators revoking together), and the
/// milestones above the new total are marked as reached before a
/// revocation, as invalidations mark them. Offline tallies are not part of
/// the observatory's member sums, so its rollups do not move.
pub async fn revoke(
    state: &AppState,
    actor: Viewer,
    tally_id: Uuid,
    reason: &str,
) -> Result<offline_tally::Model> {
    if !actor.moderates() {
        return Err(AppError::Forbidden(
            "only site moderators and admins revoke offline signatures".into(),
        ));
    }
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let (tally, found) = with_campaign(state, tally_id).await?;
    not_their_own(actor, &tally, &found)?;
    let (writer, txn) = state.begin_write().await?;
    let moved = offline_tally::Entity::update_many()
        .col_expr(
            offline_tally::Column::Status,
            Expr::value(TallyStatus::Revoked),
        )
        .col_expr(offline_tally::Column::RevokedBy, Expr::value(actor.id))
        .col_expr(
            offline_tally::Column::RevokedAt,
            Expr::value(validate::now()),
        )
        .col_expr(
            offline_tally::Column::RevocationReason,
            Expr::value(reason.clone()),
        )
        .filter(offline_tally::Column::Id.eq(tally.id))
        .filter(offline_tally::Column::Status.eq(TallyStatus::Verified))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict(
            "only a verified tally is revoked, and only once".into(),
        ));
    }
    let count = i64::from(tally.count);
    offline_moved(&txn, ResponseRule::of(&state.config), found.id, -count).await?;
    audit::record(
        &txn,
        actor,
        "offline_tally.revoked",
        "offline_tally",
        Some(tally.id),
        Some(format!("{} signatures: {reason}", tally.count)),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), found.id)
        .await;
    let (updated, online) = counted(state, found).await?;
    milestone::mark_against(&state.db, updated.id, online + updated.offline_signatures).await;
    reviewed(state, tally.id).await
}

/// A moderator of the campaign's community vouches for a pending tally
/// (they may know the stall or the sheets); a site moderator still
/// verifies it. Not the recorder nor the organiser; audit-logged. Doing it
/// again changes nothing more.
pub async fn recommend(
    state: &AppState,
    actor: Viewer,
    tally_id: Uuid,
) -> Result<offline_tally::Model> {
    let (tally, found) = with_campaign(state, tally_id).await?;
    let community_moderator = match found.community_id {
        Some(_) => {
            moderation::scope_of(&state.db, actor, found.community_id).await?
                == Some(moderation::ModerationScope::Community)
        }
        None => false,
    };
    if !community_moderator {
        return Err(AppError::Forbidden(
            "a moderator of the campaign's community recommends its tallies".into(),
        ));
    }
    not_their_own(actor, &tally, &found)?;
    if tally.status != TallyStatus::Pending {
        return Err(AppError::Conflict("this tally was already reviewed".into()));
    }
    if tally.recommended_by.is_some() {
        return Ok(tally);
    }
    let (writer, txn) = state.begin_write().await?;
    offline_tally::Entity::update_many()
        .col_expr(offline_tally::Column::RecommendedBy, Expr::value(actor.id))
        .col_expr(
            offline_tally::Column::RecommendedAt,
            Expr::value(validate::now()),
        )
        .filter(offline_tally::Column::Id.eq(tally.id))
        .filter(offline_tally::Column::RecommendedBy.is_null())
        .exec(&txn)
        .await?;
    audit::record_scoped(
        &txn,
        actor,
        "offline_tally.recommended",
        "offline_tally",
        Some(tally.id),
        None,
        Some(moderation::ModerationScope::Community.name()),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    reviewed(state, tally.id).await
}

/// Rejects a tally, with a reason the organiser sees.
pub async fn reject(
    state: &AppState,
    actor: Viewer,
    tally_id: Uuid,
    reason: &str,
) -> Result<offline_tally::Model> {
    let (tally, _) = for_review(state, actor, tally_id).await?;
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let (writer, txn) = state.begin_write().await?;
    decide(
        &txn,
        actor,
        &tally,
        TallyStatus::Rejected,
        Some(reason.clone()),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "offline_tally.rejected",
        "offline_tally",
        Some(tally.id),
        Some(reason),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    reviewed(state, tally.id).await
}

async fn reviewed(state: &AppState, id: Uuid) -> Result<offline_tally::Model> {
    offline_tally::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("offline tally"))
}

/// A campaign's tallies as `viewer` may see them: all of them for its
/// organiser and moderators, verified ones for everyone else.
pub async fn of_campaign(
    state: &AppState,
    viewer: Option<Viewer>,
    found: &campaign::Model,
) -> Result<Select<offline_tally::Entity>> {
    let query =
        offline_tally::Entity::find().filter(offline_tally::Column::CampaignId.eq(found.id));
    Ok(if sees_every_tally(state, viewer, found).await? {
        query
    } else {
        query.filter(offline_tally::Column::Status.eq(TallyStatus::Verified))
    })
}

/// Whether `viewer` sees a campaign's pending and rejected tallies too:
/// its organiser and whoever may moderate it.
pub async fn sees_every_tally(
    state: &AppState,
    viewer: Option<Viewer>,
    found: &campaign::Model,
) -> Result<bool> {
    Ok(match viewer {
        Some(actor) => {
            found.organiser_id == Some(actor.id)
                || moderation::may_moderate(&state.db, actor, found.community_id).await?
        }
        None => false,
    })
}

/// Pending tallies, for moderators' queue.
pub fn pending() -> Select<offline_tally::Entity> {
    offline_tally::Entity::find().filter(offline_tally::Column::Status.eq(TallyStatus::Pending))
}
