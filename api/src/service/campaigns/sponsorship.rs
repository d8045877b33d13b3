//! Sponsors and review before a campaign goes public, each switched on per
//! instance (`CONSUMACT_CAMPAIGN_SPONSORS`, `CONSUMACT_CAMPAIGN_REVIEW`).
//!
//! `publishCampaign` moves a draft to `SPONSORING` (with a secret sponsor
//! code for its organiser) when sponsors are required, else to `IN_REVIEW`
//! when review is on, else straight to `OPEN`. Confirmed members back a
//! sponsoring campaign with its code; the last sponsor needed moves it on.
//! A moderator approves (`OPEN`) or rejects (`REJECTED`, with a public
//! reason) a campaign in review. Every step mails the organiser through the
//! outbox, in the transaction of the step; on opening, each sponsor's
//! backing becomes their counted signature.

use entities::campaign::{self, CampaignStatus};
use entities::signature::{self, SignatureStatus};
use entities::{campaign_sponsor, member};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::campaigns::campaign::moves as campaigns;
use crate::service::fold;
use crate::service::observatory::rollup::AtomRule;
use crate::service::oversight::moderation::require_moderator;
use crate::service::secret::random_token;
use crate::service::viewer::Viewer;
use crate::service::{oversight::audit, signing::milestone, validate};
use crate::state::AppState;

/// Where a published draft goes first under this instance's settings.
pub fn first_step(state: &AppState) -> CampaignStatus {
    if state.config.campaign_sponsors > 0 {
        CampaignStatus::Sponsoring
    } else if state.config.campaign_review {
        CampaignStatus::InReview
    } else {
        CampaignStatus::Open
    }
}

/// Where a campaign goes once its sponsors are all there.
fn after_sponsors(state: &AppState) -> CampaignStatus {
    if state.config.campaign_review {
        CampaignStatus::InReview
    } else {
        CampaignStatus::Open
    }
}

/// A fresh sponsor code: short enough to share by hand, long enough not to guess.
pub fn new_sponsor_code() -> String {
    random_token("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}

/// Mails the organiser of `found` about the step it just took, within the
/// caller's transaction.
pub async fn mail_organiser(
    db: &impl ConnectionTrait,
    state: &AppState,
    found: &campaign::Model,
) -> Result<()> {
    let Some(organiser_id) = found.organiser_id else {
        return Ok(());
    };
    let Some(organiser) = member::Entity::find_by_id(organiser_id).one(db).await? else {
        return Ok(());
    };
    let template = match found.status {
        CampaignStatus::Sponsoring => Template::CampaignSponsoring,
        CampaignStatus::InReview => Template::CampaignInReview,
        CampaignStatus::Open => Template::CampaignOpened,
        CampaignStatus::Rejected => Template::CampaignRejected,
        _ => return Ok(()),
    };
    Mail::new(&organiser.email, &organiser.locale, template)
        .var("name", &organiser.display_name)
        .var("title", &found.title)
        .var("code", found.sponsor_code.clone().unwrap_or_default())
        .var("sponsors", state.config.campaign_sponsors.to_string())
        .var("reason", found.rejection_reason.clone().unwrap_or_default())
        .var(
            "link",
            format!("{}/campaigns/{}", state.public_url, found.id),
        )
        .enqueue(db)
        .await?;
    Ok(())
}

/// Backs the sponsoring campaign whose code is `code`.
pub async fn sponsor(state: &AppState, actor: Viewer, code: &str) -> Result<campaign::Model> {
    actor.require_confirmed()?;
    let code = code.trim();
    if code.is_empty() || code.len() > 32 {
        return Err(AppError::NotFound("campaign"));
    }
    let (writer, txn) = state.begin_write().await?;
    let found = campaign::Entity::find()
        .filter(campaign::Column::SponsorCode.eq(code))
        .filter(campaign::Column::HiddenAt.is_null())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status != CampaignStatus::Sponsoring {
        return Err(AppError::Conflict(
            "this campaign no longer gathers sponsors".into(),
        ));
    }
    if found.organiser_id == Some(actor.id) {
        return Err(AppError::Conflict(
            "an organiser cannot sponsor their own campaign".into(),
        ));
    }
    let now = validate::now();
    campaign_sponsor::ActiveModel {
        campaign_id: Set(found.id),
        member_id: Set(actor.id),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(AppError::on_unique("you already sponsor this campaign"))?;
    let counted = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::SponsorCount,
            Expr::col(campaign::Column::SponsorCount).add(1),
        )
        .filter(campaign::Column::Id.eq(found.id))
        .filter(campaign::Column::Status.eq(CampaignStatus::Sponsoring))
        .exec(&txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(AppError::Conflict(
            "this campaign no longer gathers sponsors".into(),
        ));
    }
    let mut updated = reload(&txn, found.id).await?;
    let enough = updated.sponsor_count >= state.config.campaign_sponsors as i32;
    if enough {
        updated = advance(
            &txn,
            state,
            updated,
            CampaignStatus::Sponsoring,
            after_sponsors(state),
            None,
        )
        .await?;
    }
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), updated.id)
        .await;
    state.outbox.wake();
    if updated.status == CampaignStatus::Open {
        opened(state, &updated).await;
    }
    Ok(updated)
}

