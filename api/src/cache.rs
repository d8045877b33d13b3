//! In-process caches of what hot paths read on every request: who a bearer
//! token belongs to and the campaigns being signed or read. A signature or a
//! public read then costs no database round trip when nothing changed.
//!
//! Correctness across instances rests on invalidation: every write that
//! changes a cached member or campaign calls [`Caches::member_changed`] or
//! [`Caches::campaign_changed`] after it commits, which drops the entry here
//! and announces it on the event bus (Redis pub/sub between instances, in
//! process on the embedded default), so every instance forgets it within
//! the bus's delivery time. Entries also expire after
//! `CONSUMACT_CACHE_TTL_SECS`, a bound should an announcement be lost (the
//! listener drops everything when it missed some).

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::{campaign, member};
use uuid::Uuid;

use crate::bus::{LiveBus, Reload};

/// Entries per cache; past it the least useful go first.
const CAPACITY: u64 = 100_000;

/// A bounded map whose entries expire `ttl` after they were put in
/// (`moka`: admission and eviction by use, expiry, and invalidation by
/// predicate, which `get` honours at once).
struct TtlMap<K, V> {
    entries: moka::sync::Cache<K, V>,
    ttl: Duration,
}

impl<K, V> TtlMap<K, V>
where
    K: Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(ttl: Duration) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(CAPACITY)
            .time_to_live(ttl.max(Duration::from_millis(1)))
            .support_invalidation_closures()
            .build();
        Self { entries, ttl }
    }

    fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.entries.get(key)
    }

    fn insert(&self, key: K, value: V) {
        if !self.ttl.is_zero() {
            self.entries.insert(key, value);
        }
    }

    /// Drops every entry `gone` picks; no later `get` returns one.
    fn invalidate_if(&self, gone: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        if self.entries.invalidate_entries_if(gone).is_err() {
            // Only when closures are not supported, which `new` asks for.
            self.entries.invalidate_all();
        }
    }

    fn invalidate(&self, key: &K) {
        self.entries.invalidate(key);
    }

    fn clear(&self) {
        self.entries.invalidate_all();
    }
}

/// A token's member, and until when the token is good.
#[derive(Clone)]
pub struct TokenEntry {
    pub member: Arc<member::Model>,
    pub expires_at: DateTime<Utc>,
}

/// This instance's caches.
pub struct Caches {
    /// By token digest.
    tokens: TtlMap<String, TokenEntry>,
    campaigns: TtlMap<Uuid, Arc<campaign::Model>>,
    /// Bumped by every invalidation: a value read from the database before
    /// an invalidation is not cached after it.
    generation: std::sync::atomic::AtomicU64,
}

/// A point in the caches' history, taken before reading the database.
#[derive(Clone, Copy)]
pub struct Generation(u64);

impl Caches {
    pub fn new(ttl: Duration) -> Self {
        Self {
            tokens: TtlMap::new(ttl),
            campaigns: TtlMap::new(ttl),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Take before a database read whose result goes into a cache.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(std::sync::atomic::Ordering::Acquire))
    }

    fn current(&self, read: Generation) -> bool {
        self.generation.load(std::sync::atomic::Ordering::Acquire) == read.0
    }

    fn bump(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn token(&self, digest: &str) -> Option<TokenEntry> {
        self.tokens
            .get(digest)
            .filter(|entry| entry.expires_at > Utc::now())
    }

    /// Caches a token's member read at `read`, unless something was
    /// invalidated since.
    pub fn put_token(&self, read: Generation, digest: String, entry: TokenEntry) {
        if self.current(read) {
            self.tokens.insert(digest, entry);
        }
    }

    pub fn campaign(&self, id: Uuid) -> Option<Arc<campaign::Model>> {
        self.campaigns.get(&id)
    }

    /// Caches a campaign read at `read`, unless something was invalidated since.
    pub fn put_campaign(&self, read: Generation, found: Arc<campaign::Model>) {
        if self.current(read) {
            self.campaigns.insert(found.id, found);
        }
    }

    /// Forgets what is cached about `what` on this instance.
    pub fn forget(&self, what: Reload) {
        self.bump();
        match what {
            Reload::Member(id) => self
                .tokens
                .invalidate_if(move |_, entry| entry.member.id == id),
            Reload::Campaign(id) => self.campaigns.invalidate(&id),
            Reload::BlockRules | Reload::FraudSignals => {}
        }
    }

    /// Forgets everything (an announcement may have been missed).
    pub fn clear(&self) {
        self.bump();
        self.tokens.clear();
        self.campaigns.clear();
    }

    /// A member's row, role or sessions changed: every instance forgets it.
    pub async fn member_changed(&self, bus: &dyn LiveBus, id: Uuid) {
        self.forget(Reload::Member(id));
        bus.publish_reload(Reload::Member(id)).await;
    }

    /// A campaign's row changed: every instance forgets it.
    pub async fn campaign_changed(&self, bus: &dyn LiveBus, id: Uuid) {
        self.forget(Reload::Campaign(id));
        bus.publish_reload(Reload::Campaign(id)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_older_than_an_invalidation_is_not_admitted() {
        let caches = Caches::new(Duration::from_secs(60));
        let before = caches.generation();
        assert!(caches.current(before));
        caches.forget(Reload::Campaign(Uuid::new_v4()));
        assert!(!caches.current(before));
        assert!(caches.current(caches.generation()));
    }

    #[test]
    fn entries_expire_and_go_when_told() {
        let map: TtlMap<u32, u32> = TtlMap::new(Duration::from_secs(60));
        map.insert(1, 10);
        map.insert(2, 20);
        assert_eq!(map.get(&1), Some(10));
        map.invalidate_if(|key, _| *key == 1);
        assert_eq!((map.get(&1), map.get(&2)), (None, Some(20)));
        map.clear();
        assert_eq!(map.get(&2), None);
        let off: TtlMap<u32, u32> = TtlMap::new(Duration::ZERO);
        off.insert(1, 10);
        assert_eq!(off.get(&1), None);
        let expired: TtlMap<u32, u32> = TtlMap::new(Duration::from_millis(5));
        expired.insert(1, 10);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(expired.get(&1), None);
    }
}
