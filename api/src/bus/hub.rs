//! One broadcast channel per watched campaign. A single task per instance
//! reads the bus and hands each counter event to the channel of its
//! campaign only, so a subscriber wakes for its campaign's changes alone
//! and ten thousand subscribers of one campaign share one channel. The same
//! task keeps the counters' read cache current (`Counters::observe`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::broadcast;
use uuid::Uuid;

use super::CounterChange;
use crate::counters::Counters;

/// Events a campaign's channel holds for a slow subscriber before it skips
/// to the newest (counts are cumulative: the newest value is what matters).
const PER_CAMPAIGN: usize = 64;

#[derive(Default)]
pub struct CampaignHub {
    channels: Mutex<HashMap<Uuid, broadcast::Sender<CounterChange>>>,
}

impl CampaignHub {
    /// Starts the task that feeds the hub (and `counters`' read cache) from
    /// `events`, until the hub is dropped.
    pub fn start(
        events: broadcast::Receiver<CounterChange>,
        counters: Weak<Counters>,
    ) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        tokio::spawn(forward(events, Arc::downgrade(&hub), counters));
        hub
    }

    /// A receiver of `campaign`'s events from now on.
    pub fn subscribe(&self, campaign: Uuid) -> broadcast::Receiver<CounterChange> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(campaign)
            .or_insert_with(|| broadcast::channel(PER_CAMPAIGN).0)
            .subscribe()
    }

    /// Live subscriptions on this instance.
    pub fn subscribers(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .values()
            .map(broadcast::Sender::receiver_count)
            .sum()
    }

    /// Campaigns with a channel (watched, or watched until lately).
    pub fn channels(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn deliver(&self, event: CounterChange) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(channel) = channels.get(&event.campaign_id) {
            if channel.receiver_count() == 0 {
                channels.remove(&event.campaign_id);
            } else {
                let _ = channel.send(event);
            }
        }
    }

    /// Drops the channels nobody listens to any more.
    fn sweep(&self) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.retain(|_, channel| channel.receiver_count() > 0);
        channels.shrink_to_fit();
    }
}

async fn forward(
    mut events: broadcast::Receiver<CounterChange>,
    hub: Weak<CampaignHub>,
    counters: Weak<Counters>,
) {
    let mut sweep = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        let received = tokio::select! {
            received = events.recv() => received,
            _ = sweep.tick() => {
                let Some(hub) = hub.upgrade() else { return };
                hub.sweep();
                continue;
            }
        };
        match received {
            Ok(event) => {
                let Some(hub) = hub.upgrade() else { return };
                if let Some(counters) = counters.upgrade() {
                    counters.observe(
                        event.campaign_id,
                        event.counter.into(),
                        event.value,
                        event.seq,
                    );
                }
                hub.deliver(event);
            }
            // Missed some: subscribers keep their last value until the next
            // change; the read cache's entries expire.
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::CounterName;

    fn event(campaign: Uuid, value: i64) -> CounterChange {
        CounterChange {
            campaign_id: campaign,
            counter: CounterName::Signatures,
            value,
            at: chrono::Utc::now(),
            milestone: None,
            goal_reached: false,
            seq: Some(value),
        }
    }

    #[tokio::test]
    async fn each_subscriber_hears_its_campaign_only_and_channels_go_with_them() {
        let (bus, _) = broadcast::channel(16);
        let hub = CampaignHub::start(bus.subscribe(), Weak::new());
        let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
        let mut first = hub.subscribe(one);
        let mut second = hub.subscribe(one);
        let mut other = hub.subscribe(two);
        assert_eq!((hub.subscribers(), hub.channels()), (3, 2));
        bus.send(event(two, 7)).unwrap();
        bus.send(event(one, 1)).unwrap();
        assert_eq!(first.recv().await.unwrap().value, 1);
        assert_eq!(second.recv().await.unwrap().value, 1);
        assert_eq!(other.recv().await.unwrap().value, 7);
        assert!(first.try_recv().is_err());
        drop((first, second));
        hub.sweep();
        assert_eq!((hub.subscribers(), hub.channels()), (1, 1));
    }
}
