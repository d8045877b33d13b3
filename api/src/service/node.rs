//! Global object identification: any object with an id, refetched by that
//! id alone (`Query.node`), as Relay, Apollo and urql's normalised caches
//! need. Ids are UUIDs, unique across tables, so they need no type prefix:
//! one query finds which table holds an id, and the object is then read by
//! the same rules as everywhere else: an object the caller may not see is
//! `None`, exactly like an unknown id. Restricted objects follow the rule
//! of the list that shows them (moderators' queues, admins' lists, one's
//! own pledges, ratings, claims and webhooks).

use entities::{
    audit_log, block_rule, campaign, campaign_update, community, flag, fraud_signal, invalidation,
    member, offline_tally, outbox_message, pledge, producer, producer_representative,
    producer_response, proposal, signature, trust_rating, value_tag, webhook, webhook_delivery,
};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, EntityTrait, PrimaryKeyTrait};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::events::Notice;
use crate::outbox::event::{self, Event};
use crate::service::auth::Viewer;
use crate::service::observatory::sql::Sql;
use crate::service::{
    campaign as campaigns, notification, offline_tally as tallies, proposal as proposals,
};
use crate::state::AppState;
use entities::offline_tally::TallyStatus;
use entities::signature::SignatureStatus;

/// An object found by its id.
pub enum Found {
    Campaign(campaign::Model),
    Community(community::Model),
    Producer(producer::Model),
    Member(member::Model),
    ValueTag(value_tag::Model),
    Signature(signature::Model),
    Proposal(proposal::Model),
    ProducerResponse(producer_response::Model),
    CampaignUpdate(campaign_update::Model),
    AuditEntry(audit_log::Model),
    BlockRule(block_rule::Model),
    Flag(flag::Model),
    FraudSignal(fraud_signal::Model),
    Invalidation(invalidation::Model),
    Notification(Notice),
    OfflineTally(offline_tally::Model),
    Pledge(pledge::Model),
    ProducerClaim(producer_representative::Model),
    TrustRating(trust_rating::Model),
    Webhook(webhook::Model),
    WebhookDelivery(webhook_delivery::Model),
}

/// The tables `node` looks in, by the name it answers with.
const TABLES: [&str; 21] = [
    "campaign",
    "community",
    "producer",
    "member",
    "value_tag",
    "signature",
    "proposal",
    "producer_response",
    "campaign_update",
    "audit_log",
    "block_rule",
    "flag",
    "fraud_signal",
    "invalidation",
    // Events, while the outbox keeps them (`CONSUMACT_OUTBOX_KEEP_DAYS`).
    "outbox_message",
    "offline_tally",
    "pledge",
    "producer_representative",
    "trust_rating",
    "webhook",
    "webhook_delivery",
];

