//! Webhooks: who may register one for what, the fan-out of an event to the
//! endpoints that asked for it, and each attempt's record. Delivery itself
//! (signing, the HTTP client, the address policy) is `outbox::webhook`.
//!
//! Scopes: a campaign (its organiser, its producer's representatives, its
//! community's moderators), a producer (its approved representatives: every
//! campaign aimed at it), a community (its moderators: its campaigns), or
//! none (admins: every campaign).

use entities::webhook_delivery::{self, DeliveryStatus};
use entities::{campaign, community, producer, webhook};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Iterable,
    PaginatorTrait, QueryFilter, Select, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::db::{begin_write, writer_turn};
use crate::error::{AppError, Result};
use crate::outbox::event::CampaignEvent;
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::outbox::webhook::{self as delivery, Attempt};
use crate::outbox::{self, Context};
use crate::service::viewer::Viewer;
use crate::service::{oversight::moderation, producers::producer_voice, validate};
use crate::state::AppState;
use crate::vocabulary::EventType;

/// Longest webhook URL.
const MAX_URL: usize = 2048;

/// What a webhook is about.
#[derive(Clone, Copy, Debug, Default)]
pub struct WebhookScope {
    pub campaign_id: Option<Uuid>,
    pub producer_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
}

/// A webhook just created or given a new secret: the secret is shown once.
pub struct WithSecret {
    pub webhook: webhook::Model,
    pub secret: String,
}

/// The events column for `events`: wire names between commas.
fn events_column(events: &[EventType]) -> String {
    let mut names: Vec<&str> = events.iter().map(|kind| kind.wire()).collect();
    names.sort_unstable();
    names.dedup();
    format!(",{},", names.join(","))
}

/// The event types a webhook receives.
pub fn events_of(found: &webhook::Model) -> Vec<EventType> {
    EventType::iter()
        .filter(|kind| found.events.contains(&format!(",{},", kind.wire())))
        .collect()
}

/// Whether `actor` may register a webhook for `scope`.
async fn may_watch(state: &AppState, actor: Viewer, scope: WebhookScope) -> Result<()> {
    if watches(&state.db, actor, scope).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "webhooks are for a campaign's organiser, its producer's representatives and its community's moderators; admins may watch everything".into(),
        ))
    }
}

/// Whether `actor`, in their current role, may watch `scope`: asked when a
/// webhook is registered or enabled again, and at every fan-out (a role
/// lost since disables the webhook).
async fn watches(db: &impl ConnectionTrait, actor: Viewer, scope: WebhookScope) -> Result<bool> {
    if actor.is_admin() {
        return Ok(true);
    }
    Ok(match scope {
        WebhookScope {
            campaign_id: Some(id),
            ..
        } => {
            let found = crate::service::campaigns::campaign::get(db, Some(actor), id)
                .await?
                .ok_or(AppError::NotFound("campaign"))?;
            found.organiser_id == Some(actor.id)
                || producer_voice::is_representative(db, actor, found.producer_id).await?
                || moderation::may_moderate(db, actor, found.community_id).await?
        }
        WebhookScope {
            producer_id: Some(id),
            ..
        } => {
            producer::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("producer"))?;
            producer_voice::is_representative(db, actor, id).await?
        }
        WebhookScope {
            community_id: Some(id),
            ..
        } => {
            community::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("community"))?;
            moderation::may_moderate(db, actor, Some(id)).await?
        }
        _ => false,
    })
}

/// The scope a webhook was registered for.
fn scope_of(found: &webhook::Model) -> WebhookScope {
    WebhookScope {
        campaign_id: found.campaign_id,
        producer_id: found.producer_id,
        community_id: found.community_id,
    }
}

