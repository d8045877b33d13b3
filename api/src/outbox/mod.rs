//! The outbox: everything that leaves the server goes through one table.
//!
//! A message is written by [`enqueue`] in the same transaction as the
//! change that causes it, so a rolled-back change sends nothing and a
//! committed one is never forgotten. Workers (one per instance) deliver it
//! afterwards: they claim due messages for a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, the writer queue on SQLite), so two instances never
//! send the same message at once, and a message claimed by an instance that
//! died is taken again when its lease ends. A failed delivery is retried
//! with exponential backoff and jitter; the message id stays the same across
//! retries (it is the mail's `Message-ID`), so receivers can drop a
//! duplicate of an at-least-once delivery.

pub mod event;
pub mod mail;
pub mod templates;
pub mod webhook;

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::outbox_message::{self, Column};
use entities::webhook_delivery;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use tokio::sync::{Mutex, Notify, Semaphore};
use uuid::Uuid;

use crate::bus::LiveBus;
use crate::config::Config;
use crate::db::{begin_write, writer_turn};
use crate::error::{AppError, Result};
use crate::metrics::Metrics;
use crate::service::source::SourceKeys;
use crate::service::validate;

use mail::Mailer;

/// Most messages one worker claims at a time.
const CLAIM: u64 = 128;
/// Deliveries one worker runs at once (each is mostly waiting on a
/// remote server).
const PARALLEL: usize = 32;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Writes a message of `kind` into the outbox through `db` (the caller's
/// transaction), due now. Call [`Outbox::wake`] after the commit.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: &impl Serialize,
) -> Result<Uuid> {
    enqueue_as(db, Uuid::now_v7(), kind, payload).await
}

/// Writes a message under an id its payload already carries (an event's
/// id), so that the message can be found again by it.
pub async fn enqueue_as(
    db: &impl ConnectionTrait,
    id: Uuid,
    kind: &str,
    payload: &impl Serialize,
) -> Result<Uuid> {
    let now = validate::now();
    let payload =
        serde_json::to_string(payload).map_err(|err| AppError::Internal(err.to_string()))?;
    outbox_message::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        due_at: Set(now),
        attempts: Set(0),
        last_error: Set(None),
        locked_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// Why a delivery failed.
#[derive(Debug)]
pub enum DeliveryError {
    /// Worth retrying later (a server down, a timeout).
    Temporary(String),
    /// Will never succeed (an unknown kind, a malformed payload).
    Permanent(String),
}

/// What the outbox carries means something only to the service layer: an
/// event fans out to webhooks, digests and live subscribers; a webhook
/// delivery is recorded against its endpoint; due digests become mail. The
/// outbox is a transport below the services (it claims, leases, retries and
/// sends), so it calls these, which the composition root registers
/// (`service::notify::delivery::Delivery`), instead of importing the services.
#[async_trait::async_trait]
pub trait Handlers: Send + Sync {
    /// Fans an event out: webhooks and digests, then live subscribers.
    async fn fan_out(
        &self,
        context: &Context,
        event: event::CampaignEvent,
    ) -> std::result::Result<(), DeliveryError>;
    /// Turns the notification digests that came due into mail; how many.
    async fn send_due_digests(&self, context: &Context) -> Result<usize>;
    /// The pending delivery an attempt works on and its webhook, unless the
    /// delivery is settled or gone.
    async fn webhook_for_attempt(
        &self,
        context: &Context,
        delivery_id: Uuid,
    ) -> Result<Option<(webhook_delivery::Model, entities::webhook::Model)>>;
    /// Marks a delivery given up.
    async fn webhook_give_up(&self, context: &Context, delivery_id: Uuid, why: &str) -> Result<()>;
    /// Records one attempt: delivered (`failure` none) or failed.
    async fn webhook_attempted(
        &self,
        context: &Context,
        delivery: &webhook_delivery::Model,
        hook: &entities::webhook::Model,
        status: Option<u16>,
        failure: Option<&str>,
    ) -> Result<()>;
}

/// What deliveries need besides the message: the database (events fan
/// out into further messages), the live bus, the settings and links, and
/// the handlers that say what a message means.
#[derive(Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub sqlite_writer: Option<Arc<Mutex<()>>>,
    pub bus: Arc<dyn LiveBus>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Base of the links in mails and payloads, without a trailing slash.
    pub public_url: Arc<str>,
    /// Keys unsubscribe links.
    pub keys: Arc<SourceKeys>,
    pub handlers: Arc<dyn Handlers>,
}

/// This instance's outbox: the deliverers, and the bell that wakes its worker.
pub struct Outbox {
    mailer: Mailer,
    webhooks: webhook::Sender,
    wake: Arc<Notify>,
}

