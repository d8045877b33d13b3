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

use std::any::{Any, TypeId};
use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter};
use uuid::Uuid;

use crate::bus::Notice;
use crate::error::{AppError, Result};
use crate::outbox::event::{self, CampaignEvent};
use crate::service::observatory::sql::Sql;
use crate::service::viewer::Viewer;
use crate::service::{
    campaigns::campaign as campaigns, campaigns::proposal as proposals, notify::notification,
    signing::offline_tally as tallies,
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
    Ok(find_many(state, viewer, &[id]).await?.pop().flatten())
}

/// The objects `ids` name, in their order (`None` for each one there is
/// none of, or `viewer` may not see), with one query to tell their tables
/// and one query per table for their rows; the rules of each kind follow.
pub async fn find_many(
    state: &AppState,
    viewer: Option<Viewer>,
    ids: &[Uuid],
) -> Result<Vec<Option<Found>>> {
    let db = &state.db;
    let mut distinct = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    for (i, table) in TABLES.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT '")
            .push(table)
            .push("', id FROM ")
            .push(table)
            .push(" WHERE id IN (");
        for (j, id) in distinct.iter().enumerate() {
            if j > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
    }
    let mut tables: HashMap<Uuid, String> = HashMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        tables.insert(row.try_get_by_index(1)?, row.try_get_by_index(0)?);
    }
    let mut by_table: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for (id, table) in &tables {
        by_table.entry(table.as_str()).or_default().push(*id);
    }
    let mut rows = Rows::default();
    for (table, ids) in by_table {
        rows.load(db, table, &ids).await?;
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.push(match tables.get(id) {
            Some(table) => decide(state, viewer, table, *id, &rows).await?,
            None => None,
        });
    }
    Ok(found)
}

