//! Events across instances through Redis pub/sub.
//!
//! Publishing goes to a Redis channel; a listener task per instance holds a
//! dedicated pub/sub connection (a `ConnectionManager` cannot subscribe),
//! re-subscribes after every disconnection, and forwards what it hears to
//! the local broadcast. When Redis cannot take an event, it is delivered to
//! this instance's subscribers directly, so a single instance keeps working.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::broadcast;

use super::{BUFFER, CounterChange, LiveBus, Notice, Reload};
use crate::redis_link::RedisLink;

pub struct RedisBus {
    link: Arc<RedisLink>,
    channel: String,
    local: broadcast::Sender<CounterChange>,
    /// Reload requests travel on a channel of their own.
    reload_channel: String,
    reloads: broadcast::Sender<Reload>,
    /// Notices for `myNotifications` too.
    notice_channel: String,
    notices: broadcast::Sender<Notice>,
}

/// The channel counter events travel on.
pub fn counter_channel(link: &RedisLink) -> String {
    link.key("events")
}

impl RedisBus {
    /// Creates the bus and starts its listener task.
    pub fn start(link: Arc<RedisLink>) -> Arc<Self> {
        let events = Arc::new(Self {
            channel: counter_channel(&link),
            reload_channel: link.key("reloads"),
            notice_channel: link.key("notices"),
            notices: broadcast::channel(BUFFER).0,
            link,
            local: broadcast::channel(BUFFER).0,
            reloads: broadcast::channel(BUFFER).0,
        });
        tokio::spawn(listen(Arc::downgrade(&events)));
        events
    }
}

/// Forwards the channel to local subscribers until the bus is dropped.
async fn listen(events: std::sync::Weak<RedisBus>) {
    loop {
        let Some(bus) = events.upgrade() else { return };
        let client = bus.link.client().clone();
        let channel = bus.channel.clone();
        let reload_channel = bus.reload_channel.clone();
        let local = bus.local.clone();
        let reloads = bus.reloads.clone();
        let notice_channel = bus.notice_channel.clone();
        let notices = bus.notices.clone();
        let timeout = bus.link.timeout() * 4;
        drop(bus);
        let subscribed = tokio::time::timeout(timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub
                .subscribe(&[&channel, &reload_channel, &notice_channel])
                .await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match subscribed {
            Ok(Ok(pubsub)) => {
                tracing::debug!(%channel, "listening for events");
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else {
                        continue;
                    };
                    if message.get_channel_name() == reload_channel {
                        match serde_json::from_str::<Reload>(&payload) {
                            Ok(what) => {
                                let _ = reloads.send(what);
                            }
                            Err(err) => tracing::warn!(%err, "ignoring a malformed reload"),
                        }
                        continue;
                    }
                    if message.get_channel_name() == notice_channel {
                        match serde_json::from_str::<Notice>(&payload) {
                            Ok(notice) => {
                                let _ = notices.send(notice);
                            }
                            Err(err) => tracing::warn!(%err, "ignoring a malformed notice"),
                        }
                        continue;
                    }
                    match serde_json::from_str::<CounterChange>(&payload) {
                        Ok(event) => {
                            let _ = local.send(event);
                        }
                        Err(err) => tracing::warn!(%err, "ignoring a malformed event"),
                    }
                }
                tracing::warn!(%channel, "event subscription lost; reconnecting");
            }
            Ok(Err(err)) => tracing::debug!(%err, "cannot subscribe to events yet"),
            Err(_) => tracing::debug!("subscribing to events timed out"),
        }
        if events.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl RedisBus {
    /// Publishes `value` on `channel`; when nobody heard it (not even this
    /// instance's listener, still connecting) or Redis is down, delivers it
    /// to this instance's `local` subscribers directly.
    async fn send<T: serde::Serialize>(
        &self,
        channel: &str,
        value: T,
        local: &broadcast::Sender<T>,
    ) {
        let payload = match serde_json::to_string(&value) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(%err, "cannot encode event");
                return;
            }
        };
        let sent =
            self.link
                .run(|mut connection| async move {
                    connection.publish::<_, _, i64>(channel, payload).await
                })
                .await;
        if !matches!(sent, Ok(listeners) if listeners > 0) {
            let _ = local.send(value);
        }
    }
}

#[async_trait]
impl LiveBus for RedisBus {
    async fn publish_reload(&self, what: Reload) {
        self.send(&self.reload_channel, what, &self.reloads).await;
    }

    fn subscribe_reloads(&self) -> broadcast::Receiver<Reload> {
        self.reloads.subscribe()
    }

    async fn publish(&self, event: CounterChange) {
        self.send(&self.channel, event, &self.local).await;
    }

    fn subscribe(&self) -> broadcast::Receiver<CounterChange> {
        self.local.subscribe()
    }

    async fn publish_notice(&self, notice: Notice) {
        self.send(&self.notice_channel, notice, &self.notices).await;
    }

    fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn subscriber_count(&self) -> usize {
        self.local.receiver_count()
    }
}
