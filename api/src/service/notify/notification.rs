//! Notifications by e-mail: what each member chose to hear about, the
//! digests that gather a campaign's news into at most one mail per member
//! per day, and the one-click unsubscribe link every such mail carries.
//!
//! An event (see `outbox::event`) marks a digest due for every member who
//! should hear of it, in one statement however many signers a campaign
//! has. When a digest comes due, the outbox worker reads what happened
//! since it was opened (milestones, answers, closed commitments, updates, a
//! new campaign) and writes one mail, so a burst of events makes one mail.

use chrono::{DateTime, Duration, Utc};
use entities::member;
use entities::producer_representative::ClaimStatus;
use entities::producer_response::CommitmentStatus;
use entities::signature::SignatureStatus;
use entities::{
    campaign, campaign_escalation, campaign_update, milestone, notification_digest, producer,
    producer_representative, producer_response,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::bus::Notice;
use crate::config::Config;
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::outbox::Context;
use crate::outbox::event::CampaignEvent;
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::observatory::sql::Sql;
use crate::service::signing::response_request;
use crate::service::source::SourceKeys;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;
use crate::vocabulary::EventType;

/// Digests one worker round writes at most.
const BATCH: u64 = 200;
/// Slack when deciding which news belongs in a digest: an event is stamped
/// just after the row it announces.
const SLACK_SECS: i64 = 2;
/// The purpose unsubscribe tokens are keyed for.
const UNSUBSCRIBE: &str = "unsubscribe";

/// What a member chose to be mailed about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preferences {
    pub milestones: bool,
    pub responses: bool,
    pub commitments: bool,
    pub updates: bool,
    pub new_campaigns: bool,
}

impl Preferences {
    pub fn of(found: &member::Model) -> Self {
        Self {
            milestones: found.notify_milestones,
            responses: found.notify_responses,
            commitments: found.notify_commitments,
            updates: found.notify_updates,
            new_campaigns: found.notify_new_campaigns,
        }
    }
}

/// A change to preferences: `None` leaves one as it is.
#[derive(Default)]
pub struct PreferenceChanges {
    pub milestones: Option<bool>,
    pub responses: Option<bool>,
    pub commitments: Option<bool>,
    pub updates: Option<bool>,
    pub new_campaigns: Option<bool>,
}

/// Applies `changes` to `actor`'s preferences.
pub async fn update_preferences(
    state: &AppState,
    actor: Viewer,
    changes: PreferenceChanges,
) -> Result<Preferences> {
    let mut update = member::Entity::update_many().filter(member::Column::Id.eq(actor.id));
    let mut any = false;
    for (column, value) in [
        (member::Column::NotifyMilestones, changes.milestones),
        (member::Column::NotifyResponses, changes.responses),
        (member::Column::NotifyCommitments, changes.commitments),
        (member::Column::NotifyUpdates, changes.updates),
        (member::Column::NotifyNewCampaigns, changes.new_campaigns),
    ] {
        if let Some(value) = value {
            update = update.col_expr(column, Expr::value(value));
            any = true;
        }
    }
    if any {
        update.exec(&state.db).await?;
        state
            .caches
            .member_changed(state.bus.as_ref(), actor.id)
            .await;
    }
    member::Entity::find_by_id(actor.id)
        .one(&state.db)
        .await?
        .map(|found| Preferences::of(&found))
        .ok_or(AppError::NotFound("member"))
}

