//! Webhooks over GraphQL: `createWebhook`, `webhooks`, `deleteWebhook`,
//! `rotateWebhookSecret`, `testWebhook`, `webhookDeliveries`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{webhook, webhook_delivery};

use crate::error::Result;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state};
use crate::service::{notify::webhook as service, validate};
use crate::vocabulary::EventType;

/// What happened. On the wire (webhook payloads) each has a dotted name:
/// `CAMPAIGN_PUBLISHED` is `campaign.published`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "WebhookEvent", remote = "crate::vocabulary::EventType")]
pub enum WebhookEvent {
    /// A campaign opened for signatures.
    CampaignPublished,
    /// A campaign crossed 10, 100, 1 000, 10 000 or 100 000 signatures.
    CampaignMilestone,
    /// A campaign reached its goal.
    CampaignGoalReached,
    /// A campaign closed, in victory or not.
    CampaignClosed,
    /// The organiser posted an update.
    CampaignUpdatePosted,
    /// A campaign's count reached its response threshold: its producer is
    /// asked to answer by a due date.
    CampaignResponseRequested,
    /// The due date of a response request passed without an answer.
    CampaignResponseOverdue,
    /// The organiser moved a campaign from its target to an owner of it.
    CampaignEscalated,
    /// The producer answered a campaign.
    ProducerResponded,
    /// A commitment's due date passed while it was still pending.
    CommitmentDue,
    /// A commitment closed, kept or broken.
    CommitmentClosed,
    /// Conditional pledges became active: their threshold was met.
    PledgesActivated,
    /// A moderator struck signatures out.
    SignaturesInvalidated,
    /// Sent by `testWebhook` only.
    WebhookTest,
}

/// An endpoint Consumact calls when events happen.
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The events it receives.
    async fn events(&self) -> Vec<WebhookEvent> {
        service::events_of(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    async fn campaign_id(&self) -> Option<ID> {
        self.0.campaign_id.map(|id| ID(id.to_string()))
    }
    async fn producer_id(&self) -> Option<ID> {
        self.0.producer_id.map(|id| ID(id.to_string()))
    }
    async fn community_id(&self) -> Option<ID> {
        self.0.community_id.map(|id| ID(id.to_string()))
    }
    /// Failed attempts since the last acknowledged one.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    /// When repeated failures disabled it; `rotateWebhookSecret` enables it again.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A webhook with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_…`: verify each request's `webhook-signature` with it.
    pub secret: String,
}

impl From<service::WithSecret> for WebhookWithSecret {
    fn from(created: service::WithSecret) -> Self {
        Self {
            webhook: Webhook(created.webhook),
            secret: created.secret,
        }
    }
}

/// One event sent (or being sent) to one webhook.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// Where a delivery stands.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::webhook_delivery::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not acknowledged yet: retried with backoff.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up.
    Failed,
}

#[Object]
impl WebhookDelivery {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The `webhook-id` header: the same at every attempt.
    async fn message_id(&self) -> String {
        format!("msg_{}", self.0.event_id.simple())
    }
    /// The event's dotted name (`campaign.milestone`).
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The JSON body sent.
    async fn payload(&self) -> &str {
        &self.0.body
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last answer.
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new webhook: give at most one scope (none: every campaign, admins only).
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// `https://…` (or `http://`); it must lead to a public address.
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// One campaign: its organiser, producer representatives, community moderators.
    pub campaign_id: Option<ID>,
    /// Every campaign aimed at a producer: its approved representatives.
    pub producer_id: Option<ID>,
    /// Every campaign of a community: its moderators.
    pub community_id: Option<ID>,
}

fn optional_id(field: &str, id: Option<&ID>) -> Result<Option<uuid::Uuid>> {
    id.map(|id| validate::id(field, id)).transpose()
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Your webhooks (every webhook, for admins), newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Webhook>> {
        let actor = require_member(ctx).await?;
        connection::paginate(
            ctx,
            service::visible_to(actor),
            webhook::Column::Id,
            first,
            after,
            Webhook,
        )
        .await
    }

    /// A webhook's deliveries, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<WebhookDelivery>> {
        let actor = require_member(ctx).await?;
        let id = validate::id("webhookId", &webhook_id)?;
        let found = service::get(state(ctx), actor, id).await?;
        connection::paginate(
            ctx,
            service::deliveries(found.id),
            webhook_delivery::Column::Id,
            first,
            after,
            WebhookDelivery,
        )
        .await
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook; the answer holds its secret, shown this once.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<WebhookWithSecret> {
        let actor = require_member(ctx).await?;
        let scope = service::WebhookScope {
            campaign_id: optional_id("input.campaignId", input.campaign_id.as_ref())?,
            producer_id: optional_id("input.producerId", input.producer_id.as_ref())?,
            community_id: optional_id("input.communityId", input.community_id.as_ref())?,
        };
        let events: Vec<EventType> = input.events.into_iter().map(Into::into).collect();
        service::create(state(ctx), actor, &input.url, &events, scope)
            .await
            .map(Into::into)
    }

    /// Deletes a webhook; nothing more is sent to it.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::delete(state(ctx), actor, id).await.map(|_| true)
    }

    /// Gives a webhook a new secret (the old one stops at once) and enables
    /// it again if failures had disabled it.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookWithSecret> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::rotate_secret(state(ctx), actor, id)
            .await
            .map(Into::into)
    }

    /// Sends a `webhook.test` event to the webhook now.
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::test(state(ctx), actor, id)
            .await
            .map(WebhookDelivery)
    }
}
