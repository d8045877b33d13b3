//! Campaigns' live counters as this instance last saw them, so that a crowd
//! reading a count costs no Redis round trip per request.
//!
//! An entry is fetched from the store (values and change numbers in one
//! `MGET`) and answers reads for `ttl`; meanwhile every counter event heard
//! on the bus (from any instance) updates it, so a read is exact as soon as
//! the event arrives and never more than `ttl` behind when one is lost.
//! Change numbers keep it from moving backwards: an event or a fetch older
//! than what the entry holds is ignored (unless the entry's own news is
//! older than `ttl`, which is how a flushed store's restarted numbers get
//! through).
//!
//! Hand-written, unlike the other caches (`moka`, in `cache.rs` and
//! `milestone.rs`): a stale entry is not dropped, since its change numbers
//! still order the news that arrives, and each counter merges into its slot
//! under one lock with the rule above. Past `CAPACITY` the stale entries go
//! first, then all.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{CampaignCounts, Counter};

/// One counter's value, its change number and when it was last news.
#[derive(Clone, Copy, Debug)]
struct Slot {
    value: i64,
    change: Option<i64>,
    at: Instant,
}

struct Entry {
    slots: [Slot; 3],
    fetched: Instant,
}

pub struct ReadCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, Entry>>,
}

/// Entries kept before the stale ones are let go.
const CAPACITY: usize = 50_000;

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The counts of `campaign` if fetched less than `ttl` ago.
    pub fn get(&self, campaign: Uuid) -> Option<CampaignCounts> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&campaign)?;
        (entry.fetched.elapsed() < self.ttl).then(|| {
            let mut counts = CampaignCounts::default();
            for counter in Counter::ALL {
                counts.set(counter, entry.slots[counter.index()].value);
            }
            counts
        })
    }

    /// Whether `news` (with change number `change`) replaces `slot`.
    fn newer(&self, slot: &Slot, change: Option<i64>) -> bool {
        match (change, slot.change) {
            (Some(new), Some(old)) => new > old || slot.at.elapsed() >= self.ttl,
            _ => true,
        }
    }

    /// Stores what was fetched at `fetched` from the store: values and
    /// change numbers per counter (in [`Counter::ALL`] order).
    pub fn put(&self, campaign: Uuid, fetched: Instant, values: [(i64, Option<i64>); 3]) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&campaign) {
            let ttl = self.ttl;
            entries.retain(|_, entry| entry.fetched.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        let slot = |(value, change): (i64, Option<i64>)| Slot {
            value,
            change,
            at: fetched,
        };
        match entries.get_mut(&campaign) {
            Some(entry) => {
                for (i, fetched_value) in values.into_iter().enumerate() {
                    if self.newer(&entry.slots[i], fetched_value.1) {
                        entry.slots[i] = slot(fetched_value);
                    }
                }
                entry.fetched = fetched;
            }
            None => {
                entries.insert(
                    campaign,
                    Entry {
                        slots: values.map(slot),
                        fetched,
                    },
                );
            }
        }
    }

    /// A counter changed (an event from any instance): updates the entry,
    /// if there is one.
    pub fn observe(&self, campaign: Uuid, counter: Counter, value: i64, change: Option<i64>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.get_mut(&campaign) else {
            return;
        };
        let slot = &mut entry.slots[counter.index()];
        if self.newer(slot, change) {
            *slot = Slot {
                value,
                change,
                at: Instant::now(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_move_counts_forward_only() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let id = Uuid::new_v4();
        assert_eq!(cache.get(id), None);
        cache.put(id, Instant::now(), [(5, Some(5)), (0, None), (0, None)]);
        assert_eq!(cache.get(id).unwrap().signatures, 5);
        cache.observe(id, Counter::Signatures, 7, Some(7));
        // Published out of order: the older change arrives last.
        cache.observe(id, Counter::Signatures, 6, Some(6));
        assert_eq!(cache.get(id).unwrap().signatures, 7);
        // A fetch sent before the last event and answered after it.
        cache.put(id, Instant::now(), [(6, Some(6)), (1, Some(1)), (0, None)]);
        let counts = cache.get(id).unwrap();
        assert_eq!((counts.signatures, counts.pledges), (7, 1));
    }

    #[test]
    fn entries_answer_for_their_time_only() {
        let cache = ReadCache::new(Duration::from_millis(1));
        let id = Uuid::new_v4();
        cache.put(
            id,
            Instant::now() - Duration::from_millis(5),
            [(1, None); 3],
        );
        assert_eq!(cache.get(id), None);
        let off = ReadCache::new(Duration::ZERO);
        off.put(id, Instant::now(), [(1, None); 3]);
        assert_eq!(off.get(id), None);
    }
}
