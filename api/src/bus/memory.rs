//! Events within one process: the embedded default.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{BUFFER, CounterChange, LiveBus, Notice, Reload};

pub struct MemoryBus {
    sender: broadcast::Sender<CounterChange>,
    reloads: broadcast::Sender<Reload>,
    notices: broadcast::Sender<Notice>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
            reloads: broadcast::channel(BUFFER).0,
            notices: broadcast::channel(BUFFER).0,
        }
    }
}

#[async_trait]
impl LiveBus for MemoryBus {
    async fn publish_reload(&self, what: Reload) {
        let _ = self.reloads.send(what);
    }

    fn subscribe_reloads(&self) -> broadcast::Receiver<Reload> {
        self.reloads.subscribe()
    }

    async fn publish(&self, event: CounterChange) {
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<CounterChange> {
        self.sender.subscribe()
    }

    async fn publish_notice(&self, notice: Notice) {
        let _ = self.notices.send(notice);
    }

    fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}
