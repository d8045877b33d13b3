//! One execution and one serialised frame for many subscribers. Anonymous
//! subscriptions with the same document, operation and variables (ten
//! thousand readers of one campaign's counters) share a feed: the first
//! one's subscription runs under the request policy as any other, and each
//! of its results is serialised once; every subscriber's task wraps those
//! bytes in its own envelope (its id) and hands them to its socket. A
//! subscriber that joins later gets the latest frame first (counts are
//! cumulative, so the latest is the state now), then every following one;
//! one that falls behind skips to the newest, as a campaign's channel does.
//!
//! Only anonymous subscriptions share: what they see depends on nothing of
//! the subscriber (no member, no role; resolvers of subscriptions use no
//! per-address limit). A feed ends with its last subscriber, or when its
//! subscription ends (an error before it started is given to every
//! subscriber waiting, and the next subscriber starts afresh).
//! `CONSUMACT_WS_SHARED_FEEDS=false` gives every subscriber its own
//! execution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::{Request, ServerError};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::super::HttpState;
use super::super::policy::{self, Caller};

/// What a feed holds for its subscribers.
#[derive(Clone, Debug)]
pub(crate) enum Frame {
    /// The subscription has not answered yet.
    Waiting,
    /// A result, serialised once (the `payload` of a `next` message).
    Next(Arc<str>),
    /// The subscription was refused before it started.
    Refused(Arc<Vec<ServerError>>),
    /// The subscription ended, after its last result (which a subscriber
    /// that skipped to this frame has not sent yet).
    Ended(Option<Arc<str>>),
}

/// The key of a feed: the document, the operation and the variables.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    query: String,
    operation: Option<String>,
    variables: String,
}

/// The feeds of one instance.
#[derive(Default)]
pub(crate) struct Feeds {
    feeds: Mutex<HashMap<Key, watch::Sender<Frame>>>,
}

impl Feeds {
    /// A receiver of the feed of `request`'s results, started (under the
    /// policy, for `caller`) when there is none.
    pub fn join(
        self: &Arc<Self>,
        state: &HttpState,
        caller: &Caller,
        request: Request,
    ) -> watch::Receiver<Frame> {
        let key = Key {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        };
        let mut feeds = self.lock();
        if let Some(frames) = feeds.get(&key) {
            policy::count_subscription(state, &request);
            return frames.subscribe();
        }
        let (frames, receiver) = watch::channel(Frame::Waiting);
        feeds.insert(key.clone(), frames.clone());
        drop(feeds);
        tokio::spawn(feed(
            Arc::downgrade(self),
            key,
            frames,
            policy::subscribe(state, caller, request),
        ));
        receiver
    }

    /// Feeds running on this instance.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, watch::Sender<Frame>>> {
        self.feeds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets `key`'s feed when nobody listens (checked under the lock, so
    /// a subscriber joining meanwhile keeps it); whether it was forgotten.
    fn leave_if_unheard(&self, key: &Key) -> bool {
        let mut feeds = self.lock();
        let unheard = feeds
            .get(key)
            .is_none_or(|frames| frames.receiver_count() == 0);
        if unheard {
            feeds.remove(key);
        }
        unheard
    }

    fn forget(&self, key: &Key) {
        self.lock().remove(key);
    }
}

/// Runs one feed: each result of the subscription serialised once, until
/// it ends or nobody listens.
async fn feed(
    feeds: Weak<Feeds>,
    key: Key,
    frames: watch::Sender<Frame>,
    mut results: futures_util::stream::BoxStream<'static, async_graphql::Response>,
) {
    let mut first = true;
    let mut last: Option<Arc<str>> = None;
    loop {
        tokio::select! {
            result = results.next() => {
                let Some(response) = result else { break };
                if first && policy::failed_before_execution(&response) {
                    // Refused: said to those waiting; the next starts afresh.
                    if let Some(feeds) = feeds.upgrade() {
                        feeds.forget(&key);
                    }
                    frames.send_replace(Frame::Refused(Arc::new(response.errors)));
                    return;
                }
                first = false;
                match serde_json::to_string(&response) {
                    Ok(payload) => {
                        let payload: Arc<str> = payload.into();
                        last = Some(payload.clone());
                        frames.send_replace(Frame::Next(payload));
                    }
                    Err(err) => {
                        tracing::error!(%err, "cannot serialise a subscription's result");
                        break;
                    }
                }
            }
            () = frames.closed() => {
                match feeds.upgrade() {
                    Some(feeds) if !feeds.leave_if_unheard(&key) => continue,
                    _ => return,
                }
            }
        }
    }
    if let Some(feeds) = feeds.upgrade() {
        feeds.forget(&key);
    }
    frames.send_replace(Frame::Ended(last));
}
