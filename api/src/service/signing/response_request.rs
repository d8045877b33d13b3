//! The response request: when a campaign's counted total (online plus
//! verified offline signatures) reaches its response threshold, the
//! campaign asks its producer for an answer by a due date.
//!
//! [`follow`] runs in the transaction of every change to a campaign's total
//! (signing, batches, confirmations, sponsorships, invalidations, offline
//! tallies), after the total moved. One statement requests: an insert of
//! the campaigns at or over their threshold, with no answer yet, that
//! conflicts with a request already made (unless withdrawn), so that two
//! signers crossing together, on two instances, request once. When the
//! total fell, one statement withdraws the requests whose campaign is back
//! under its threshold before an answer (marked `withdrawn_at`, as a
//! milestone is marked reached before an invalidation); reaching the
//! threshold again requests anew.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use entities::member;
use entities::producer_representative::{self, ClaimStatus};
use entities::{campaign, producer, response_request};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::config::Config;
use crate::error::Result;
use crate::outbox::event;
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::observatory::rollup::AtomRule;
use crate::service::observatory::write_facts;
use crate::service::validate;
use crate::sql::Sql;
use crate::vocabulary::EventType;

/// The instance's response threshold and the days a producer has.
#[derive(Clone, Copy, Debug)]
pub struct ResponseRule {
    pub threshold: i64,
    pub days: i64,
    /// Days before the due date at which representatives are reminded.
    pub reminder_days: i64,
    /// How the observatory keeps its facts, which count requests.
    pub atoms: AtomRule,
}

impl ResponseRule {
    pub fn of(config: &Config) -> Self {
        Self {
            threshold: i64::from(config.responses.response_threshold),
            days: i64::from(config.responses.response_days),
            reminder_days: i64::from(config.responses.response_reminder_days),
            atoms: AtomRule::of(config),
        }
    }
}

/// Requests an answer for each of `campaigns` whose total reached its
/// threshold, and, when `fell`, withdraws the requests of those back under
/// it before an answer. Returns the campaigns that requested now (their
/// event and the representatives' mail are queued in the same transaction).
pub async fn follow(
    db: &impl ConnectionTrait,
    rule: ResponseRule,
    campaigns: &[Uuid],
    fell: bool,
) -> Result<Vec<Uuid>> {
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let now = validate::now();
    if fell {
        withdraw(db, rule, campaigns, now).await?;
    }
    let due = now + Duration::days(rule.days);
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(
        "INSERT INTO response_request (campaign_id, producer_id, requested_at, original_due_at, due_at, reminded_at) \
         SELECT c.id, c.producer_id, ",
    )
    .bind(now)
    .push(", ")
    .bind(due)
    .push(", ")
    .bind(due)
    .push(", ")
    // Due sooner than the reminder would come: the request is its own reminder.
    .bind((rule.days < rule.reminder_days).then_some(now))
    .push(" FROM campaign c WHERE c.id IN (");
    in_list(&mut sql, campaigns);
    sql.push(") AND c.signature_total >= COALESCE(c.response_threshold, ")
        .bind(rule.threshold)
        .push(
            ") AND NOT EXISTS (SELECT 1 FROM producer_response r WHERE r.campaign_id = c.id) \
             ON CONFLICT (campaign_id) DO UPDATE SET requested_at = excluded.requested_at, \
             original_due_at = excluded.original_due_at, due_at = excluded.due_at, \
             producer_id = excluded.producer_id, withdrawn_at = NULL, reminded_at = excluded.reminded_at, \
             overdue_at = NULL, extended_at = NULL, extension_reason = NULL \
             WHERE response_request.withdrawn_at IS NOT NULL AND response_request.voided_at IS NULL \
             RETURNING campaign_id, producer_id",
        );
    let rows = db.query_all_raw(sql.build()).await?;
    let mut requested = Vec::with_capacity(rows.len());
    let mut producers = BTreeSet::new();
    for row in rows {
        requested.push(row.try_get_by_index::<Uuid>(0)?);
        producers.insert(row.try_get_by_index::<Uuid>(1)?);
    }
    if !requested.is_empty() {
        set_due(db, &requested, Some(due)).await?;
    }
    for producer in producers {
        write_facts::refresh(db, rule.atoms, producer).await?;
    }
    for &campaign_id in &requested {
        announce(db, campaign_id, rule, due).await?;
    }
    Ok(requested)
}

/// Withdraws the unanswered requests of `campaigns` back under their
/// threshold.
async fn withdraw(
    db: &impl ConnectionTrait,
    rule: ResponseRule,
    campaigns: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE response_request SET withdrawn_at = ")
        .bind(now)
        .push(" WHERE campaign_id IN (");
    in_list(&mut sql, campaigns);
    sql.push(
        ") AND withdrawn_at IS NULL AND voided_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM producer_response r WHERE r.campaign_id = response_request.campaign_id) \
         AND EXISTS (SELECT 1 FROM campaign c WHERE c.id = response_request.campaign_id \
         AND c.signature_total < COALESCE(c.response_threshold, ",
    )
    .bind(rule.threshold)
    .push(")) RETURNING campaign_id, producer_id");
    let mut withdrawn = Vec::new();
    let mut producers = BTreeSet::new();
    for row in db.query_all_raw(sql.build()).await? {
        withdrawn.push(row.try_get_by_index::<Uuid>(0)?);
        producers.insert(row.try_get_by_index::<Uuid>(1)?);
    }
    if !withdrawn.is_empty() {
        set_due(db, &withdrawn, None).await?;
    }
    for producer in producers {
        write_facts::refresh(db, rule.atoms, producer).await?;
    }
    Ok(())
}