/// The object `id` names, if `viewer` may see it.
pub async fn find(state: &AppState, viewer: Option<Viewer>, id: Uuid) -> Result<Option<Found>> {
    let db = &state.db;
    let mut sql = Sql::new(db.get_database_backend());
    for (i, table) in TABLES.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT '")
            .push(table)
            .push("' FROM ")
            .push(table)
            .push(" WHERE id = ")
            .bind(id);
    }
    let Some(row) = db.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    let table: String = row.try_get_by_index(0)?;
    let on_visible_campaign = |campaign_id: Uuid| async move {
        Ok::<_, AppError>(
            campaigns::get_cached(state, viewer, campaign_id)
                .await?
                .is_some(),
        )
    };
    Ok(match table.as_str() {
        "campaign" => campaigns::get_cached(state, viewer, id)
            .await?
            .map(|found| Found::Campaign(Arc::unwrap_or_clone(found))),
        // Public wherever they are listed.
        "community" => row_by_id::<community::Entity>(db, id)
            .await?
            .map(Found::Community),
        "producer" => row_by_id::<producer::Entity>(db, id)
            .await?
            .map(Found::Producer),
        "member" => row_by_id::<member::Entity>(db, id)
            .await?
            .map(Found::Member),
        "value_tag" => row_by_id::<value_tag::Entity>(db, id)
            .await?
            .map(Found::ValueTag),
        "signature" => match row_by_id::<signature::Entity>(db, id).await? {
            // Public lists show counted, visible signatures; a signer
            // always sees their own.
            Some(found)
                if (viewer.is_some_and(|v| found.member_id == Some(v.id))
                    || (found.status == SignatureStatus::Counted && found.hidden_at.is_none()))
                    && on_visible_campaign(found.campaign_id).await? =>
            {
                Some(Found::Signature(found))
            }
            _ => None,
        },
        "proposal" => match proposals::get(db, viewer, id).await {
            Ok(found) => Some(Found::Proposal(found)),
            Err(AppError::NotFound(_)) => None,
            Err(err) => return Err(err),
        },
        "producer_response" => match row_by_id::<producer_response::Entity>(db, id).await? {
            Some(found)
                if found.hidden_at.is_none() && on_visible_campaign(found.campaign_id).await? =>
            {
                Some(Found::ProducerResponse(found))
            }
            _ => None,
        },
        "campaign_update" => match row_by_id::<campaign_update::Entity>(db, id).await? {
            Some(found) if on_visible_campaign(found.campaign_id).await? => {
                Some(Found::CampaignUpdate(found))
            }
            _ => None,
        },
        "audit_log" if viewer.is_some_and(|v| v.moderates()) => {
            row_by_id::<audit_log::Entity>(db, id)
                .await?
                .map(Found::AuditEntry)
        }
        "block_rule" if viewer.is_some_and(|v| v.is_admin()) => {
            row_by_id::<block_rule::Entity>(db, id)
                .await?
                .map(Found::BlockRule)
        }
        // Moderators' queue; its reporter had it back when flagging.
        "flag" => row_by_id::<flag::Entity>(db, id).await?.and_then(|found| {
            viewer
                .is_some_and(|v| v.moderates() || found.reporter_id == Some(v.id))
                .then_some(Found::Flag(found))
        }),
        "fraud_signal" if viewer.is_some_and(|v| v.moderates()) => {
            row_by_id::<fraud_signal::Entity>(db, id)
                .await?
                .map(Found::FraudSignal)
        }
        "invalidation" if viewer.is_some_and(|v| v.moderates()) => {
            row_by_id::<invalidation::Entity>(db, id)
                .await?
                .map(Found::Invalidation)
        }
        "outbox_message" => match viewer {
            Some(viewer) => notice(state, viewer, id).await?.map(Found::Notification),
            None => None,
        },
        // Verified tallies are public with their campaign; the others are
        // its organiser's and moderators'.
        "offline_tally" => match row_by_id::<offline_tally::Entity>(db, id).await? {
            Some(found) => match campaigns::get_cached(state, viewer, found.campaign_id).await? {
                Some(campaign)
                    if found.status == TallyStatus::Verified
                        || tallies::sees_every_tally(state, viewer, &campaign).await? =>
                {
                    Some(Found::OfflineTally(found))
                }
                _ => None,
            },
            None => None,
        },
        // One's own, as `Member.pledges` and `viewerRatings` show them.
        "pledge" => row_by_id::<pledge::Entity>(db, id)
            .await?
            .filter(|found| owns(viewer, found.member_id))
            .map(Found::Pledge),
        "trust_rating" => row_by_id::<trust_rating::Entity>(db, id)
            .await?
            .filter(|found| owns(viewer, found.member_id))
            .map(Found::TrustRating),
        // Admins decide claims; a claimant sees their own.
        "producer_representative" => row_by_id::<producer_representative::Entity>(db, id)
            .await?
            .filter(|found| admin_or_owner(viewer, found.member_id))
            .map(Found::ProducerClaim),
        "webhook" => row_by_id::<webhook::Entity>(db, id)
            .await?
            .filter(|found| admin_or_owner(viewer, found.owner_id))
            .map(Found::Webhook),
        "webhook_delivery" if viewer.is_some() => {
            match row_by_id::<webhook_delivery::Entity>(db, id).await? {
                Some(found) => row_by_id::<webhook::Entity>(db, found.webhook_id)
                    .await?
                    .filter(|hook| admin_or_owner(viewer, hook.owner_id))
                    .map(|_| Found::WebhookDelivery(found)),
                None => None,
            }
        }
        _ => None,
    })
}

/// Whether `viewer` is the member a row belongs to.
fn owns(viewer: Option<Viewer>, member: Option<Uuid>) -> bool {
    viewer.is_some_and(|v| member == Some(v.id))
}

/// Whether `viewer` is an admin or the member a row belongs to.
fn admin_or_owner(viewer: Option<Viewer>, member: Uuid) -> bool {
    viewer.is_some_and(|v| v.is_admin() || v.id == member)
}

/// The event with this id, as `myNotifications` would have brought it to
/// `viewer`: only if it concerns them and they may still see its campaign.
async fn notice(state: &AppState, viewer: Viewer, id: Uuid) -> Result<Option<Notice>> {
    let Some(message) = row_by_id::<outbox_message::Entity>(&state.db, id).await? else {
        return Ok(None);
    };
    if message.kind != event::KIND {
        return Ok(None);
    }
    let event: Event = serde_json::from_str(&message.payload)
        .map_err(|err| AppError::Internal(format!("unreadable event {id}: {err}")))?;
    let Some(campaign) = campaigns::get_cached(state, Some(viewer), event.campaign_id).await?
    else {
        return Ok(None);
    };
    let payload = event.payload(&campaign, &state.public_url);
    let notice = event.notice(&campaign, payload);
    Ok(notification::concerns(&state.db, viewer.id, &notice)
        .await
        .then_some(notice))
}

/// The row of `E` with this id.
async fn row_by_id<E>(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<E::Model>>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    Ok(E::find_by_id(id).one(db).await?)
}
