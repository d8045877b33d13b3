//! The producer's voice: members claim to speak for a producer (an admin
//! approves), approved representatives answer campaigns, possibly with a
//! commitment and a due date; the campaign's signers review whether it was
//! kept, and the organiser closes it as KEPT or BROKEN by their majority.
//! Organisers also post news on their campaigns.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::commitment_review::{self, Verdict};
use entities::producer_representative::{self, ClaimStatus};
use entities::producer_response::{self, CommitmentStatus};
use entities::{campaign_update, signature};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::event;
use crate::service::observatory::rollup::AtomRule;
use crate::service::viewer::Viewer;
use crate::service::{
    campaigns::campaign as campaigns, oversight::audit, producers::producer, validate,
};
use crate::state::AppState;
use crate::vocabulary::EventType;

/// Asks to speak for a producer.
pub async fn claim(
    state: &AppState,
    actor: Viewer,
    producer_id: Uuid,
) -> Result<producer_representative::Model> {
    producer::get(&state.db, producer_id).await?;
    producer_representative::ActiveModel {
        id: Set(Uuid::now_v7()),
        producer_id: Set(producer_id),
        member_id: Set(actor.id),
        status: Set(ClaimStatus::Pending),
        decided_by: Set(None),
        decided_at: Set(None),
        created_at: Set(validate::now()),
    }
    .insert(&state.db)
    .await
    .map_err(AppError::on_unique(
        "you have already claimed this producer",
    ))
}

/// Approves or rejects a pending claim; admins only.
pub async fn decide_claim(
    state: &AppState,
    actor: Viewer,
    claim_id: Uuid,
    approve: bool,
) -> Result<producer_representative::Model> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only an admin may decide producer claims".into(),
        ));
    }
    let found = producer_representative::Entity::find_by_id(claim_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    if found.status != ClaimStatus::Pending {
        return Err(AppError::Conflict("this claim was decided already".into()));
    }
    let mut decided: producer_representative::ActiveModel = found.into();
    decided.status = Set(if approve {
        ClaimStatus::Approved
    } else {
        ClaimStatus::Rejected
    });
    decided.decided_by = Set(Some(actor.id));
    decided.decided_at = Set(Some(validate::now()));
    let decided = decided.update(&state.db).await?;
    let action = if approve {
        "APPROVE_CLAIM"
    } else {
        "REJECT_CLAIM"
    };
    audit::record(&state.db, actor, action, "CLAIM", Some(decided.id), None).await?;
    Ok(decided)
}

/// Claims awaiting an admin's decision (or all of one status).
pub fn claims(status: ClaimStatus) -> Select<producer_representative::Entity> {
    producer_representative::Entity::find()
        .filter(producer_representative::Column::Status.eq(status))
}

pub async fn is_representative(
    db: &impl ConnectionTrait,
    actor: Viewer,
    producer_id: Uuid,
) -> Result<bool> {
    Ok(producer_representative::Entity::find()
        .filter(producer_representative::Column::ProducerId.eq(producer_id))
        .filter(producer_representative::Column::MemberId.eq(actor.id))
        .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
        .one(db)
        .await?
        .is_some())
}