/// Who hears of an event of `kind`, by the preference column that lets them.
enum Audience {
    /// Members with a counted signature on the campaign.
    Signers(&'static str),
    /// The approved representatives of the campaign's producer.
    Representatives(&'static str),
}

fn audience(kind: EventType) -> Option<Audience> {
    match kind {
        EventType::CampaignMilestone | EventType::CampaignGoalReached => {
            Some(Audience::Signers("notify_milestones"))
        }
        EventType::ProducerResponded
        | EventType::CampaignResponseRequested
        | EventType::CampaignResponseOverdue => Some(Audience::Signers("notify_responses")),
        EventType::CommitmentClosed => Some(Audience::Signers("notify_commitments")),
        EventType::CampaignUpdatePosted | EventType::CampaignEscalated => {
            Some(Audience::Signers("notify_updates"))
        }
        EventType::CampaignPublished => Some(Audience::Representatives("notify_new_campaigns")),
        _ => None,
    }
}

/// Opens (or keeps open) the digest of `campaign` for everyone who should
/// hear of `event`, in the fan-out's transaction: due after the gathering
/// delay, or once a day has passed since the last digest.
pub async fn schedule(
    db: &impl ConnectionTrait,
    config: &Config,
    event: &CampaignEvent,
    campaign: &campaign::Model,
) -> Result<()> {
    let Some(audience) = audience(event.kind) else {
        return Ok(());
    };
    let backend = db.get_database_backend();
    let since = event.timestamp - Duration::seconds(SLACK_SECS);
    let due = validate::now() + Duration::seconds(config.notify_delay_secs as i64);
    let recipients = |sql: &mut Sql| {
        match audience {
            Audience::Signers(flag) => {
                sql.push("SELECT s.member_id FROM signature s JOIN member m ON m.id = s.member_id WHERE s.campaign_id = ")
                    .bind(campaign.id)
                    .push(" AND s.status = ")
                    .bind("COUNTED")
                    .push(&format!(" AND m.{flag} = "))
                    .bind(true);
            }
            Audience::Representatives(flag) => {
                sql.push("SELECT r.member_id FROM producer_representative r JOIN member m ON m.id = r.member_id WHERE r.producer_id = ")
                    .bind(campaign.producer_id)
                    .push(" AND r.status = ")
                    .bind("APPROVED")
                    .push(&format!(" AND m.{flag} = "))
                    .bind(true);
            }
        }
        if config.confirmation_required() {
            // Mail only reaches addresses that proved they read it.
            sql.push(" AND m.email_confirmed_at IS NOT NULL");
        }
    };
    // New followers: a digest row opened now.
    let mut insert = Sql::new(backend);
    insert
        .push("INSERT INTO notification_digest (member_id, campaign_id, due_at, since) SELECT member_id, ")
        .bind(campaign.id)
        .push(", ")
        .bind(due)
        .push(", ")
        .bind(since)
        .push(" FROM (");
    recipients(&mut insert);
    insert.push(") AS recipients WHERE TRUE ON CONFLICT (member_id, campaign_id) DO NOTHING");
    db.execute_raw(insert.build()).await?;
    // Known followers with nothing pending: due after the delay, but not
    // before a day has passed since their last digest, which tells what
    // happened since the one before (`since` is when that one was written).
    let mut reopen = Sql::new(backend);
    reopen
        .push("UPDATE notification_digest SET since = COALESCE(since, ")
        .bind(since)
        .push(")")
        .push(", due_at = CASE WHEN next_allowed_at IS NOT NULL AND next_allowed_at > ")
        .bind(due)
        .push(" THEN next_allowed_at ELSE ")
        .bind(due)
        .push(" END WHERE due_at IS NULL AND campaign_id = ")
        .bind(campaign.id)
        .push(" AND member_id IN (");
    recipients(&mut reopen);
    reopen.push(")");
    db.execute_raw(reopen.build()).await?;
    Ok(())
}

/// The unsubscribe token of `member`: their id and a keyed tag.
fn unsubscribe_token(keys: &SourceKeys, member: Uuid) -> String {
    let id = member.simple().to_string();
    let tag = keys.tag(UNSUBSCRIBE, &id);
    format!("{id}.{tag}")
}

/// The one-click unsubscribe URL of `member`.
pub fn unsubscribe_url(public_url: &str, keys: &SourceKeys, member: Uuid) -> String {
    format!(
        "{public_url}/unsubscribe?token={}",
        unsubscribe_token(keys, member)
    )
}

/// The member an unsubscribe token was made for, if it is genuine.
pub fn member_of_token(keys: &SourceKeys, token: &str) -> Option<Uuid> {
    let (id, tag) = token.trim().split_once('.')?;
    let member = Uuid::try_parse(id).ok()?;
    keys.verify_tag(UNSUBSCRIBE, &member.simple().to_string(), tag)
        .then_some(member)
}

/// Stops every notification mail to the member of `token` (no sign-in:
/// the token is the proof); pending digests are dropped.
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<()> {
    let member = member_of_token(&state.sources, token).ok_or(AppError::invalid(
        "token",
        "this unsubscribe link is not valid",
    ))?;
    let (writer, txn) = state.begin_write().await?;
    member::Entity::update_many()
        .col_expr(member::Column::NotifyMilestones, Expr::value(false))
        .col_expr(member::Column::NotifyResponses, Expr::value(false))
        .col_expr(member::Column::NotifyCommitments, Expr::value(false))
        .col_expr(member::Column::NotifyUpdates, Expr::value(false))
        .col_expr(member::Column::NotifyNewCampaigns, Expr::value(false))
        .filter(member::Column::Id.eq(member))
        .exec(&txn)
        .await?;
    notification_digest::Entity::update_many()
        .col_expr(
            notification_digest::Column::DueAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(notification_digest::Column::MemberId.eq(member))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .member_changed(state.bus.as_ref(), member)
        .await;
    Ok(())
}

/// Deletes digests with nothing pending whose quiet interval has passed:
/// the next event opens a fresh one, just as it would have reopened it.
pub async fn purge_idle(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    Ok(notification_digest::Entity::delete_many()
        .filter(notification_digest::Column::DueAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(notification_digest::Column::NextAllowedAt.is_null())
                .add(notification_digest::Column::NextAllowedAt.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// Turns the digests that came due into mail messages; how many mails.
pub async fn send_due_digests(context: &Context) -> Result<usize> {
    let now = validate::now();
    let due = notification_digest::Entity::find()
        .filter(notification_digest::Column::DueAt.lte(now))
        .order_by_asc(notification_digest::Column::DueAt)
        .limit(BATCH)
        .all(&context.db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let next = now + Duration::seconds(context.config.notify_interval_secs as i64);
    let (writer, txn) = begin_write(&context.db, context.sqlite_writer.as_ref()).await?;
    let mut sent = 0;
    for digest in due {
        // Claimed by moving it on: another instance racing for it finds
        // `due_at` changed and leaves it. The next digest tells what
        // happens after this one.
        let claimed = notification_digest::Entity::update_many()
            .col_expr(
                notification_digest::Column::DueAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(notification_digest::Column::Since, Expr::value(now))
            .filter(notification_digest::Column::MemberId.eq(digest.member_id))
            .filter(notification_digest::Column::CampaignId.eq(digest.campaign_id))
            .filter(notification_digest::Column::DueAt.eq(digest.due_at))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 0 {
            continue;
        }
        let since = digest.since.unwrap_or(now);
        if let Some(mail) = compose(&txn, context, &digest, since).await? {
            mail.enqueue(&txn).await?;
            notification_digest::Entity::update_many()
                .col_expr(
                    notification_digest::Column::NextAllowedAt,
                    Expr::value(next),
                )
                .filter(notification_digest::Column::MemberId.eq(digest.member_id))
                .filter(notification_digest::Column::CampaignId.eq(digest.campaign_id))
                .exec(&txn)
                .await?;
            sent += 1;
        }
    }
    txn.commit().await?;
    drop(writer);
    Ok(sent)
}

/// What a digest says of the campaign's response request since `since`:
/// that the producer was asked to answer, or that no answer came in time.
async fn response_news(
    db: &impl ConnectionTrait,
    found: &campaign::Model,
    since: DateTime<Utc>,
    french: bool,
) -> Result<Vec<String>> {
    let Some(request) = response_request::of_campaign(db, found.id)
        .await?
        .filter(response_request::in_force)
    else {
        return Ok(Vec::new());
    };
    let due = request.due_at.format("%Y-%m-%d");
    let mut news = Vec::new();
    if request.requested_at > since {
        news.push(if french {
            format!("• Le producteur est invité à répondre d'ici le {due}.")
        } else {
            format!("• The producer is asked to answer by {due}.")
        });
    }
    if request.overdue_at.is_some_and(|at| at > since) {
        news.push(if french {
            format!("• Le producteur n'a pas répondu avant le {due}.")
        } else {
            format!("• The producer did not answer by {due}.")
        });
    }
    Ok(news)
}

/// What a digest says of the campaign's escalations since `since`: whom it
/// addresses now.
async fn escalation_news(
    db: &impl ConnectionTrait,
    found: &campaign::Model,
    since: DateTime<Utc>,
    french: bool,
) -> Result<Vec<String>> {
    let mut news = Vec::new();
    for step in campaign_escalation::Entity::find()
        .filter(campaign_escalation::Column::CampaignId.eq(found.id))
        .filter(campaign_escalation::Column::CreatedAt.gt(since))
        .order_by_asc(campaign_escalation::Column::CreatedAt)
        .all(db)
        .await?
    {
        let name = |id| async move {
            producer::Entity::find_by_id(id)
                .one(db)
                .await
                .map(|found| found.map(|found| found.name).unwrap_or_default())
        };
        let (from, to) = (
            name(step.from_producer_id).await?,
            name(step.to_producer_id).await?,
        );
        news.push(if french {
            format!("• La campagne s'adresse désormais à {to}, propriétaire de {from}.")
        } else {
            format!("• The campaign now addresses {to}, which owns {from}.")
        });
    }
    Ok(news)
}

/// The digest mail of what happened on a campaign since `since`, as its
/// member's preferences filter it; `None` when nothing is left to tell.
async fn compose(
    db: &impl ConnectionTrait,
    context: &Context,
    digest: &notification_digest::Model,
    since: DateTime<Utc>,
) -> Result<Option<Mail>> {
    let Some(reader) = member::Entity::find_by_id(digest.member_id).one(db).await? else {
        return Ok(None);
    };
    let Some(found) = campaign::Entity::find_by_id(digest.campaign_id)
        .one(db)
        .await?
        .filter(|found| found.hidden_at.is_none())
    else {
        return Ok(None);
    };
    if reader.email_confirmed_at.is_none() && context.config.confirmation_required() {
        return Ok(None);
    }
    let wants = Preferences::of(&reader);
    let french = reader.locale == "fr";
    let mut items: Vec<String> = Vec::new();
    if wants.new_campaigns && found.published_at.is_some_and(|at| at > since) {
        let represents = producer_representative::Entity::find()
            .filter(producer_representative::Column::ProducerId.eq(found.producer_id))
            .filter(producer_representative::Column::MemberId.eq(reader.id))
            .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
            .one(db)
            .await?
            .is_some();
        if represents {
            let name = producer::Entity::find_by_id(found.producer_id)
                .one(db)
                .await?
                .map(|found| found.name)
                .unwrap_or_default();
            items.push(if french {
                format!("• Une nouvelle campagne s'adresse à {name}.")
            } else {
                format!("• A new campaign is aimed at {name}.")
            });
        }
    }
    let signed = entities::signature::Entity::find()
        .filter(entities::signature::Column::CampaignId.eq(found.id))
        .filter(entities::signature::Column::MemberId.eq(reader.id))
        .filter(entities::signature::Column::Status.eq(SignatureStatus::Counted))
        .one(db)
        .await?
        .is_some();
    if signed && wants.milestones {
        for reached in milestone::Entity::find()
            .filter(milestone::Column::CampaignId.eq(found.id))
            .filter(milestone::Column::ReachedAt.gt(since))
            .filter(milestone::Column::InvalidatedAt.is_null())
            .order_by_asc(milestone::Column::Threshold)
            .all(db)
            .await?
        {
            let goal = found.goal.map(i64::from) == Some(reached.threshold);
            items.push(match (french, goal) {
                (false, false) => format!("• {} signatures reached.", reached.threshold),
                (false, true) => {
                    format!("• The goal of {} signatures is reached!", reached.threshold)
                }
                (true, false) => format!("• {} signatures atteintes.", reached.threshold),
                (true, true) => format!(
                    "• L'objectif de {} signatures est atteint !",
                    reached.threshold
                ),
            });
        }
    }
    if signed && wants.responses {
        for answer in producer_response::Entity::find()
            .filter(producer_response::Column::CampaignId.eq(found.id))
            .filter(producer_response::Column::HiddenAt.is_null())
            .filter(producer_response::Column::CreatedAt.gt(since))
            .order_by_asc(producer_response::Column::CreatedAt)
            .all(db)
            .await?
        {
            let excerpt = excerpt(&answer.body, 280);
            items.push(if french {
                format!("• Le producteur a répondu : « {excerpt} »")
            } else {
                format!("• The producer answered: “{excerpt}”")
            });
        }
    }
    if signed && wants.responses {
        items.extend(response_news(db, &found, since, french).await?);
    }
    if signed && wants.commitments {
        for closed in producer_response::Entity::find()
            .filter(producer_response::Column::CampaignId.eq(found.id))
            .filter(producer_response::Column::HiddenAt.is_null())
            .filter(producer_response::Column::CommitmentClosedAt.gt(since))
            .all(db)
            .await?
        {
            let kept = closed.commitment_status == Some(CommitmentStatus::Kept);
            let what = excerpt(closed.commitment.as_deref().unwrap_or_default(), 200);
            items.push(match (french, kept) {
                (false, true) => format!("• A commitment was kept: {what}"),
                (false, false) => format!("• A commitment was broken: {what}"),
                (true, true) => format!("• Un engagement a été tenu : {what}"),
                (true, false) => format!("• Un engagement n'a pas été tenu : {what}"),
            });
        }
    }
    if signed && wants.updates {
        for posted in campaign_update::Entity::find()
            .filter(campaign_update::Column::CampaignId.eq(found.id))
            .filter(campaign_update::Column::CreatedAt.gt(since))
            .order_by_asc(campaign_update::Column::CreatedAt)
            .all(db)
            .await?
        {
            items.push(if french {
                format!("• Nouvelle de l'organisateur : {}", posted.title)
            } else {
                format!("• News from the organiser: {}", posted.title)
            });
        }
    }
    if signed && wants.updates {
        items.extend(escalation_news(db, &found, since, french).await?);
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        Mail::new(&reader.email, &reader.locale, Template::CampaignDigest)
            .var("name", &reader.display_name)
            .var("title", &found.title)
            .var("items", items.join("\n"))
            .var(
                "link",
                format!("{}/campaigns/{}", context.public_url, found.id),
            )
            .unsubscribe(unsubscribe_url(
                &context.public_url,
                &context.keys,
                reader.id,
            )),
    ))
}

/// `text` cut to about `max` characters on a character boundary.
fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

/// Whether `member` hears of `notice` (see `notice_hub::concerned`).
pub async fn concerns(db: &impl ConnectionTrait, member: Uuid, notice: &Notice) -> bool {
    crate::service::notify::notice_hub::concerned(db, notice, &[member])
        .await
        .map(|concerned| concerned.contains(&member))
        .unwrap_or_else(|err| {
            tracing::warn!(%err, "cannot tell whether a notice concerns a member");
            false
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsubscribe_token_is_bound_to_its_member() {
        let keys = SourceKeys::for_tests();
        let member = Uuid::now_v7();
        let token = unsubscribe_token(&keys, member);
        assert_eq!(member_of_token(&keys, &token), Some(member));
        let other = Uuid::now_v7();
        let forged = format!("{}.{}", other.simple(), token.split_once('.').unwrap().1);
        assert_eq!(member_of_token(&keys, &forged), None);
        assert_eq!(member_of_token(&keys, "garbage"), None);
    }

    #[test]
    fn excerpts_cut_long_text_on_characters() {
        assert_eq!(excerpt("a  b\nc", 10), "a b c");
        assert_eq!(excerpt("éééééé", 3), "ééé…");
    }
}