/// Keeps `campaign.response_due_at` (what lists filter and order by) with
/// the request in force of each of `campaigns`.
pub async fn set_due(
    db: &impl ConnectionTrait,
    campaigns: &[Uuid],
    due: Option<DateTime<Utc>>,
) -> Result<()> {
    campaign::Entity::update_many()
        .col_expr(campaign::Column::ResponseDueAt, Expr::value(due))
        .filter(campaign::Column::Id.is_in(campaigns.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Records the campaign's first answer at `at` (later answers leave it).
pub async fn answered(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    campaign::Entity::update_many()
        .col_expr(campaign::Column::AnsweredAt, Expr::value(at))
        .filter(campaign::Column::Id.eq(campaign_id))
        .filter(campaign::Column::AnsweredAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

fn in_list(sql: &mut Sql, ids: &[Uuid]) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
}

/// The `campaign.response_requested` event and a mail to each approved
/// representative of the producer (none when it has none: the request
/// waits for one, see `unreached`).
async fn announce(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    rule: ResponseRule,
    due: DateTime<Utc>,
) -> Result<()> {
    let Some(found) = campaign::Entity::find_by_id(campaign_id).one(db).await? else {
        return Ok(());
    };
    let threshold = found.response_threshold.map_or(rule.threshold, i64::from);
    event::emit(
        db,
        EventType::CampaignResponseRequested,
        campaign_id,
        json!({
            "responseRequest": {
                "producerId": found.producer_id,
                "threshold": threshold,
                "signatureTotal": found.signature_total,
                "dueAt": due,
            }
        }),
    )
    .await?;
    let producer_name = producer::Entity::find_by_id(found.producer_id)
        .one(db)
        .await?
        .map(|found| found.name)
        .unwrap_or_default();
    for rep in representatives(db, found.producer_id).await? {
        Mail::new(&rep.email, &rep.locale, Template::ResponseRequested)
            .var("name", &rep.display_name)
            .var("campaign", &found.title)
            .var("producer", &producer_name)
            .var("count", threshold.to_string())
            .var("due", due.format("%Y-%m-%d").to_string())
            .enqueue(db)
            .await?;
    }
    Ok(())
}

/// The approved representatives of `producer_id`.
pub async fn representatives(
    db: &impl ConnectionTrait,
    producer_id: Uuid,
) -> Result<Vec<member::Model>> {
    let ids: Vec<Uuid> = producer_representative::Entity::find()
        .select_only()
        .column(producer_representative::Column::MemberId)
        .filter(producer_representative::Column::ProducerId.eq(producer_id))
        .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(member::Entity::find()
        .filter(member::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// The campaign's request, if it ever made one.
pub async fn of_campaign(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Option<response_request::Model>> {
    Ok(response_request::Entity::find_by_id(campaign_id)
        .one(db)
        .await?)
}

/// Whether the campaign has a request standing (made, not withdrawn, not
/// voided).
pub async fn requested(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<bool> {
    Ok(of_campaign(db, campaign_id)
        .await?
        .is_some_and(|found| in_force(&found)))
}

/// A request that counts: not withdrawn, not voided.
pub fn in_force(request: &response_request::Model) -> bool {
    request.withdrawn_at.is_none() && request.voided_at.is_none()
}

/// Where a campaign stands with its producer's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseState {
    NotRequested,
    Requested,
    Answered,
    AnsweredLate,
    Overdue,
}

/// The state of a campaign whose first answer came at `answered_at` (if
/// any), with `request` (if any), at `now`. An answer counts whatever
/// became of the campaign (hidden, closed).
pub fn state_of(
    request: Option<&response_request::Model>,
    answered_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ResponseState {
    let request = request.filter(|found| in_force(found));
    match (request, answered_at) {
        (Some(request), Some(at)) if at > request.due_at => ResponseState::AnsweredLate,
        (_, Some(_)) => ResponseState::Answered,
        (None, None) => ResponseState::NotRequested,
        (Some(request), None) if now > request.due_at => ResponseState::Overdue,
        (Some(_), None) => ResponseState::Requested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(due_in_days: i64) -> response_request::Model {
        let now = Utc::now();
        response_request::Model {
            campaign_id: Uuid::nil(),
            producer_id: Uuid::nil(),
            requested_at: now,
            original_due_at: now + Duration::days(due_in_days),
            due_at: now + Duration::days(due_in_days),
            reminded_at: None,
            overdue_at: None,
            extended_at: None,
            extension_reason: None,
            withdrawn_at: None,
            voided_at: None,
            void_reason: None,
        }
    }

    #[test]
    fn each_state_follows_from_the_request_and_the_answer() {
        let now = Utc::now();
        let open = request(30);
        let late = request(-1);
        assert_eq!(state_of(None, None, now), ResponseState::NotRequested);
        assert_eq!(state_of(Some(&open), None, now), ResponseState::Requested);
        assert_eq!(state_of(Some(&late), None, now), ResponseState::Overdue);
        assert_eq!(
            state_of(Some(&open), Some(now), now),
            ResponseState::Answered
        );
        assert_eq!(
            state_of(Some(&late), Some(now), now),
            ResponseState::AnsweredLate
        );
        assert_eq!(state_of(None, Some(now), now), ResponseState::Answered);
        let voided = response_request::Model {
            voided_at: Some(now),
            ..late.clone()
        };
        assert_eq!(
            state_of(Some(&voided), None, now),
            ResponseState::NotRequested
        );
        let withdrawn = response_request::Model {
            withdrawn_at: Some(now),
            ..late
        };
        assert_eq!(
            state_of(Some(&withdrawn), None, now),
            ResponseState::NotRequested
        );
    }
}