/// What `respond` needs.
pub struct NewResponse {
    pub body: String,
    pub commitment: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// The producer's public answer to a published campaign; its approved
/// representatives only.
pub async fn respond(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    input: NewResponse,
) -> Result<producer_response::Model> {
    let found = match published(state, actor, campaign_id).await {
        Err(AppError::NotFound(_)) => hidden_but_requested(state, actor, campaign_id).await?,
        other => other?,
    };
    if !is_representative(&state.db, actor, found.producer_id).await? {
        return Err(AppError::Forbidden(
            "only the producer's approved representatives may respond".into(),
        ));
    }
    let body = validate::text("input.body", &input.body, 1, 10_000)?;
    let commitment =
        validate::optional_text("input.commitment", input.commitment.as_deref(), 2_000)?;
    if commitment.is_none() && input.due_at.is_some() {
        return Err(AppError::invalid(
            "input.dueAt",
            "input.dueAt needs a commitment",
        ));
    }
    let due_at = validate::deadline("input.dueAt", input.due_at, validate::now())?;
    let (writer, txn) = state.begin_write().await?;
    let created = producer_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(found.id),
        producer_id: Set(found.producer_id),
        author_id: Set(Some(actor.id)),
        body: Set(body),
        commitment_status: Set(commitment.as_ref().map(|_| CommitmentStatus::Pending)),
        commitment: Set(commitment),
        due_at: Set(due_at),
        commitment_closed_at: Set(None),
        hidden_at: Set(None),
        hidden_scope: Set(None),
        hidden_reason: Set(None),
        due_notified_at: Set(None),
        created_at: Set(validate::now()),
    }
    .insert(&txn)
    .await?;
    crate::service::signing::response_request::answered(&txn, found.id, created.created_at).await?;
    crate::service::observatory::write_facts::refresh(
        &txn,
        AtomRule::of(&state.config),
        created.producer_id,
    )
    .await?;
    event::emit(
        &txn,
        EventType::ProducerResponded,
        found.id,
        json!({ "response": response_json(&created) }),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(created)
}

/// What payloads say of a producer's response.
fn response_json(response: &producer_response::Model) -> serde_json::Value {
    json!({
        "id": response.id,
        "producerId": response.producer_id,
        "body": response.body,
        "commitment": response.commitment,
        "commitmentStatus": response.commitment_status.map(|status| format!("{status:?}").to_uppercase()),
        "dueAt": response.due_at,
        "createdAt": response.created_at,
    })
}

/// Announces `commitment.due` for pending commitments whose due date
/// passed, once each; how many.
pub async fn announce_due(state: &AppState) -> Result<usize> {
    let now = validate::now();
    let due = producer_response::Entity::find()
        .filter(producer_response::Column::CommitmentStatus.eq(CommitmentStatus::Pending))
        .filter(producer_response::Column::DueAt.lte(now))
        .filter(producer_response::Column::DueNotifiedAt.is_null())
        .filter(producer_response::Column::HiddenAt.is_null())
        .limit(100)
        .all(&state.db)
        .await?;
    let mut announced = 0;
    for response in due {
        let (writer, txn) = state.begin_write().await?;
        let marked = producer_response::Entity::update_many()
            .col_expr(producer_response::Column::DueNotifiedAt, Expr::value(now))
            .filter(producer_response::Column::Id.eq(response.id))
            .filter(producer_response::Column::DueNotifiedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if marked == 1 {
            event::emit(
                &txn,
                EventType::CommitmentDue,
                response.campaign_id,
                json!({ "response": response_json(&response) }),
            )
            .await?;
            announced += 1;
        }
        txn.commit().await?;
        drop(writer);
    }
    if announced > 0 {
        state.outbox.wake();
    }
    Ok(announced)
}

/// A hidden campaign that requested an answer stays answerable by the
/// producer's representatives: the request obliges them, and their answer
/// counts whatever became of the campaign.
async fn hidden_but_requested(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
) -> Result<campaign::Model> {
    let found = campaign::Entity::find_by_id(campaign_id)
        .one(&state.db)
        .await?
        .filter(|found| found.hidden_at.is_some() && found.response_due_at.is_some())
        .ok_or(AppError::NotFound("campaign"))?;
    if !is_representative(&state.db, actor, found.producer_id).await? {
        return Err(AppError::NotFound("campaign"));
    }
    Ok(found)
}

async fn published(state: &AppState, actor: Viewer, campaign_id: Uuid) -> Result<campaign::Model> {
    let found = campaigns::get(&state.db, Some(actor), campaign_id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status == CampaignStatus::Draft {
        return Err(AppError::Conflict("this campaign is not published".into()));
    }
    Ok(found)
}

async fn pending_commitment(
    db: &impl ConnectionTrait,
    response_id: Uuid,
) -> Result<producer_response::Model> {
    let found = producer_response::Entity::find_by_id(response_id)
        .one(db)
        .await?
        .filter(|found| found.hidden_at.is_none())
        .ok_or(AppError::NotFound("response"))?;
    match found.commitment_status {
        Some(CommitmentStatus::Pending) => Ok(found),
        None => Err(AppError::Conflict(
            "this response makes no commitment".into(),
        )),
        Some(_) => Err(AppError::Conflict("this commitment is closed".into())),
    }
}

/// A signer's verdict on a pending commitment; changeable until it closes.
pub async fn review(
    state: &AppState,
    actor: Viewer,
    response_id: Uuid,
    verdict: Verdict,
) -> Result<producer_response::Model> {
    let found = pending_commitment(&state.db, response_id).await?;
    let signed = signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(found.campaign_id))
        .filter(signature::Column::MemberId.eq(actor.id))
        .filter(signature::Column::Status.eq(signature::SignatureStatus::Counted))
        .one(&state.db)
        .await?;
    if signed.is_none() {
        return Err(AppError::Forbidden(
            "only the campaign's signers review its commitments".into(),
        ));
    }
    commitment_review::Entity::insert(commitment_review::ActiveModel {
        response_id: Set(found.id),
        member_id: Set(actor.id),
        verdict: Set(verdict),
        created_at: Set(validate::now()),
    })
    .on_conflict(
        OnConflict::columns([
            commitment_review::Column::ResponseId,
            commitment_review::Column::MemberId,
        ])
        .update_columns([
            commitment_review::Column::Verdict,
            commitment_review::Column::CreatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    Ok(found)
}

/// Kept and broken verdicts on a commitment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reviews {
    pub kept: i64,
    pub broken: i64,
}

/// The verdicts on one response.
pub async fn reviews(db: &impl ConnectionTrait, response_id: Uuid) -> Result<Reviews> {
    #[derive(sea_orm::FromQueryResult)]
    struct ByVerdict {
        verdict: Verdict,
        n: i64,
    }
    let rows = commitment_review::Entity::find()
        .select_only()
        .column(commitment_review::Column::Verdict)
        .column_as(commitment_review::Column::MemberId.count(), "n")
        .filter(commitment_review::Column::ResponseId.eq(response_id))
        .group_by(commitment_review::Column::Verdict)
        .into_model::<ByVerdict>()
        .all(db)
        .await?;
    let count = |verdict: Verdict| {
        rows.iter()
            .filter(|row| row.verdict == verdict)
            .map(|row| row.n)
            .sum()
    };
    Ok(Reviews {
        kept: count(Verdict::Kept),
        broken: count(Verdict::Broken),
    })
}

/// Closes a pending commitment by its reviewers' majority (a tie is BROKEN:
/// a kept promise should convince). The campaign's organiser or an admin.
pub async fn close_commitment(
    state: &AppState,
    actor: Viewer,
    response_id: Uuid,
) -> Result<producer_response::Model> {
    let found = pending_commitment(&state.db, response_id).await?;
    let campaign = campaigns::get(&state.db, Some(actor), found.campaign_id)
        .await?
        .ok_or(AppError::NotFound("response"))?;
    if campaign.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser or an admin may close a commitment".into(),
        ));
    }
    let tally = reviews(&state.db, found.id).await?;
    if tally.kept + tally.broken == 0 {
        return Err(AppError::Conflict(
            "no signer has reviewed this commitment yet".into(),
        ));
    }
    let outcome = if tally.kept > tally.broken {
        CommitmentStatus::Kept
    } else {
        CommitmentStatus::Broken
    };
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let closed = producer_response::Entity::update_many()
        .col_expr(
            producer_response::Column::CommitmentStatus,
            Expr::value(outcome),
        )
        .col_expr(
            producer_response::Column::CommitmentClosedAt,
            Expr::value(now),
        )
        .filter(producer_response::Column::Id.eq(found.id))
        .filter(producer_response::Column::CommitmentStatus.eq(CommitmentStatus::Pending))
        .exec(&txn)
        .await?
        .rows_affected;
    if closed == 0 {
        return Err(AppError::Conflict("this commitment is closed".into()));
    }
    let closed = producer_response::Entity::find_by_id(found.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("response"))?;
    crate::service::observatory::write_facts::refresh(
        &txn,
        AtomRule::of(&state.config),
        closed.producer_id,
    )
    .await?;
    event::emit(
        &txn,
        EventType::CommitmentClosed,
        closed.campaign_id,
        json!({
            "response": response_json(&closed),
            "kept": tally.kept,
            "broken": tally.broken,
        }),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(closed)
}

/// Visible responses to a campaign.
pub fn of_campaign(campaign_id: Uuid) -> Select<producer_response::Entity> {
    producer_response::Entity::find()
        .filter(producer_response::Column::CampaignId.eq(campaign_id))
        .filter(producer_response::Column::HiddenAt.is_null())
}

/// Visible responses of a producer that made a commitment, on public
/// campaigns only (a hidden or unpublished campaign's answers are not
/// listed, as the campaign itself is not).
pub fn commitments_of(producer_id: Uuid) -> Select<producer_response::Entity> {
    producer_response::Entity::find()
        .filter(producer_response::Column::ProducerId.eq(producer_id))
        .filter(producer_response::Column::Commitment.is_not_null())
        .filter(producer_response::Column::HiddenAt.is_null())
        .filter(producer_response::Column::CampaignId.in_subquery(campaigns::public_ids()))
}

/// Posts news on a campaign; its organiser or an admin.
pub async fn post_update(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    title: &str,
    body: &str,
) -> Result<campaign_update::Model> {
    let found = published(state, actor, campaign_id).await?;
    if found.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser or an admin may post updates".into(),
        ));
    }
    let title = validate::text("input.title", title, 3, 140)?;
    let body = validate::text("input.body", body, 1, 20_000)?;
    let (writer, txn) = state.begin_write().await?;
    let posted = campaign_update::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(found.id),
        author_id: Set(Some(actor.id)),
        title: Set(title),
        body: Set(body),
        created_at: Set(validate::now()),
    }
    .insert(&txn)
    .await?;
    event::emit(
        &txn,
        EventType::CampaignUpdatePosted,
        found.id,
        json!({ "update": { "id": posted.id, "title": posted.title, "body": posted.body } }),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(posted)
}

/// A campaign's updates.
pub fn updates_of(campaign_id: Uuid) -> Select<campaign_update::Entity> {
    campaign_update::Entity::find().filter(campaign_update::Column::CampaignId.eq(campaign_id))
}