impl Outbox {
    /// The outbox for `config`: SMTP when `CONSUMACT_SMTP_URL` is set, files otherwise.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            mailer: Mailer::new(config)?,
            webhooks: webhook::Sender::new(config)?,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Tells this instance's worker that a message was committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn deliver(
        &self,
        context: &Context,
        message: &outbox_message::Model,
    ) -> std::result::Result<(), DeliveryError> {
        match message.kind.as_str() {
            mail::KIND => self.mailer.deliver(message).await,
            event::KIND => event::fan_out(context, message).await,
            webhook::KIND => self.webhooks.deliver(context, message).await,
            other => Err(DeliveryError::Permanent(format!(
                "unknown message kind `{other}`"
            ))),
        }
    }

    /// Starts this instance's delivery worker; it stops once the outbox is
    /// dropped (the server is gone).
    pub fn start_worker(self: &Arc<Self>, context: Context) {
        let config = &context.config;
        let worker = Worker {
            outbox: Arc::downgrade(self),
            bell: self.wake.clone(),
            poll: Duration::from_millis(config.outbox_poll_ms.max(10)),
            lease: Duration::from_secs(config.outbox_lease_secs.max(1)),
            retry_base: Duration::from_millis(config.outbox_retry_base_ms.max(1)),
            webhook_retry_base: Duration::from_millis(config.webhook_retry_base_ms.max(1)),
            max_attempts: config.outbox_max_attempts.max(1) as i32,
            context,
        };
        tokio::spawn(worker.run());
    }
}

struct Worker {
    outbox: Weak<Outbox>,
    /// The outbox's bell, held apart so the worker can sleep without
    /// keeping the outbox alive.
    bell: Arc<Notify>,
    poll: Duration,
    lease: Duration,
    retry_base: Duration,
    /// Webhooks retry on their own schedule, for a window rather than a
    /// number of attempts (the deliverer gives up when it closes).
    webhook_retry_base: Duration,
    max_attempts: i32,
    context: Context,
}

