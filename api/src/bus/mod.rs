//! Live updates: every change to a campaign's counters is published here and
//! reaches the GraphQL subscribers of every server instance.
//!
//! Each instance fans events out to its own subscribers through a bounded
//! `tokio::sync::broadcast` channel: publishers never wait, and a subscriber
//! too slow to keep up skips to the newest events instead of holding anyone
//! back. With Redis, events travel through Redis pub/sub first so that the
//! other instances see them too.

pub mod hub;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::counters::Counter;

/// Events buffered per instance before slow subscribers start skipping.
pub const BUFFER: usize = 1024;

/// One counter of one campaign changed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CounterChange {
    pub campaign_id: Uuid,
    pub counter: CounterName,
    pub value: i64,
    pub at: DateTime<Utc>,
    /// A milestone this change crossed (recorded once, by the change that crossed it).
    pub milestone: Option<i64>,
    /// Whether that milestone is the campaign's goal.
    pub goal_reached: bool,
    /// The change's number from the counter store: a subscriber drops an
    /// event older than one it has shown, so concurrent changes published
    /// out of order never move a count backwards. `None` when counting fell
    /// back to the database.
    #[serde(default)]
    pub seq: Option<i64>,
}

/// [`Counter`] as it travels between instances.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CounterName {
    Signatures,
    Pledges,
    ActivePledges,
}

impl From<Counter> for CounterName {
    fn from(counter: Counter) -> Self {
        match counter {
            Counter::Signatures => CounterName::Signatures,
            Counter::Pledges => CounterName::Pledges,
            Counter::ActivePledges => CounterName::ActivePledges,
        }
    }
}

impl From<CounterName> for Counter {
    fn from(name: CounterName) -> Self {
        match name {
            CounterName::Signatures => Counter::Signatures,
            CounterName::Pledges => Counter::Pledges,
            CounterName::ActivePledges => Counter::ActivePledges,
        }
    }
}

/// Something every instance keeps in memory changed: reload it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Reload {
    /// The block-list (`service::fraud::block`).
    BlockRules,
    /// The open fraud signals (`service::fraud::surge`).
    FraudSignals,
    /// A member's row, role or sessions (`cache`).
    Member(Uuid),
    /// A campaign's row (`cache`).
    Campaign(Uuid),
}

/// An event that members hear about (`myNotifications`), as it travels
/// between instances: the webhook payload and what subscribers filter on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notice {
    pub id: Uuid,
    pub kind: crate::vocabulary::EventType,
    pub campaign_id: Uuid,
    pub producer_id: Uuid,
    pub organiser_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    /// `{ type, timestamp, data }`, as webhooks receive it.
    pub payload: serde_json::Value,
}

/// Where events are published and subscribed to.
#[async_trait]
pub trait LiveBus: Send + Sync {
    /// Tells every instance (this one included) to reload `what`.
    async fn publish_reload(&self, what: Reload);
    /// This instance's stream of reload requests.
    fn subscribe_reloads(&self) -> broadcast::Receiver<Reload>;
    /// Publishes an event to every instance's subscribers. Never fails the
    /// caller: an event that cannot travel is delivered locally at least.
    async fn publish(&self, event: CounterChange);
    /// This instance's stream of events (all campaigns).
    fn subscribe(&self) -> broadcast::Receiver<CounterChange>;
    /// Publishes a notice to every instance's `myNotifications` subscribers.
    async fn publish_notice(&self, notice: Notice);
    /// This instance's stream of notices.
    fn subscribe_notices(&self) -> broadcast::Receiver<Notice>;
    /// How many subscribers this instance currently has.
    fn subscriber_count(&self) -> usize;
}
