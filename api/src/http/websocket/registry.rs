//! The open websockets of this instance: how many each client address holds
//! (bounded by `CONSUMACT_WS_MAX_PER_ADDRESS`), and which members' sessions
//! changed, so that their sockets re-check who they are.
//!
//! A member's session changes on logout, password change or reset, erasure
//! and role change: each announces `Reload::Member` on the event bus (Redis
//! pub/sub between instances). [`Sockets::follow`] hears it on every
//! instance, forgets the cached token first (so the re-check reads the
//! database, whichever listener runs first), then tells that member's
//! sockets, which close within the bus's delivery time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::bus::Reload;
use crate::net::address_key;
use crate::state::AppState;

/// Open sockets per address, and the stream of members whose session changed.
pub(crate) struct Sockets {
    per_address: Mutex<HashMap<IpAddr, u32>>,
    max_per_address: u32,
    changed: broadcast::Sender<Uuid>,
}

/// One admitted socket: its address's count goes down when it is dropped.
pub(crate) struct Admitted {
    sockets: Arc<Sockets>,
    key: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self
            .sockets
            .per_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl Sockets {
    pub fn new(max_per_address: u32) -> Arc<Self> {
        Arc::new(Self {
            per_address: Mutex::default(),
            max_per_address: max_per_address.max(1),
            // Changes are rare; a socket that lags re-checks anyway.
            changed: broadcast::channel(256).0,
        })
    }

    /// A place for one more socket from `client` (keyed as rate limits are:
    /// IPv6 by /64), or `None` when the address holds its maximum.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Admitted> {
        let key = address_key(client);
        let mut counts = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(Admitted {
            sockets: self.clone(),
            key,
        })
    }

    /// Members whose session or role changed, from now on.
    pub fn changes(&self) -> broadcast::Receiver<Uuid> {
        self.changed.subscribe()
    }

    /// Sockets currently open on this instance.
    pub fn open(&self) -> u32 {
        self.per_address
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    /// Relays every `Reload::Member` of the event bus to this instance's
    /// sockets, for as long as the registry lives.
    pub fn follow(self: &Arc<Self>, state: &AppState) {
        let mut reloads = state.bus.subscribe_reloads();
        let caches = Arc::downgrade(&state.caches);
        let sockets: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let member = match reloads.recv().await {
                    Ok(Reload::Member(member)) => Some(member),
                    Ok(_) => continue,
                    // Missed some: every socket with a member re-checks.
                    Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let (Some(sockets), Some(caches)) = (sockets.upgrade(), caches.upgrade()) else {
                    return;
                };
                match member {
                    Some(member) => {
                        caches.forget(Reload::Member(member));
                        let _ = sockets.changed.send(member);
                    }
                    None => {
                        caches.clear();
                        let _ = sockets.changed.send(Uuid::nil());
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_maximum_and_gets_places_back() {
        let sockets = Sockets::new(2);
        let here: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff".parse().unwrap();
        let elsewhere: IpAddr = "192.0.2.1".parse().unwrap();
        let first = sockets.admit(here).unwrap();
        let _second = sockets.admit(same_64).unwrap();
        assert!(sockets.admit(here).is_none());
        assert!(sockets.admit(elsewhere).is_some());
        drop(first);
        assert!(sockets.admit(here).is_some());
    }
}
