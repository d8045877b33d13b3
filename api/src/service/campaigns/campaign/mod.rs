//! Campaigns: drafting, editing, publishing and closing them, and who may see
//! which. Only a campaign's organiser (or an admin) changes it.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignKind, CampaignStatus};
use entities::campaign_value_tag;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::observatory::rollup::AtomRule;
use crate::service::viewer::Viewer;
use crate::service::{
    campaigns::community, campaigns::pledge, campaigns::sponsorship, campaigns::value_tag as tags,
    validate,
};
use crate::state::AppState;

pub(crate) use moves::{apply_move, status_move};
pub use read::{CampaignFilter, get, get_cached, list, public_ids, tags_of, visible_to};

pub mod moves;
pub mod read;
pub mod target;

/// What `create` needs.
pub struct NewCampaign {
    pub kind: CampaignKind,
    pub title: String,
    pub summary: String,
    pub body: String,
    /// The producer aimed at; with a brand alone, the brand's owner.
    pub producer_id: Option<Uuid>,
    /// The brand the campaign is about, if it names one.
    pub brand_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub goal: Option<i32>,
    pub deadline: Option<DateTime<Utc>>,
    pub value_tags: Vec<String>,
    pub selection_threshold: Option<i32>,
    pub reward_description: Option<String>,
    /// Where the action applies (ISO 3166).
    pub territory: Option<String>,
    /// `en` or `fr`; by default the organiser's language.
    pub language: Option<String>,
    /// Counted signatures at which the producer is asked to answer; at
    /// least `CONSUMACT_RESPONSE_THRESHOLD_MIN`; by default
    /// `CONSUMACT_RESPONSE_THRESHOLD`.
    pub response_threshold: Option<i32>,
}

/// What `update` may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct CampaignChanges {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub goal: Option<i32>,
    pub deadline: Option<DateTime<Utc>>,
    pub value_tags: Option<Vec<String>>,
    pub selection_threshold: Option<i32>,
    /// An empty text removes it.
    pub reward_description: Option<String>,
    /// An empty text removes it.
    pub territory: Option<String>,
    pub language: Option<String>,
    /// Until the campaign has requested an answer.
    pub response_threshold: Option<i32>,
}

/// How a campaign ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Victory,
    Closed,
}

/// An organiser's response threshold: at least the instance's minimum.
fn check_response_threshold(state: &AppState, threshold: Option<i32>) -> Result<Option<i32>> {
    let min = state.config.responses.response_threshold_min;
    match threshold {
        Some(value) if value < 0 || (value as u32) < min || value > validate::MAX_GOAL => {
            Err(AppError::invalid(
                "input.responseThreshold",
                format!(
                    "input.responseThreshold must be between {min} and {}",
                    validate::MAX_GOAL
                ),
            ))
        }
        other => Ok(other),
    }
}

fn check_threshold(kind: CampaignKind, threshold: Option<i32>) -> Result<Option<i32>> {
    match threshold {
        None => Ok(None),
        Some(_) if kind != CampaignKind::CoCreation => Err(AppError::invalid(
            "input.selectionThreshold",
            "input.selectionThreshold only applies to CO_CREATION campaigns",
        )),
        Some(value) if !(1..=validate::MAX_GOAL).contains(&value) => Err(AppError::invalid(
            "input.selectionThreshold",
            format!(
                "input.selectionThreshold must be between 1 and {}",
                validate::MAX_GOAL
            ),
        )),
        Some(value) => Ok(Some(value)),
    }
}

/// Longest reward description.
const MAX_REWARD: usize = 2_000;

/// What contributors of a co-creation campaign get; `None` for an empty text.
fn check_reward(kind: CampaignKind, reward: Option<&str>) -> Result<Option<String>> {
    let reward = validate::optional_text("input.rewardDescription", reward, MAX_REWARD)?;
    if reward.is_some() && kind != CampaignKind::CoCreation {
        return Err(AppError::invalid(
            "input.rewardDescription",
            "input.rewardDescription only applies to CO_CREATION campaigns",
        ));
    }
    Ok(reward)
}