/// Registers a webhook.
pub async fn create(
    state: &AppState,
    actor: Viewer,
    url: &str,
    events: &[EventType],
    scope: WebhookScope,
) -> Result<WithSecret> {
    let set = [scope.campaign_id, scope.producer_id, scope.community_id]
        .iter()
        .filter(|id| id.is_some())
        .count();
    if set > 1 {
        return Err(AppError::invalid(
            "input",
            "give at most one of campaignId, producerId and communityId",
        ));
    }
    let url = validate::text("input.url", url, 8, MAX_URL)?;
    let subscribed: Vec<EventType> = events
        .iter()
        .copied()
        .filter(|kind| *kind != EventType::WebhookTest)
        .collect();
    if subscribed.is_empty() {
        return Err(AppError::invalid(
            "input.events",
            "name at least one event (WEBHOOK_TEST is sent by testWebhook only)",
        ));
    }
    may_watch(state, actor, scope).await?;
    let checked = delivery::check_url(&url, state.config.webhook_allow_private)
        .await
        .map_err(|why| AppError::invalid("input.url", why))?;
    let owned = webhook::Entity::find()
        .filter(webhook::Column::OwnerId.eq(actor.id))
        .count(&state.db)
        .await?;
    if owned >= u64::from(state.config.limits.webhooks_per_member) {
        return Err(AppError::Conflict(format!(
            "you have {owned} webhooks, the most one member may have; delete one first"
        )));
    }
    let secret = delivery::new_secret();
    let created = webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(actor.id),
        url: Set(checked.to_string()),
        events: Set(events_column(&subscribed)),
        campaign_id: Set(scope.campaign_id),
        producer_id: Set(scope.producer_id),
        community_id: Set(scope.community_id),
        secret: Set(secret.clone()),
        consecutive_failures: Set(0),
        disabled_at: Set(None),
        created_at: Set(validate::now()),
    }
    .insert(&state.db)
    .await?;
    Ok(WithSecret {
        webhook: created,
        secret,
    })
}

/// The webhooks `actor` may manage: their own; all of them for admins.
pub fn visible_to(actor: Viewer) -> Select<webhook::Entity> {
    let query = webhook::Entity::find();
    if actor.is_admin() {
        query
    } else {
        query.filter(webhook::Column::OwnerId.eq(actor.id))
    }
}