/// The rows of the tables asked about, loaded one query per table.
#[derive(Default)]
struct Rows(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Rows {
    async fn load(&mut self, db: &impl ConnectionTrait, table: &str, ids: &[Uuid]) -> Result<()> {
        match table {
            // Read through the campaign cache, proposals by their own
            // rules, events from their payload: one by one.
            "campaign" | "proposal" | "outbox_message" => Ok(()),
            "community" => self.fetch::<community::Entity>(db, ids).await,
            "producer" => self.fetch::<producer::Entity>(db, ids).await,
            "member" => self.fetch::<member::Entity>(db, ids).await,
            "value_tag" => self.fetch::<value_tag::Entity>(db, ids).await,
            "signature" => self.fetch::<signature::Entity>(db, ids).await,
            "producer_response" => self.fetch::<producer_response::Entity>(db, ids).await,
            "campaign_update" => self.fetch::<campaign_update::Entity>(db, ids).await,
            "audit_log" => self.fetch::<audit_log::Entity>(db, ids).await,
            "block_rule" => self.fetch::<block_rule::Entity>(db, ids).await,
            "flag" => self.fetch::<flag::Entity>(db, ids).await,
            "fraud_signal" => self.fetch::<fraud_signal::Entity>(db, ids).await,
            "invalidation" => self.fetch::<invalidation::Entity>(db, ids).await,
            "offline_tally" => self.fetch::<offline_tally::Entity>(db, ids).await,
            "pledge" => self.fetch::<pledge::Entity>(db, ids).await,
            "producer_representative" => {
                self.fetch::<producer_representative::Entity>(db, ids).await
            }
            "trust_rating" => self.fetch::<trust_rating::Entity>(db, ids).await,
            "webhook" => self.fetch::<webhook::Entity>(db, ids).await,
            "webhook_delivery" => self.fetch::<webhook_delivery::Entity>(db, ids).await,
            _ => Ok(()),
        }
    }

    async fn fetch<E>(&mut self, db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<()>
    where
        E: EntityTrait,
        E::Model: Send + Sync + 'static,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        let found = E::find()
            .filter(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
            .all(db)
            .await?;
        let by_id: HashMap<Uuid, E::Model> = found
            .into_iter()
            .filter_map(|row| row_id::<E>(&row).map(|id| (id, row)))
            .collect();
        self.0.insert(TypeId::of::<E>(), Box::new(by_id));
        Ok(())
    }

    /// The row of `E` with this id, if it was loaded.
    fn get<E>(&self, id: Uuid) -> Option<E::Model>
    where
        E: EntityTrait,
        E::Model: Send + Sync + 'static,
    {
        self.0
            .get(&TypeId::of::<E>())?
            .downcast_ref::<HashMap<Uuid, E::Model>>()?
            .get(&id)
            .cloned()
    }
}

/// A row's id, read through its primary key.
fn row_id<E: EntityTrait>(row: &E::Model) -> Option<Uuid> {
    use sea_orm::{Iterable, ModelTrait};
    let key = E::PrimaryKey::iter().next()?;
    match row.get(sea_orm::PrimaryKeyToColumn::into_column(key)) {
        sea_orm::Value::Uuid(Some(id)) => Some(id),
        _ => None,
    }
}

/// Whether `viewer` may see the object `id` of `table`, by that kind's rules.
async fn decide(
    state: &AppState,
    viewer: Option<Viewer>,
    table: &str,
    id: Uuid,
    rows: &Rows,
) -> Result<Option<Found>> {
    let db = &state.db;
    let on_visible_campaign = |campaign_id: Uuid| async move {
        Ok::<_, AppError>(
            campaigns::get_cached(state, viewer, campaign_id)
                .await?
                .is_some(),
        )
    };
    Ok(match table {
        "campaign" => campaigns::get_cached(state, viewer, id)
            .await?
            .map(|found| Found::Campaign(Arc::unwrap_or_clone(found))),
        // Public wherever they are listed.
        "community" => rows.get::<community::Entity>(id).map(Found::Community),
        "producer" => rows.get::<producer::Entity>(id).map(Found::Producer),
        "member" => rows.get::<member::Entity>(id).map(Found::Member),
        "value_tag" => rows.get::<value_tag::Entity>(id).map(Found::ValueTag),
        "signature" => match rows.get::<signature::Entity>(id) {
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
        "producer_response" => match rows.get::<producer_response::Entity>(id) {
            Some(found)
                if found.hidden_at.is_none() && on_visible_campaign(found.campaign_id).await? =>
            {
                Some(Found::ProducerResponse(found))
            }
            _ => None,
        },
        "campaign_update" => match rows.get::<campaign_update::Entity>(id) {
            Some(found) if on_visible_campaign(found.campaign_id).await? => {
                Some(Found::CampaignUpdate(found))
            }
            _ => None,
        },
        "audit_log" if viewer.is_some_and(|v| v.moderates()) => {
            rows.get::<audit_log::Entity>(id).map(Found::AuditEntry)
        }
        "block_rule" if viewer.is_some_and(|v| v.is_admin()) => {
            rows.get::<block_rule::Entity>(id).map(Found::BlockRule)
        }
        // Moderators' queue; its reporter had it back when flagging.
        "flag" => rows.get::<flag::Entity>(id).and_then(|found| {
            viewer
                .is_some_and(|v| v.moderates() || found.reporter_id == Some(v.id))
                .then_some(Found::Flag(found))
        }),
        "fraud_signal" if viewer.is_some_and(|v| v.moderates()) => {
            rows.get::<fraud_signal::Entity>(id).map(Found::FraudSignal)
        }
        "invalidation" if viewer.is_some_and(|v| v.moderates()) => rows
            .get::<invalidation::Entity>(id)
            .map(Found::Invalidation),
        "outbox_message" => match viewer {
            Some(viewer) => notice(state, viewer, id).await?.map(Found::Notification),
            None => None,
        },
        // Verified tallies are public with their campaign; the others are
        // its organiser's and moderators'.
        "offline_tally" => match rows.get::<offline_tally::Entity>(id) {
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
        "pledge" => rows
            .get::<pledge::Entity>(id)
            .filter(|found| owns(viewer, found.member_id))
            .map(Found::Pledge),
        "trust_rating" => rows
            .get::<trust_rating::Entity>(id)
            .filter(|found| owns(viewer, found.member_id))
            .map(Found::TrustRating),
        // Admins decide claims; a claimant sees their own.
        "producer_representative" => rows
            .get::<producer_representative::Entity>(id)
            .filter(|found| admin_or_owner(viewer, found.member_id))
            .map(Found::ProducerClaim),
        "webhook" => rows
            .get::<webhook::Entity>(id)
            .filter(|found| admin_or_owner(viewer, found.owner_id))
            .map(Found::Webhook),
        "webhook_delivery" if viewer.is_some() => match rows.get::<webhook_delivery::Entity>(id) {
            Some(found) => row_by_id::<webhook::Entity>(db, found.webhook_id)
                .await?
                .filter(|hook| admin_or_owner(viewer, hook.owner_id))
                .map(|_| Found::WebhookDelivery(found)),
            None => None,
        },
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
    let event: CampaignEvent = serde_json::from_str(&message.payload)
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
