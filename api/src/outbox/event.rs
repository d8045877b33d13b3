//! Events: what happened to a campaign, written into the outbox by the
//! change that caused it (same transaction), then fanned out by a worker:
//! one delivery per subscribed webhook, the members' notification digests,
//! and the live `myNotifications` subscribers of every instance.
//!
//! Fanning out is idempotent (deliveries are unique per webhook and event;
//! digests are upserts), so an instance that dies halfway is simply
//! followed by another that finishes the job.

use chrono::{DateTime, SecondsFormat, Utc};
use entities::{campaign, outbox_message};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Context, DeliveryError, enqueue_as};
use crate::bus::Notice;
use crate::error::Result;
use crate::service::validate;
pub use crate::vocabulary::EventType;

/// The outbox kind of an event waiting to fan out.
pub const KIND: &str = "event";

/// One event, as the outbox keeps it until it has fanned out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CampaignEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub timestamp: DateTime<Utc>,
    pub campaign_id: Uuid,
    /// The payload's `data`, besides the campaign (added when it fans out).
    pub data: Value,
}

impl CampaignEvent {
    /// The Standard Webhooks payload: `{ type, timestamp, data }`, with the
    /// campaign in `data.campaign`.
    /// What live subscribers hear of it, `payload` being [`Event::payload`].
    pub fn notice(&self, campaign: &campaign::Model, payload: Value) -> Notice {
        Notice {
            id: self.id,
            kind: self.kind,
            campaign_id: campaign.id,
            producer_id: campaign.producer_id,
            organiser_id: campaign.organiser_id,
            at: self.timestamp,
            payload,
        }
    }

    pub fn payload(&self, campaign: &campaign::Model, public_url: &str) -> Value {
        let mut data = match &self.data {
            Value::Object(fields) => fields.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert("campaign".into(), campaign_json(campaign, public_url));
        json!({
            "type": self.kind.wire(),
            "timestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        })
    }
}

/// What payloads say of a campaign: public facts only.
pub fn campaign_json(campaign: &campaign::Model, public_url: &str) -> Value {
    json!({
        "id": campaign.id,
        "title": campaign.title,
        "status": crate::vocabulary::campaign_status_name(campaign.status),
        "producerId": campaign.producer_id,
        "communityId": campaign.community_id,
        "goal": campaign.goal,
        "offlineSignatures": campaign.offline_signatures,
        "url": format!("{public_url}/campaigns/{}", campaign.id),
    })
}

/// Records that `kind` happened to `campaign`, with `data`, in the
/// caller's transaction. Wake the outbox after the commit.
pub async fn emit(
    db: &impl ConnectionTrait,
    kind: EventType,
    campaign: Uuid,
    data: Value,
) -> Result<Uuid> {
    let event = CampaignEvent {
        id: Uuid::now_v7(),
        kind,
        timestamp: validate::now(),
        campaign_id: campaign,
        data,
    };
    enqueue_as(db, event.id, KIND, &event).await
}

/// Delivers an event message through the handlers the service layer
/// registered (webhooks and digests in one transaction, then the live
/// subscribers).
pub(super) async fn fan_out(
    context: &Context,
    message: &outbox_message::Model,
) -> std::result::Result<(), DeliveryError> {
    let event: CampaignEvent = serde_json::from_str(&message.payload)
        .map_err(|err| DeliveryError::Permanent(format!("unreadable event: {err}")))?;
    context.handlers.fan_out(context, event).await
}
