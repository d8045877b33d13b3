//! One execution and one serialised frame for many subscribers. Anonymous
//! subscriptions with the same document, operation and variables (ten
//! thousand readers of one campaign's counters) share a feed: the first
//! one's subscription runs under the request policy as any other, and each
//! of its results is serialised once; every subscriber's task wraps those
//! bytes in its own envelope (its id) and hands them to its socket. A
//! subscriber that joins later gets the latest frame first (counts are
//! cumulative, so the latest is the state now), then every following one
//! (milestones ride on particular frames); one that falls more than 64
//! frames behind skips ahead, as a campaign's channel does.
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
use tokio::sync::broadcast;

use super::super::HttpState;
use super::super::policy::{self, Caller};

/// Frames a feed holds for a slow subscriber before it skips ahead (as a
/// campaign's channel does, `bus::hub`).
const PER_FEED: usize = 64;

/// What a feed holds for its subscribers.
#[derive(Clone, Debug)]
pub(crate) enum Frame {
    /// The subscription has not answered yet.
    Waiting,
    /// A result, serialised once (the `payload` of a `next` message).
    Next(Arc<str>),
    /// The subscription was refused before it started.
    Refused(Arc<Vec<ServerError>>),
    /// The subscription ended.
    Ended,
}

/// The key of a feed: the document, the operation and the variables.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    query: String,
    operation: Option<String>,
    variables: String,
}

/// One feed: its latest frame (for subscribers joining) and the channel of
/// the frames that follow.
struct Feed {
    latest: Mutex<Frame>,
    frames: broadcast::Sender<Frame>,
}

impl Feed {
    fn latest(&self) -> std::sync::MutexGuard<'_, Frame> {
        self.latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes `frame`: the latest for those joining, and to every
    /// subscriber, under one lock so a joiner misses none and gets none twice.
    fn publish(&self, frame: Frame) {
        let mut latest = self.latest();
        *latest = frame.clone();
        let _ = self.frames.send(frame);
    }

    /// The latest frame and a receiver of the following ones.
    fn join(&self) -> (Frame, broadcast::Receiver<Frame>) {
        let latest = self.latest();
        (latest.clone(), self.frames.subscribe())
    }
}

/// A subscriber's view of a feed: the frame it starts with, then the rest.
pub(crate) struct Joined {
    pub first: Frame,
    pub rest: broadcast::Receiver<Frame>,
}

/// The feeds of one instance.
#[derive(Default)]
pub(crate) struct Feeds {
    feeds: Mutex<HashMap<Key, Arc<Feed>>>,
}

impl Feeds {
    /// Joins the feed of `request`'s results, started (under the policy,
    /// for `caller`) when there is none.
    pub fn join(self: &Arc<Self>, state: &HttpState, caller: &Caller, request: Request) -> Joined {
        let key = Key {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        };
        let mut feeds = self.lock();
        if let Some(feed) = feeds.get(&key) {
            policy::count_subscription(state, &request);
            let (first, rest) = feed.join();
            return Joined { first, rest };
        }
        let feed = Arc::new(Feed {
            latest: Mutex::new(Frame::Waiting),
            frames: broadcast::channel(PER_FEED).0,
        });
        let (first, rest) = feed.join();
        feeds.insert(key.clone(), feed.clone());
        drop(feeds);
        tokio::spawn(run(
            Arc::downgrade(self),
            key,
            feed,
            policy::subscribe(state, caller, request),
        ));
        Joined { first, rest }
    }

    /// Feeds running on this instance.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Feed>>> {
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
            .is_none_or(|feed| feed.frames.receiver_count() == 0);
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
async fn run(
    feeds: Weak<Feeds>,
    key: Key,
    feed: Arc<Feed>,
    mut results: futures_util::stream::BoxStream<'static, async_graphql::Response>,
) {
    let mut first = true;
    loop {
        tokio::select! {
            result = results.next() => {
                let Some(response) = result else { break };
                if first && policy::failed_before_execution(&response) {
                    // Refused: said to those waiting; the next starts afresh.
                    if let Some(feeds) = feeds.upgrade() {
                        feeds.forget(&key);
                    }
                    feed.publish(Frame::Refused(Arc::new(response.errors)));
                    return;
                }
                first = false;
                match serde_json::to_string(&response) {
                    Ok(payload) => feed.publish(Frame::Next(payload.into())),
                    Err(err) => {
                        tracing::error!(%err, "cannot serialise a subscription's result");
                        break;
                    }
                }
            }
            () = feed.frames.closed() => {
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
    feed.publish(Frame::Ended);
}