/// Drafts a campaign; its creator becomes its organiser.
pub async fn create(
    state: &AppState,
    actor: Viewer,
    input: NewCampaign,
) -> Result<campaign::Model> {
    let db = &state.db;
    let now = validate::now();
    let title = validate::text("input.title", &input.title, 5, 140)?;
    let summary = validate::text("input.summary", &input.summary, 10, 280)?;
    let body = validate::text("input.body", &input.body, 1, 20_000)?;
    let goal = validate::goal("input.goal", input.goal)?;
    let deadline = validate::deadline("input.deadline", input.deadline, now)?;
    let selection_threshold = check_threshold(input.kind, input.selection_threshold)?;
    let response_threshold = check_response_threshold(state, input.response_threshold)?;
    let reward_description = check_reward(input.kind, input.reward_description.as_deref())?;
    let territory = validate::optional_territory("input.territory", input.territory.as_deref())?;
    let language = crate::service::identity::profile::language_of(
        db,
        "input.language",
        input.language.as_deref(),
        actor,
    )
    .await?;
    let tag_ids = tags::resolve(db, "input.valueTags", &input.value_tags).await?;
    let producer_id = target::resolve(db, input.producer_id, input.brand_id).await?;
    if let Some(community_id) = input.community_id {
        community::get(db, community_id).await?;
        // Filing a campaign under a community puts it in that community's
        // moderators' hands: only a member of it may.
        let members = community::memberships(db, actor.id, &[community_id]).await?;
        if members.is_empty() && !actor.is_admin() {
            return Err(AppError::Forbidden(
                "a campaign is filed under a community its organiser belongs to: join it first"
                    .into(),
            ));
        }
    }

    let (writer, txn) = state.begin_write().await?;
    let created = campaign::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(input.kind),
        status: Set(CampaignStatus::Draft),
        title: Set(title),
        summary: Set(summary),
        body: Set(body),
        producer_id: Set(producer_id),
        brand_id: Set(input.brand_id),
        community_id: Set(input.community_id),
        organiser_id: Set(Some(actor.id)),
        goal: Set(goal),
        deadline: Set(deadline),
        selection_threshold: Set(selection_threshold),
        published_at: Set(None),
        closed_at: Set(None),
        hidden_at: Set(None),
        hidden_scope: Set(None),
        hidden_reason: Set(None),
        sponsor_code: Set(None),
        sponsor_count: Set(0),
        rejection_reason: Set(None),
        offline_signatures: Set(0),
        reward_description: Set(reward_description),
        territory: Set(territory),
        language: Set(language),
        signature_total: Set(0),
        momentum: Set(crate::service::signing::standing::NO_MOMENTUM),
        response_threshold: Set(response_threshold),
        response_due_at: Set(None),
        answered_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    replace_tags(&txn, created.id, tag_ids).await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

async fn replace_tags(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    tag_ids: Vec<Uuid>,
) -> Result<()> {
    campaign_value_tag::Entity::delete_many()
        .filter(campaign_value_tag::Column::CampaignId.eq(campaign_id))
        .exec(db)
        .await?;
    if !tag_ids.is_empty() {
        campaign_value_tag::Entity::insert_many(tag_ids.into_iter().map(|value_tag_id| {
            campaign_value_tag::ActiveModel {
                campaign_id: Set(campaign_id),
                value_tag_id: Set(value_tag_id),
            }
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}

/// The campaign `actor` wants to change, refusing anyone but its organiser or an admin.
async fn get_for_organiser(
    db: &impl ConnectionTrait,
    actor: Viewer,
    id: Uuid,
) -> Result<campaign::Model> {
    let found = get(db, Some(actor), id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser or an admin may change it".into(),
        ));
    }
    Ok(found)
}

/// Edits a draft or open campaign.
pub async fn update(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    changes: CampaignChanges,
) -> Result<campaign::Model> {
    let db = &state.db;
    let found = get_for_organiser(db, actor, id).await?;
    if matches!(
        found.status,
        CampaignStatus::Victory | CampaignStatus::Closed | CampaignStatus::Rejected
    ) {
        return Err(AppError::Conflict(
            "a closed campaign can no longer be edited".into(),
        ));
    }
    let now = validate::now();
    let kind = found.kind;
    let mut active: campaign::ActiveModel = found.into();
    if let Some(title) = changes.title {
        active.title = Set(validate::text("input.title", &title, 5, 140)?);
    }
    if let Some(summary) = changes.summary {
        active.summary = Set(validate::text("input.summary", &summary, 10, 280)?);
    }
    if let Some(body) = changes.body {
        active.body = Set(validate::text("input.body", &body, 1, 20_000)?);
    }
    if let Some(goal) = changes.goal {
        active.goal = Set(validate::goal("input.goal", Some(goal))?);
    }
    if changes.response_threshold.is_some() {
        let threshold = check_response_threshold(state, changes.response_threshold)?;
        if crate::service::signing::response_request::requested(&state.db, id).await? {
            return Err(AppError::Conflict(
                "this campaign has already requested an answer: its threshold no longer moves"
                    .into(),
            ));
        }
        active.response_threshold = Set(threshold);
    }
    if let Some(deadline) = changes.deadline {
        active.deadline = Set(validate::deadline("input.deadline", Some(deadline), now)?);
    }
    if changes.selection_threshold.is_some() {
        active.selection_threshold = Set(check_threshold(kind, changes.selection_threshold)?);
    }
    if let Some(reward) = changes.reward_description {
        active.reward_description = Set(check_reward(kind, Some(&reward))?);
    }
    if let Some(territory) = changes.territory {
        active.territory = Set(validate::clearable_territory(
            "input.territory",
            &territory,
        )?);
    }
    if let Some(language) = changes.language {
        active.language = Set(validate::locale("input.language", Some(&language))?);
    }
    let tag_ids = match changes.value_tags {
        Some(slugs) => Some(tags::resolve(db, "input.valueTags", &slugs).await?),
        None => None,
    };
    active.updated_at = Set(now);
    let (writer, txn) = state.begin_write().await?;
    let updated = active.update(&txn).await?;
    if let Some(tag_ids) = tag_ids {
        replace_tags(&txn, updated.id, tag_ids).await?;
        // A visible campaign's values are its producer's value groups.
        crate::service::observatory::groups::regroup(
            &txn,
            AtomRule::of(&state.config),
            updated.producer_id,
        )
        .await?;
    }
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), updated.id)
        .await;
    Ok(updated)
}

/// Publishes a draft: `OPEN` at once, or first `SPONSORING` / `IN_REVIEW`
/// when the instance asks for sponsors or review (see `sponsorship`). An
/// open campaign's live counters are created first, so that signers only
/// ever add to them. The organiser needs a confirmed address.
pub async fn publish(state: &AppState, actor: Viewer, id: Uuid) -> Result<campaign::Model> {
    let found = get_for_organiser(&state.db, actor, id).await?;
    actor.require_confirmed()?;
    if found.status != CampaignStatus::Draft {
        return Err(AppError::Conflict(format!(
            "only a draft can be published; this campaign is {}",
            crate::vocabulary::campaign_status_name(found.status)
        )));
    }
    let now = validate::now();
    if found.deadline.is_some_and(|deadline| deadline <= now) {
        return Err(AppError::invalid(
            "deadline",
            "the deadline has passed; move it before publishing",
        ));
    }
    let to = sponsorship::first_step(state);
    let mut update = status_move(found.id, CampaignStatus::Draft, to, now);
    if to == CampaignStatus::Sponsoring {
        update = update.col_expr(
            campaign::Column::SponsorCode,
            Expr::value(sponsorship::new_sponsor_code()),
        );
    }
    let (writer, txn) = state.begin_write().await?;
    let moved = apply_move(&txn, AtomRule::of(&state.config), update, found.id).await?;
    if to != CampaignStatus::Open {
        sponsorship::mail_organiser(&txn, state, &moved).await?;
    }
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), moved.id)
        .await;
    if to == CampaignStatus::Open {
        sponsorship::opened(state, &moved).await;
    }
    state.outbox.wake();
    Ok(moved)
}

/// `OPEN → VICTORY | CLOSED`; conditional pledges still pending expire.
pub async fn close(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    outcome: Outcome,
) -> Result<campaign::Model> {
    let db = &state.db;
    let found = get_for_organiser(db, actor, id).await?;
    if found.status != CampaignStatus::Open {
        return Err(AppError::Conflict(format!(
            "only an open campaign can be closed; this campaign is {}",
            crate::vocabulary::campaign_status_name(found.status)
        )));
    }
    let to = match outcome {
        Outcome::Victory => CampaignStatus::Victory,
        Outcome::Closed => CampaignStatus::Closed,
    };
    let update = status_move(found.id, CampaignStatus::Open, to, validate::now());
    let (writer, txn) = state.begin_write().await?;
    let closed = apply_move(&txn, AtomRule::of(&state.config), update, found.id).await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .campaign_changed(state.bus.as_ref(), closed.id)
        .await;
    state.outbox.wake();
    pledge::expire_pending(state, closed.id).await?;
    Ok(closed)
}