/// `IN_REVIEW → OPEN`, by a moderator.
pub async fn approve(state: &AppState, actor: Viewer, id: Uuid) -> Result<campaign::Model> {
    decide(state, actor, id, CampaignStatus::Open, None).await
}

/// `IN_REVIEW → REJECTED` with a public reason, by a moderator.
pub async fn reject(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    reason: &str,
) -> Result<campaign::Model> {
    let reason = validate::text("reason", reason, 3, 1_000)?;
    decide(state, actor, id, CampaignStatus::Rejected, Some(reason)).await
}

async fn decide(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    to: CampaignStatus,
    reason: Option<String>,
) -> Result<campaign::Model> {
    require_moderator(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let found = campaign::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status != CampaignStatus::InReview {
        return Err(AppError::Conflict(
            "only a campaign in review can be approved or rejected".into(),
        ));
    }
    let decided = advance(
        &txn,
        state,
        found,
        CampaignStatus::InReview,
        to,
        reason.clone(),
    )
    .await?;
    let action = if to == CampaignStatus::Open {
        "approve_campaign"
    } else {
        "reject_campaign"
    };
    audit::record(&txn, actor, action, "campaign", Some(id), reason).await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), decided.id)
        .await;
    state.outbox.wake();
    if decided.status == CampaignStatus::Open {
        opened(state, &decided).await;
    }
    Ok(decided)
}

/// Moves `found` from `from` to `to` (guarded, so concurrent steps cannot
/// both succeed), mails its organiser, and on opening turns its sponsors
/// into signatures.
async fn advance(
    txn: &impl ConnectionTrait,
    state: &AppState,
    found: campaign::Model,
    from: CampaignStatus,
    to: CampaignStatus,
    reason: Option<String>,
) -> Result<campaign::Model> {
    let mut update = campaigns::status_move(found.id, from, to, validate::now());
    if to == CampaignStatus::Rejected {
        update = update.col_expr(campaign::Column::RejectionReason, Expr::value(reason));
    }
    let moved = campaigns::apply_move(txn, AtomRule::of(&state.config), update, found.id).await?;
    if to == CampaignStatus::Open {
        sponsors_sign(txn, &moved).await?;
    }
    mail_organiser(txn, state, &moved).await?;
    Ok(moved)
}

/// Each sponsor's backing becomes their counted signature, queued for the fold.
async fn sponsors_sign(txn: &impl ConnectionTrait, opened: &campaign::Model) -> Result<()> {
    let sponsors = campaign_sponsor::Entity::find()
        .filter(campaign_sponsor::Column::CampaignId.eq(opened.id))
        .all(txn)
        .await?;
    if sponsors.is_empty() {
        return Ok(());
    }
    let territories: std::collections::HashMap<Uuid, Option<String>> = member::Entity::find()
        .filter(member::Column::Id.is_in(sponsors.iter().map(|s| s.member_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|found| (found.id, found.territory))
        .collect();
    let now = validate::now();
    let rows = sponsors.iter().map(|sponsor| signature::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(opened.id),
        producer_id: Set(opened.producer_id),
        member_id: Set(Some(sponsor.member_id)),
        comment: Set(None),
        anonymous: Set(false),
        territory: Set(territories.get(&sponsor.member_id).cloned().flatten()),
        hidden_at: Set(None),
        hidden_scope: Set(None),
        status: Set(SignatureStatus::Counted),
        // Their backing was given before the campaign opened, from no request.
        source_key: Set(None),
        email_domain: Set(None),
        invalidation_id: Set(None),
        held_by: Set(None),
        created_at: Set(now),
    });
    signature::Entity::insert_many(rows).exec(txn).await?;
    let mut changes = fold::Changes::default();
    for sponsor in &sponsors {
        changes.signature(
            opened.producer_id,
            Some(sponsor.member_id),
            opened.id,
            opened.community_id,
            now,
            1,
        );
    }
    fold::record(txn, &changes).await
}

/// After an opening commits: live counters from the database (sponsors'
/// signatures included) and the milestones they already reach.
pub async fn opened(state: &AppState, found: &campaign::Model) {
    if let Err(err) = state.counters.prime(&state.db, found.id).await {
        tracing::warn!(campaign = %found.id, ?err, "counters not primed");
    }
    // Counters first (right after the commit), then the fold.
    state.folder.settle().await;
    let sponsors = i64::from(found.sponsor_count);
    if sponsors > 0
        && let Err(err) =
            milestone::record_reached(&state.db, &state.milestones, found.id, found.goal, sponsors)
                .await
    {
        tracing::warn!(campaign = %found.id, ?err, "milestones not recorded");
    }
}

async fn reload(db: &impl ConnectionTrait, id: Uuid) -> Result<campaign::Model> {
    campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("campaign"))
}

/// Campaigns waiting for a moderator, oldest first when paged by id.
pub fn in_review(actor: Viewer) -> Result<Select<campaign::Entity>> {
    require_moderator(actor)?;
    Ok(campaign::Entity::find().filter(campaign::Column::Status.eq(CampaignStatus::InReview)))
}