/// One webhook `actor` may manage, or `NOT_FOUND`.
pub async fn get(state: &AppState, actor: Viewer, id: Uuid) -> Result<webhook::Model> {
    visible_to(actor)
        .filter(webhook::Column::Id.eq(id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// Deletes a webhook; its pending deliveries go with it.
pub async fn delete(state: &AppState, actor: Viewer, id: Uuid) -> Result<()> {
    let found = get(state, actor, id).await?;
    webhook::Entity::delete_by_id(found.id)
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Gives a webhook a new secret (the old one stops working at once) and
/// enables it again if failures had disabled it.
pub async fn rotate_secret(state: &AppState, actor: Viewer, id: Uuid) -> Result<WithSecret> {
    let found = get(state, actor, id).await?;
    // Enabled again only for someone who may still watch what it watches.
    may_watch(state, actor, scope_of(&found)).await?;
    let secret = delivery::new_secret();
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Secret, Expr::value(secret.clone()))
        .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            webhook::Column::DisabledAt,
            Expr::value(None::<chrono::DateTime<chrono::Utc>>),
        )
        .filter(webhook::Column::Id.eq(found.id))
        .exec(&state.db)
        .await?;
    Ok(WithSecret {
        webhook: get(state, actor, id).await?,
        secret,
    })
}

/// Sends a `webhook.test` event to one webhook; its delivery.
pub async fn test(state: &AppState, actor: Viewer, id: Uuid) -> Result<webhook_delivery::Model> {
    let found = get(state, actor, id).await?;
    state
        .limits
        .check_member(crate::ratelimit::Action::WebhookTest, actor.id)?;
    if found.disabled_at.is_some() {
        return Err(AppError::Conflict(
            "this webhook is disabled; rotate its secret to enable it again".into(),
        ));
    }
    // The same right as at every fan-out: a lost role sends nothing more.
    may_watch(state, actor, scope_of(&found)).await?;
    let event_id = Uuid::now_v7();
    let now = validate::now();
    let body = serde_json::json!({
        "type": EventType::WebhookTest.wire(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": { "webhookId": found.id, "message": "a test from Consumact" },
    });
    let (writer, txn) = state.begin_write().await?;
    let queued = queue(&txn, found.id, event_id, EventType::WebhookTest, &body).await?;
    let delivery = match queued {
        Some(id) => webhook_delivery::Entity::find_by_id(id).one(&txn).await?,
        None => None, // a fresh event id is never queued twice
    }
    .ok_or(AppError::Internal("test delivery not recorded".into()))?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(delivery)
}

/// A webhook's deliveries, for the caller to page through.
pub fn deliveries(webhook_id: Uuid) -> Select<webhook_delivery::Entity> {
    webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
}

/// Records one delivery of `event` to `webhook_id` and queues its first
/// attempt, unless it was recorded before (an event fanning out again
/// after a crash); the new delivery's id.
async fn queue(
    db: &impl ConnectionTrait,
    webhook_id: Uuid,
    event_id: Uuid,
    kind: EventType,
    payload: &Value,
) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let inserted = webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
        id: Set(id),
        webhook_id: Set(webhook_id),
        event_id: Set(event_id),
        event_type: Set(kind.wire().to_owned()),
        body: Set(payload.to_string()),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        response_status: Set(None),
        last_error: Set(None),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
        created_at: Set(validate::now()),
    })
    .on_conflict(
        OnConflict::columns([
            webhook_delivery::Column::WebhookId,
            webhook_delivery::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 0 {
        return Ok(None);
    }
    outbox::enqueue(db, delivery::KIND, &Attempt { delivery_id: id }).await?;
    Ok(Some(id))
}

/// Queues `event` for every enabled webhook that asked for its type and
/// whose scope covers `campaign`; how many.
pub async fn fan_out(
    db: &impl ConnectionTrait,
    event: &CampaignEvent,
    campaign: &campaign::Model,
    payload: &Value,
) -> Result<usize> {
    let mut scope = Condition::any()
        .add(webhook::Column::CampaignId.eq(campaign.id))
        .add(webhook::Column::ProducerId.eq(campaign.producer_id))
        .add(
            Condition::all()
                .add(webhook::Column::CampaignId.is_null())
                .add(webhook::Column::ProducerId.is_null())
                .add(webhook::Column::CommunityId.is_null()),
        );
    if let Some(community) = campaign.community_id {
        scope = scope.add(webhook::Column::CommunityId.eq(community));
    }
    let listening = webhook::Entity::find()
        .filter(webhook::Column::DisabledAt.is_null())
        .filter(webhook::Column::Events.like(format!("%,{},%", event.kind.wire())))
        .filter(scope)
        .all(db)
        .await?;
    let mut queued = 0;
    for found in listening {
        if !owner_still_watches(db, &found).await? {
            continue;
        }
        if queue(db, found.id, event.id, event.kind, payload)
            .await?
            .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Whether `found`'s owner, in their role of now, may still watch its scope;
/// if not (a demoted admin, a former moderator or representative), the
/// webhook is disabled and its owner told by mail, once.
async fn owner_still_watches(db: &impl ConnectionTrait, found: &webhook::Model) -> Result<bool> {
    let Some(owner) = entities::member::Entity::find_by_id(found.owner_id)
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let viewer = Viewer {
        id: owner.id,
        role: owner.role,
        confirmed: owner.email_confirmed_at.is_some(),
    };
    match watches(db, viewer, scope_of(found)).await {
        Ok(true) => return Ok(true),
        Ok(false) | Err(AppError::NotFound(_)) => {}
        Err(err) => return Err(err),
    }
    let disabled = webhook::Entity::update_many()
        .col_expr(webhook::Column::DisabledAt, Expr::value(validate::now()))
        .filter(webhook::Column::Id.eq(found.id))
        .filter(webhook::Column::DisabledAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if disabled == 1 {
        tracing::info!(webhook = %found.id, "webhook disabled: its owner may no longer watch its scope");
        Mail::new(&owner.email, &owner.locale, Template::WebhookScopeLost)
            .var("name", &owner.display_name)
            .var("url", &found.url)
            .enqueue(db)
            .await?;
    }
    Ok(false)
}

/// Deletes deliveries settled (delivered or given up) before `before`.
pub async fn purge_settled(
    db: &impl ConnectionTrait,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    Ok(webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::Status.ne(DeliveryStatus::Pending))
        .filter(webhook_delivery::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The delivery an attempt works on and its webhook, unless the delivery
/// is settled or gone.
pub async fn for_attempt(
    db: &impl ConnectionTrait,
    delivery_id: Uuid,
) -> Result<Option<(webhook_delivery::Model, webhook::Model)>> {
    let Some(found) = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(db)
        .await?
        .filter(|found| found.status == DeliveryStatus::Pending)
    else {
        return Ok(None);
    };
    let hook = webhook::Entity::find_by_id(found.webhook_id)
        .one(db)
        .await?;
    Ok(hook.map(|hook| (found, hook)))
}

/// Marks a delivery given up.
pub async fn give_up(context: &Context, delivery_id: Uuid, why: &str) -> Result<()> {
    let _writer = writer_turn(context.sqlite_writer.as_ref()).await;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
        .filter(webhook_delivery::Column::Id.eq(delivery_id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&context.db)
        .await?;
    Ok(())
}

/// Records one attempt: delivered, or one more failure for the delivery
/// and its endpoint, which is disabled (and its owner mailed) once it
/// failed `CONSUMACT_WEBHOOK_MAX_FAILURES` times in a row.
pub async fn record_attempt(
    context: &Context,
    found: &webhook_delivery::Model,
    hook: &webhook::Model,
    status: Option<u16>,
    failure: Option<&str>,
) -> Result<()> {
    let now = validate::now();
    let update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .col_expr(webhook_delivery::Column::LastAttemptAt, Expr::value(now))
        .col_expr(
            webhook_delivery::Column::ResponseStatus,
            Expr::value(status.map(i32::from)),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::value(failure.map(str::to_owned)),
        )
        .filter(webhook_delivery::Column::Id.eq(found.id));
    if failure.is_none() && hook.consecutive_failures == 0 {
        // The common case, a healthy endpoint: one statement, no transaction.
        let _writer = writer_turn(context.sqlite_writer.as_ref()).await;
        delivered(update, now).exec(&context.db).await?;
        return Ok(());
    }
    let (writer, txn) = begin_write(&context.db, context.sqlite_writer.as_ref()).await?;
    match failure {
        None => {
            delivered(update, now).exec(&txn).await?;
            webhook::Entity::update_many()
                .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
                .filter(webhook::Column::Id.eq(hook.id))
                .exec(&txn)
                .await?;
        }
        Some(_) => {
            update.exec(&txn).await?;
            webhook::Entity::update_many()
                .col_expr(
                    webhook::Column::ConsecutiveFailures,
                    Expr::col(webhook::Column::ConsecutiveFailures).add(1),
                )
                .filter(webhook::Column::Id.eq(hook.id))
                .exec(&txn)
                .await?;
            let limit = context.config.webhook_max_failures as i32;
            let disabled = webhook::Entity::update_many()
                .col_expr(webhook::Column::DisabledAt, Expr::value(now))
                .filter(webhook::Column::Id.eq(hook.id))
                .filter(webhook::Column::DisabledAt.is_null())
                .filter(webhook::Column::ConsecutiveFailures.gte(limit))
                .exec(&txn)
                .await?
                .rows_affected;
            if disabled == 1 {
                tracing::warn!(webhook = %hook.id, "webhook disabled after repeated failures");
                mail_owner_disabled(&txn, context, hook).await?;
            }
        }
    }
    txn.commit().await?;
    drop(writer);
    Ok(())
}

/// `update` marking its delivery acknowledged at `now`.
fn delivered(
    update: sea_orm::UpdateMany<webhook_delivery::Entity>,
    now: chrono::DateTime<chrono::Utc>,
) -> sea_orm::UpdateMany<webhook_delivery::Entity> {
    update
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Delivered),
        )
        .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now))
}

async fn mail_owner_disabled(
    db: &impl ConnectionTrait,
    context: &Context,
    hook: &webhook::Model,
) -> Result<()> {
    let Some(owner) = entities::member::Entity::find_by_id(hook.owner_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    Mail::new(&owner.email, &owner.locale, Template::WebhookDisabled)
        .var("name", &owner.display_name)
        .var("url", &hook.url)
        .var("failures", context.config.webhook_max_failures.to_string())
        .enqueue(db)
        .await?;
    Ok(())
}
