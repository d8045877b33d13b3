//! A producer's duty to answer: what its representatives may do with a
//! response request (one extension, with a public reason), what moderators
//! may do (void a request made on a campaign found fraudulent), the
//! overdue announcement, and each producer's public accountability.
//! The request itself is made by the count (`signing::response_request`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use entities::{campaign, producer, response_request};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::event;
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::observatory::rollup::AtomRule;
use crate::service::observatory::write_facts;
use crate::service::oversight::{audit, moderation};
use crate::service::producers::producer_voice::is_representative;
use crate::service::signing::response_request::{in_force, of_campaign, representatives, set_due};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;
use crate::vocabulary::EventType;

/// When the campaign was first answered (hidden answers count: hiding an
/// answer does not unsay it): the `answered_at` every answer keeps beside
/// its campaign.
pub async fn answered_at(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Option<DateTime<Utc>>> {
    Ok(first_answers(db, &[campaign_id])
        .await?
        .remove(&campaign_id)
        .flatten())
}

/// The first answer of each of `campaigns`, in one query.
async fn first_answers(
    db: &impl ConnectionTrait,
    campaigns: &[Uuid],
) -> Result<HashMap<Uuid, Option<DateTime<Utc>>>> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .column(campaign::Column::AnsweredAt)
        .filter(campaign::Column::Id.is_in(campaigns.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The standing, unanswered request of a campaign, or why there is none.
async fn open_request(state: &AppState, campaign_id: Uuid) -> Result<response_request::Model> {
    if campaign::Entity::find_by_id(campaign_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("campaign"));
    }
    let request = of_campaign(&state.db, campaign_id)
        .await?
        .filter(in_force)
        .ok_or_else(|| AppError::Conflict("this campaign has not requested an answer".into()))?;
    if answered_at(&state.db, campaign_id).await?.is_some() {
        return Err(AppError::Conflict(
            "this campaign is answered already".into(),
        ));
    }
    Ok(request)
}

/// A representative asks once for more time: the due date moves by
/// `CONSUMACT_RESPONSE_EXTENSION_DAYS`, and the reason is public.
pub async fn extend(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    reason: &str,
) -> Result<response_request::Model> {
    let reason = validate::text("reason", reason, 10, 1_000)?;
    let request = open_request(state, campaign_id).await?;
    if !is_representative(&state.db, actor, request.producer_id).await? {
        return Err(AppError::Forbidden(
            "only the producer's approved representatives may ask for more time".into(),
        ));
    }
    let days = i64::from(state.config.responses.response_extension_days);
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let moved = response_request::Entity::update_many()
        .col_expr(
            response_request::Column::DueAt,
            Expr::value(request.due_at + Duration::days(days)),
        )
        .col_expr(response_request::Column::ExtendedAt, Expr::value(now))
        .col_expr(
            response_request::Column::ExtensionReason,
            Expr::value(reason.clone()),
        )
        // Overdue again only once the new date passes.
        .col_expr(
            response_request::Column::OverdueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(response_request::Column::CampaignId.eq(campaign_id))
        .filter(response_request::Column::ExtendedAt.is_null())
        .filter(response_request::Column::WithdrawnAt.is_null())
        .filter(response_request::Column::VoidedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict(
            "an extension is granted once per request".into(),
        ));
    }
    set_due(
        &txn,
        &[campaign_id],
        Some(request.due_at + Duration::days(days)),
    )
    .await?;
    let decided = Decided {
        actor,
        action: "EXTEND_RESPONSE_REQUEST",
        campaign_id,
        producer_id: request.producer_id,
        reason,
    };
    decided.record(state, txn, writer).await
}

/// A decision on a request, made in `txn`: the producer's facts written
/// again, the decision audit-logged, the request read back once committed.
struct Decided {
    actor: Viewer,
    action: &'static str,
    campaign_id: Uuid,
    producer_id: Uuid,
    reason: String,
}

impl Decided {
    async fn record(
        self,
        state: &AppState,
        txn: sea_orm::DatabaseTransaction,
        writer: impl Sized,
    ) -> Result<response_request::Model> {
        write_facts::refresh(&txn, AtomRule::of(&state.config), self.producer_id).await?;
        audit::record(
            &txn,
            self.actor,
            self.action,
            "campaign",
            Some(self.campaign_id),
            Some(self.reason),
        )
        .await?;
        txn.commit().await?;
        drop(writer);
        of_campaign(&state.db, self.campaign_id)
            .await?
            .ok_or(AppError::NotFound("campaign"))
    }
}

/// A site moderator voids a request made on a campaign found fraudulent;
/// audit-logged with the reason.
pub async fn void(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    reason: &str,
) -> Result<response_request::Model> {
    moderation::require_moderator(actor)?;
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let voided = response_request::Entity::update_many()
        .col_expr(response_request::Column::VoidedAt, Expr::value(now))
        .col_expr(
            response_request::Column::VoidReason,
            Expr::value(reason.clone()),
        )
        .filter(response_request::Column::CampaignId.eq(campaign_id))
        .filter(response_request::Column::VoidedAt.is_null())
        .filter(response_request::Column::WithdrawnAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if voided == 0 {
        return Err(AppError::Conflict(
            "this campaign has no standing response request".into(),
        ));
    }
    set_due(&txn, &[campaign_id], None).await?;
    let request = of_campaign(&txn, campaign_id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    let decided = Decided {
        actor,
        action: "VOID_RESPONSE_REQUEST",
        campaign_id,
        producer_id: request.producer_id,
        reason,
    };
    decided.record(state, txn, writer).await
}

/// Announces `campaign.response_overdue` once for each standing request
/// whose due date passed without an answer; how many.
pub async fn announce_overdue(state: &AppState) -> Result<usize> {
    let now = validate::now();
    let due = response_request::Entity::find()
        .filter(response_request::Column::DueAt.lte(now))
        .filter(response_request::Column::OverdueAt.is_null())
        .filter(response_request::Column::WithdrawnAt.is_null())
        .filter(response_request::Column::VoidedAt.is_null())
        .order_by_asc(response_request::Column::DueAt)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut announced = 0;
    for request in due {
        if answered_at(&state.db, request.campaign_id).await?.is_some() {
            continue;
        }
        let (writer, txn) = state.begin_write().await?;
        let marked = response_request::Entity::update_many()
            .col_expr(response_request::Column::OverdueAt, Expr::value(now))
            .filter(response_request::Column::CampaignId.eq(request.campaign_id))
            .filter(response_request::Column::OverdueAt.is_null())
            .filter(response_request::Column::DueAt.lte(now))
            .exec(&txn)
            .await?
            .rows_affected;
        if marked == 1 {
            // The producer's overdue count moved with the clock.
            write_facts::refresh(&txn, AtomRule::of(&state.config), request.producer_id).await?;
            event::emit(
                &txn,
                EventType::CampaignResponseOverdue,
                request.campaign_id,
                json!({
                    "responseRequest": {
                        "producerId": request.producer_id,
                        "requestedAt": request.requested_at,
                        "dueAt": request.due_at,
                    }
                }),
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

/// Reminds the representatives of each producer whose standing, unanswered
/// request falls due within `CONSUMACT_RESPONSE_REMINDER_DAYS`, once per
/// request; how many were reminded.
pub async fn remind(state: &AppState) -> Result<usize> {
    let days = i64::from(state.config.responses.response_reminder_days);
    if days == 0 {
        return Ok(0);
    }
    let now = validate::now();
    let soon = response_request::Entity::find()
        .filter(response_request::Column::DueAt.gt(now))
        .filter(response_request::Column::DueAt.lte(now + Duration::days(days)))
        .filter(response_request::Column::RemindedAt.is_null())
        .filter(response_request::Column::WithdrawnAt.is_null())
        .filter(response_request::Column::VoidedAt.is_null())
        .order_by_asc(response_request::Column::DueAt)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut reminded = 0;
    for request in soon {
        if answered_at(&state.db, request.campaign_id).await?.is_some() {
            continue;
        }
        let Some(found) = campaign::Entity::find_by_id(request.campaign_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let producer_name = producer::Entity::find_by_id(request.producer_id)
            .one(&state.db)
            .await?
            .map(|found| found.name)
            .unwrap_or_default();
        let reps = representatives(&state.db, request.producer_id).await?;
        let (writer, txn) = state.begin_write().await?;
        let marked = response_request::Entity::update_many()
            .col_expr(response_request::Column::RemindedAt, Expr::value(now))
            .filter(response_request::Column::CampaignId.eq(request.campaign_id))
            .filter(response_request::Column::RemindedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if marked == 1 {
            for rep in &reps {
                Mail::new(&rep.email, &rep.locale, Template::ResponseReminder)
                    .var("name", &rep.display_name)
                    .var("campaign", &found.title)
                    .var("producer", &producer_name)
                    .var("due", request.due_at.format("%Y-%m-%d").to_string())
                    .enqueue(&txn)
                    .await?;
            }
            reminded += 1;
        }
        txn.commit().await?;
        drop(writer);
    }
    if reminded > 0 {
        state.outbox.wake();
    }
    Ok(reminded)
}

/// How a producer answers the campaigns that asked it to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accountability {
    /// Standing requests made of it (withdrawn and voided ones left out).
    pub requested: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    /// Unanswered past their due date.
    pub overdue: i64,
    pub median_days_to_answer: Option<f64>,
    /// The longest wait from a request to its answer, or to now for one
    /// still unanswered.
    pub longest_silence_days: Option<f64>,
}

/// A producer's accountability, counted from its requests and answers.
pub async fn accountability(
    db: &impl ConnectionTrait,
    producer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Accountability> {
    let requests = response_request::Entity::find()
        .filter(response_request::Column::ProducerId.eq(producer_id))
        .filter(response_request::Column::WithdrawnAt.is_null())
        .filter(response_request::Column::VoidedAt.is_null())
        .all(db)
        .await?;
    let mut out = Accountability {
        requested: requests.len() as i64,
        ..Accountability::default()
    };
    let ids: Vec<Uuid> = requests.iter().map(|request| request.campaign_id).collect();
    let answers = first_answers(db, &ids).await?;
    let mut waits = Vec::new();
    let mut longest: Option<f64> = None;
    for request in &requests {
        let answered = answers.get(&request.campaign_id).copied().flatten();
        let days = |until: DateTime<Utc>| {
            (until - request.requested_at).num_seconds().max(0) as f64 / 86_400.0
        };
        match answered {
            Some(at) => {
                out.answered += 1;
                if at <= request.due_at {
                    out.answered_on_time += 1;
                }
                waits.push(days(at));
                longest = Some(longest.map_or(days(at), |l| l.max(days(at))));
            }
            None => {
                if now > request.due_at {
                    out.overdue += 1;
                }
                longest = Some(longest.map_or(days(now), |l| l.max(days(now))));
            }
        }
    }
    waits.sort_by(f64::total_cmp);
    out.median_days_to_answer = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2]),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2.0),
    };
    out.longest_silence_days = longest;
    Ok(out)
}