impl Worker {
    /// Claims what it has free slots for, hands each message to a task of
    /// its own, and claims again as soon as a slot frees: a slow endpoint
    /// holds one slot, never the whole outbox.
    async fn run(self) {
        let worker = Arc::new(self);
        let slots = Arc::new(Semaphore::new(PARALLEL));
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            let Some(outbox) = worker.outbox.upgrade() else {
                return;
            };
            // Digests that came due become mail messages, once per poll
            // interval: a busy outbox loops far more often than that.
            if last_sweep.is_none_or(|at| at.elapsed() >= worker.poll) {
                last_sweep = Some(std::time::Instant::now());
                match worker
                    .context
                    .handlers
                    .send_due_digests(&worker.context)
                    .await
                {
                    Ok(0) => {}
                    Ok(sent) => tracing::debug!(sent, "notification digests queued"),
                    Err(err) => {
                        tracing::warn!(code = err.code(), "notification digests failed")
                    }
                }
            }
            let limit = (slots.available_permits() as u64).min(CLAIM);
            let claimed = if limit == 0 {
                Vec::new()
            } else {
                worker.claim(limit).await.unwrap_or_else(|err| {
                    tracing::warn!(code = err.code(), "outbox claim failed");
                    Vec::new()
                })
            };
            // Slots were all busy, or a full claim may leave more due now,
            // or an event fanned out deliveries that are due now.
            let more = limit == 0
                || claimed.len() as u64 == limit
                || claimed.iter().any(|message| message.kind == event::KIND);
            for message in claimed {
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let (worker, outbox) = (Arc::clone(&worker), Arc::clone(&outbox));
                tokio::spawn(async move {
                    // Delivered in a task of its own, so that a delivery
                    // that panics fails its message, not the worker.
                    let delivery = {
                        let (context, message) = (worker.context.clone(), message.clone());
                        tokio::spawn(async move { outbox.deliver(&context, &message).await })
                    };
                    let outcome = delivery.await.unwrap_or_else(|err| {
                        Err(DeliveryError::Permanent(format!(
                            "delivery panicked: {err}"
                        )))
                    });
                    if let Err(err) = worker.settle(&message, outcome).await {
                        tracing::warn!(id = %message.id, code = err.code(), "outbox message not settled");
                    }
                    drop(slot);
                });
            }
            drop(outbox); // let the server go while this worker sleeps
            if more {
                // Go on as soon as a slot is free.
                match Arc::clone(&slots).acquire_owned().await {
                    Ok(slot) => drop(slot),
                    Err(_) => return,
                }
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(worker.poll) => {}
                _ = worker.bell.notified() => {}
            }
        }
    }

    /// Takes up to `limit` due messages nobody holds, for one lease.
    async fn claim(&self, limit: u64) -> Result<Vec<outbox_message::Model>> {
        use sea_orm::sea_query::ExprTrait;
        let now = validate::now();
        let (writer, txn) =
            begin_write(&self.context.db, self.context.sqlite_writer.as_ref()).await?;
        let mut due = outbox_message::Entity::find()
            .filter(Column::SentAt.is_null())
            .filter(Column::FailedAt.is_null())
            .filter(Column::DueAt.lte(now))
            .filter(
                Condition::any()
                    .add(Column::LockedUntil.is_null())
                    .add(Column::LockedUntil.lte(now)),
            )
            .order_by_asc(Column::DueAt)
            .limit(limit);
        if txn.get_database_backend() == DbBackend::Postgres {
            due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let mut claimed = due.all(&txn).await?;
        if !claimed.is_empty() {
            let until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
            outbox_message::Entity::update_many()
                .col_expr(Column::LockedUntil, Expr::value(until))
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .filter(Column::Id.is_in(claimed.iter().map(|message| message.id)))
                .exec(&txn)
                .await?;
            for message in &mut claimed {
                message.attempts += 1;
            }
        }
        txn.commit().await?;
        drop(writer);
        Ok(claimed)
    }

    /// Records a delivery's outcome: sent, due again later, or given up.
    async fn settle(
        &self,
        message: &outbox_message::Model,
        outcome: std::result::Result<(), DeliveryError>,
    ) -> Result<()> {
        let now = validate::now();
        let update = outbox_message::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(Column::Id.eq(message.id));
        let update = match outcome {
            Ok(()) => {
                Metrics::increment(&self.context.metrics.outbox_sent);
                let update = update
                    .col_expr(Column::SentAt, Expr::value(now))
                    .col_expr(Column::LastError, Expr::value(None::<String>));
                match (message.kind.as_str(), mail::scrubbed(&message.payload)) {
                    (mail::KIND, Some(payload)) => {
                        update.col_expr(Column::Payload, Expr::value(payload))
                    }
                    _ => update,
                }
            }
            Err(failure) => {
                Metrics::increment(&self.context.metrics.outbox_failures);
                let (why, permanent) = match failure {
                    DeliveryError::Temporary(why) => (why, false),
                    DeliveryError::Permanent(why) => (why, true),
                };
                tracing::warn!(id = %message.id, attempts = message.attempts, %why, permanent, "outbox delivery failed");
                let update = update.col_expr(Column::LastError, Expr::value(why));
                let (base, out_of_attempts) = if message.kind == webhook::KIND {
                    (self.webhook_retry_base, false)
                } else {
                    (self.retry_base, message.attempts >= self.max_attempts)
                };
                if permanent || out_of_attempts {
                    update.col_expr(Column::FailedAt, Expr::value(now))
                } else {
                    let wait = backoff(base, message.attempts);
                    let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    update.col_expr(Column::DueAt, Expr::value(due))
                }
            }
        };
        // One statement: no transaction, but SQLite's writers still queue.
        let _writer = writer_turn(self.context.sqlite_writer.as_ref()).await;
        update.exec(&self.context.db).await?;
        Ok(())
    }
}

/// Deletes messages sent (or given up) before `before`: the record of
/// what left the server is kept for a while, not forever.
pub async fn purge_settled(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    Ok(outbox_message::Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::SentAt.lt(before))
                .add(Column::FailedAt.lt(before)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// The wait after the `attempt`-th failure: `base`·2^(attempt−1), at most
/// an hour, with up to a quarter of it added at random so that messages
/// failing together do not retry together.
fn backoff(base: Duration, attempt: i32) -> Duration {
    let exponent = attempt.clamp(1, 30) as u32 - 1;
    let wait = base
        .saturating_mul(1u32 << exponent.min(20))
        .min(MAX_BACKOFF);
    let jitter = rand::random::<f64>() * 0.25;
    wait.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_mail_keeps_no_link() {
        let mail = mail::Mail::new("a@example.org", "en", templates::Template::ConfirmEmail)
            .var("link", "http://x/confirm-email?token=secret")
            .var("name", "Ann");
        let payload = serde_json::to_string(&mail).unwrap();
        let kept = mail::scrubbed(&payload).unwrap();
        assert!(!kept.contains("secret"), "{kept}");
        assert!(kept.contains("Ann"));
    }

    #[test]
    fn backoff_doubles_from_its_base_and_stops_at_an_hour() {
        let base = Duration::from_secs(5);
        let first = backoff(base, 1);
        assert!(first >= base && first <= base.mul_f64(1.25));
        let third = backoff(base, 3);
        assert!(third >= base * 4 && third <= (base * 4).mul_f64(1.25));
        let late = backoff(base, 30);
        assert!(late >= MAX_BACKOFF && late <= MAX_BACKOFF.mul_f64(1.25));
    }
}
