//! What the outbox's messages mean, registered with the outbox at start-up
//! ([`crate::outbox::Handlers`]): an event fans out to webhooks and digests
//! in one transaction, then to live subscribers; a webhook delivery is
//! recorded against its endpoint; due digests become mail.

use entities::{campaign, webhook, webhook_delivery};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::outbox::event::CampaignEvent;
use crate::outbox::{Context, DeliveryError, Handlers};
use crate::service::{notify::notification, notify::webhook as webhooks};

/// The service layer's [`Handlers`].
pub struct Delivery;

#[async_trait::async_trait]
impl Handlers for Delivery {
    async fn fan_out(
        &self,
        context: &Context,
        event: CampaignEvent,
    ) -> std::result::Result<(), DeliveryError> {
        let temporary = |err: AppError| DeliveryError::Temporary(err.message());
        let Some(campaign) = campaign::Entity::find_by_id(event.campaign_id)
            .one(&context.db)
            .await
            .map_err(|err| temporary(err.into()))?
        else {
            return Ok(()); // deleted since: nobody to tell
        };
        let (writer, txn) = begin_write(&context.db, context.sqlite_writer.as_ref())
            .await
            .map_err(|err| temporary(err.into()))?;
        let payload = event.payload(&campaign, &context.public_url);
        let queued = webhooks::fan_out(&txn, &event, &campaign, &payload)
            .await
            .map_err(temporary)?;
        notification::schedule(&txn, &context.config, &event, &campaign)
            .await
            .map_err(temporary)?;
        txn.commit().await.map_err(|err| temporary(err.into()))?;
        drop(writer);
        if queued > 0 {
            // The deliveries are due now; the worker takes them next round.
            tracing::debug!(event = %event.id, queued, "webhook deliveries queued");
        }
        context
            .bus
            .publish_notice(event.notice(&campaign, payload))
            .await;
        Ok(())
    }

    async fn send_due_digests(&self, context: &Context) -> Result<usize> {
        notification::send_due_digests(context).await
    }

    async fn webhook_for_attempt(
        &self,
        context: &Context,
        delivery_id: Uuid,
    ) -> Result<Option<(webhook_delivery::Model, webhook::Model)>> {
        webhooks::for_attempt(&context.db, delivery_id).await
    }

    async fn webhook_give_up(&self, context: &Context, delivery_id: Uuid, why: &str) -> Result<()> {
        webhooks::give_up(context, delivery_id, why).await
    }

    async fn webhook_attempted(
        &self,
        context: &Context,
        delivery: &webhook_delivery::Model,
        hook: &webhook::Model,
        status: Option<u16>,
        failure: Option<&str>,
    ) -> Result<()> {
        webhooks::record_attempt(context, delivery, hook, status, failure).await
    }
}
