//! Live counters (signatures, pledges, active pledges per campaign) behind
//! one trait, kept in Redis or in process.
//!
//! The database is the source of truth; a counter is a fast copy of a
//! `COUNT`. Writers add to it after their transaction commits. A counter that
//! is missing (never built, or lost with a Redis restart or flush) is rebuilt
//! from the database, and [`Counters::reconcile`] corrects drift when a count
//! is stable. When the store does not answer, reads fall back to the database
//! and the store is marked degraded until it answers again.

pub mod memory;
mod read_cache;
pub mod redis;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use entities::campaign::{self, CampaignStatus};
use entities::pledge::{self, PledgeStatus};
use entities::signature::{self, SignatureStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::Result;

/// Why the store did not answer.
#[derive(Clone, Debug)]
pub struct StoreError(pub String);

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A key-value store of integer counters.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds `delta` to an existing counter and returns its new value with
    /// the change's number (increasing with every change of the key, in the
    /// order the store applied them); `None` when the counter does not exist
    /// (it must be rebuilt).
    async fn add_if_present(&self, key: &str, delta: i64) -> StoreResult<Option<(i64, i64)>>;
    /// The values of `keys`, `None` for missing ones.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<i64>>>;
    /// Creates a counter unless it exists; whether it was created.
    async fn set_if_absent(&self, key: &str, value: i64) -> StoreResult<bool>;
    /// Sets a counter only if it still holds `expected` (`None`: absent).
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<i64>,
        value: i64,
    ) -> StoreResult<bool>;
    /// Whether the store answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether the store lives in this process (reading it costs no round trip).
    fn is_local(&self) -> bool {
        false
    }
    /// Adds to many signature counters at once and, where the store can,
    /// announces each new value to every instance in the same round trip
    /// (see [`Announced`]); `None` for missing counters.
    async fn add_many_announced(&self, adds: &[StoreAdd]) -> StoreResult<Vec<Option<Announced>>> {
        let mut out = Vec::with_capacity(adds.len());
        for add in adds {
            out.push(self.add_if_present(&add.key, add.change.delta).await?.map(
                |(value, change)| Announced {
                    value,
                    change,
                    heard_by: None,
                },
            ));
        }
        Ok(out)
    }
}

/// One addition of a batch, for [`CounterStore::add_many_announced`].
pub struct StoreAdd {
    pub key: String,
    pub change: BatchAdd,
}

/// Signatures of one campaign in a batch, for [`Counters::add_batch`].
#[derive(Clone, Debug)]
pub struct BatchAdd {
    pub campaign: Uuid,
    pub delta: i64,
    /// When the change was made, as the announcement says.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Counts whose crossing is a milestone: the store does not announce
    /// a value that crossed one (the caller records the milestone and
    /// announces it with the event).
    pub milestones: Vec<i64>,
}

/// A counter after an addition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announced {
    pub value: i64,
    /// The change's number (see [`CounterStore::add_if_present`]).
    pub change: i64,
    /// How many instances heard the announcement; `None` when the store
    /// made none (the caller announces).
    pub heard_by: Option<i64>,
}

/// The counters each campaign has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Signatures.
    Signatures,
    /// Pledges not withdrawn or expired.
    Pledges,
    /// Pledges in force (conditional ones whose threshold was met included).
    ActivePledges,
}

impl Counter {
    pub const ALL: [Counter; 3] = [
        Counter::Signatures,
        Counter::Pledges,
        Counter::ActivePledges,
    ];

    /// Its position in [`Counter::ALL`].
    pub fn index(self) -> usize {
        match self {
            Counter::Signatures => 0,
            Counter::Pledges => 1,
            Counter::ActivePledges => 2,
        }
    }

    fn key_part(self) -> &'static str {
        match self {
            Counter::Signatures => "signatures",
            Counter::Pledges => "pledges",
            Counter::ActivePledges => "active_pledges",
        }
    }
}

/// A campaign's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignCounts {
    pub signatures: i64,
    pub pledges: i64,
    pub active_pledges: i64,
}

impl CampaignCounts {
    pub fn get(&self, counter: Counter) -> i64 {
        match counter {
            Counter::Signatures => self.signatures,
            Counter::Pledges => self.pledges,
            Counter::ActivePledges => self.active_pledges,
        }
    }

    pub fn set(&mut self, counter: Counter, value: i64) {
        match counter {
            Counter::Signatures => self.signatures = value,
            Counter::Pledges => self.pledges = value,
            Counter::ActivePledges => self.active_pledges = value,
        }
    }
}

#[derive(FromQueryResult)]
struct CountRow {
    campaign_id: Uuid,
    n: i64,
}

/// The exact value of `counter` for each campaign in `campaigns`, from the database.
pub async fn count_in_db(
    db: &impl ConnectionTrait,
    counter: Counter,
    campaigns: &[Uuid],
) -> Result<HashMap<Uuid, i64>> {
    let ids = campaigns.iter().copied();
    let rows = match counter {
        Counter::Signatures => {
            signature::Entity::find()
                .select_only()
                .column(signature::Column::CampaignId)
                .column_as(signature::Column::Id.count(), "n")
                .filter(signature::Column::CampaignId.is_in(ids))
                .filter(signature::Column::Status.eq(SignatureStatus::Counted))
                .group_by(signature::Column::CampaignId)
                .into_model::<CountRow>()
                .all(db)
                .await?
        }
        Counter::Pledges | Counter::ActivePledges => {
            let statuses: &[PledgeStatus] = if counter == Counter::Pledges {
                &[
                    PledgeStatus::Pending,
                    PledgeStatus::Active,
                    PledgeStatus::Kept,
                ]
            } else {
                &[PledgeStatus::Active]
            };
            pledge::Entity::find()
                .select_only()
                .column(pledge::Column::CampaignId)
                .column_as(pledge::Column::Id.count(), "n")
                .filter(pledge::Column::CampaignId.is_in(ids))
                .filter(pledge::Column::Status.is_in(statuses.iter().copied()))
                .group_by(pledge::Column::CampaignId)
                .into_model::<CountRow>()
                .all(db)
                .await?
        }
    };
    let mut counts: HashMap<Uuid, i64> = campaigns.iter().map(|id| (*id, 0)).collect();
    counts.extend(rows.into_iter().map(|row| (row.campaign_id, row.n)));
    Ok(counts)
}

/// How long a campaign must have been left alone (on this instance) before
/// reconciliation touches its counters: a change committed but not yet
/// added to its counter would otherwise be counted twice.
const QUIET: Duration = Duration::from_secs(2);

/// Live counters over a store, with the database as fallback and truth.
pub struct Counters {
    store: Arc<dyn CounterStore>,
    prefix: String,
    degraded: AtomicBool,
    /// Woken when the store answers again after being degraded.
    pub recovered: Notify,
    /// When this instance last changed each campaign's counters.
    last_change: Mutex<HashMap<Uuid, Instant>>,
    /// Counts read lately, for reads without a round trip (shared stores).
    read_cache: Option<read_cache::ReadCache>,
}

impl Counters {
    pub fn new(store: Arc<dyn CounterStore>, prefix: &str) -> Self {
        Self {
            store,
            prefix: prefix.to_owned(),
            degraded: AtomicBool::new(false),
            recovered: Notify::new(),
            last_change: Mutex::new(HashMap::new()),
            read_cache: None,
        }
    }

    /// Reads answer from memory for up to `ttl` after the store was asked,
    /// kept current meanwhile by [`Counters::observe`]; for a store shared
    /// by instances (a local one answers from memory anyway).
    pub fn with_read_cache(mut self, ttl: Duration) -> Self {
        self.read_cache = (!ttl.is_zero()).then(|| read_cache::ReadCache::new(ttl));
        self
    }

    /// A campaign's counters when this instance has them without a round
    /// trip (its read cache, or a store in process); `None` otherwise, and
    /// the caller reads them with [`Counters::read_many`], batched.
    pub async fn read_now(&self, campaign: Uuid) -> Option<CampaignCounts> {
        if let Some(cache) = &self.read_cache {
            return cache.get(campaign);
        }
        if !self.store.is_local() {
            return None;
        }
        let keys = Counter::ALL.map(|counter| self.key(campaign, counter));
        let values = self.store.get_many(&keys).await.ok()?;
        let mut counts = CampaignCounts::default();
        for (counter, value) in Counter::ALL.into_iter().zip(values) {
            counts.set(counter, value?);
        }
        Some(counts)
    }

    /// A counter changed on some instance (an event heard on the bus).
    pub fn observe(&self, campaign: Uuid, counter: Counter, value: i64, change: Option<i64>) {
        if let Some(cache) = &self.read_cache {
            cache.observe(campaign, counter, value, change);
        }
    }

    fn touched(&self, campaign: Uuid) {
        let mut last_change = self.last_change.lock().unwrap_or_else(|e| e.into_inner());
        last_change.insert(campaign, Instant::now());
    }

    /// The campaigns of `campaigns` nobody changed here for a while; forgets
    /// changes older than that.
    fn quiet(&self, campaigns: &[Uuid]) -> Vec<Uuid> {
        let mut last_change = self.last_change.lock().unwrap_or_else(|e| e.into_inner());
        last_change.retain(|_, at| at.elapsed() < QUIET);
        campaigns
            .iter()
            .copied()
            .filter(|campaign| !last_change.contains_key(campaign))
            .collect()
    }

    /// Creates a campaign's counters from the database unless they exist;
    /// done when a campaign opens, so that signers only ever add to them.
    pub async fn prime(&self, db: &impl ConnectionTrait, campaign: Uuid) -> Result<()> {
        for counter in Counter::ALL {
            self.rebuild(db, campaign, counter).await?;
        }
        Ok(())
    }

    fn key(&self, campaign: Uuid, counter: Counter) -> String {
        format!("{}:campaign:{campaign}:{}", self.prefix, counter.key_part())
    }

    /// Whether the store failed to answer last time it was asked.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn answered<T>(&self, result: StoreResult<T>) -> Option<T> {
        match result {
            Ok(value) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("counter store answers again");
                    self.recovered.notify_one();
                }
                Some(value)
            }
            Err(StoreError(why)) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%why, "counter store unavailable; counting from the database");
                }
                None
            }
        }
    }

    /// Asks the store whether it answers, updating the degraded flag.
    pub async fn probe(&self) -> bool {
        let result = self.store.ping().await;
        self.answered(result).is_some()
    }

    /// Adds `delta` to a counter after the change it counts was committed,
    /// and returns the new value, with the change's number when the store
    /// numbered it (see [`CounterStore::add_if_present`]).
    pub async fn add(
        &self,
        db: &impl ConnectionTrait,
        campaign: Uuid,
        counter: Counter,
        delta: i64,
    ) -> Result<(i64, Option<i64>)> {
        self.touched(campaign);
        let key = self.key(campaign, counter);
        match self.answered(self.store.add_if_present(&key, delta).await) {
            Some(Some((value, change))) => {
                // This instance reads its own change at once, before the
                // announcement comes back from the bus.
                self.observe(campaign, counter, value, Some(change));
                Ok((value, Some(change)))
            }
            // Missing: the committed change is already in the database count.
            Some(None) => Ok((self.rebuild(db, campaign, counter).await?, None)),
            None => Ok((
                count_in_db(db, counter, &[campaign]).await?[&campaign],
                None,
            )),
        }
    }

    /// Adds a batch's signatures to their campaigns' counters, one entry per
    /// campaign, in one round trip (see [`CounterStore::add_many_announced`]);
    /// `None` for a campaign whose counter must be rebuilt (or when the
    /// store did not answer): the caller then takes the one-by-one path.
    pub async fn add_batch(&self, changes: Vec<BatchAdd>) -> Vec<Option<Announced>> {
        let adds: Vec<StoreAdd> = changes
            .into_iter()
            .map(|change| {
                self.touched(change.campaign);
                StoreAdd {
                    key: self.key(change.campaign, Counter::Signatures),
                    change,
                }
            })
            .collect();
        let result = self.store.add_many_announced(&adds).await;
        let added = self
            .answered(result)
            .unwrap_or_else(|| vec![None; adds.len()]);
        for (add, result) in adds.iter().zip(&added) {
            if let Some(done) = result {
                self.observe(
                    add.change.campaign,
                    Counter::Signatures,
                    done.value,
                    Some(done.change),
                );
            }
        }
        added
    }

    async fn rebuild(
        &self,
        db: &impl ConnectionTrait,
        campaign: Uuid,
        counter: Counter,
    ) -> Result<i64> {
        let value = count_in_db(db, counter, &[campaign]).await?[&campaign];
        let result = self
            .store
            .set_if_absent(&self.key(campaign, counter), value)
            .await;
        self.answered(result);
        Ok(value)
    }

    /// The counters of every campaign in `campaigns`: from memory for those
    /// read lately (see [`Counters::with_read_cache`]), from the store for
    /// the others, from the database when the store does not answer.
    pub async fn read_many(
        &self,
        db: &impl ConnectionTrait,
        campaigns: &[Uuid],
    ) -> Result<HashMap<Uuid, CampaignCounts>> {
        let Some(cache) = &self.read_cache else {
            return self.read_from_store(db, campaigns, None).await;
        };
        let mut counts = HashMap::with_capacity(campaigns.len());
        let mut missing = Vec::new();
        for &campaign in campaigns {
            match cache.get(campaign) {
                Some(found) => {
                    counts.insert(campaign, found);
                }
                None => missing.push(campaign),
            }
        }
        if !missing.is_empty() {
            counts.extend(self.read_from_store(db, &missing, Some(cache)).await?);
        }
        Ok(counts)
    }

    async fn read_from_store(
        &self,
        db: &impl ConnectionTrait,
        campaigns: &[Uuid],
        cache: Option<&read_cache::ReadCache>,
    ) -> Result<HashMap<Uuid, CampaignCounts>> {
        let mut counts: HashMap<Uuid, CampaignCounts> = campaigns
            .iter()
            .map(|id| (*id, CampaignCounts::default()))
            .collect();
        let keys: Vec<(Uuid, Counter, String)> = campaigns
            .iter()
            .flat_map(|id| Counter::ALL.map(|counter| (*id, counter, self.key(*id, counter))))
            .collect();
        let mut names: Vec<String> = keys.iter().map(|(_, _, key)| key.clone()).collect();
        if cache.is_some() {
            // Their change numbers too, in the same round trip.
            names.extend(keys.iter().map(|(_, _, key)| format!("{key}:seq")));
        }
        let asked = Instant::now();
        match self.answered(self.store.get_many(&names).await) {
            Some(values) => {
                let (values, changes) = values.split_at(keys.len());
                let mut fetched: HashMap<Uuid, [(i64, Option<i64>); 3]> = HashMap::new();
                for (i, (campaign, counter, _)) in keys.into_iter().enumerate() {
                    let value = match values[i] {
                        Some(value) => value,
                        None => self.rebuild(db, campaign, counter).await?,
                    };
                    if let Some(entry) = counts.get_mut(&campaign) {
                        entry.set(counter, value);
                    }
                    fetched.entry(campaign).or_insert([(0, None); 3])[counter.index()] =
                        (value, changes.get(i).copied().flatten());
                }
                if let Some(cache) = cache {
                    for (campaign, values) in fetched {
                        cache.put(campaign, asked, values);
                    }
                }
            }
            None => {
                for counter in Counter::ALL {
                    for (campaign, value) in count_in_db(db, counter, campaigns).await? {
                        if let Some(entry) = counts.get_mut(&campaign) {
                            entry.set(counter, value);
                        }
                    }
                }
            }
        }
        Ok(counts)
    }

    /// Corrects the counters of `campaigns` that differ from the database,
    /// but only for campaigns this instance has not changed lately, only where
    /// the database count did not move while we looked, and only if the
    /// counter did not move either (compare-and-set), so that a concurrent
    /// writer is never overwritten. A change in flight on another instance can
    /// still leave a counter one off until the next pass. Returns how many it fixed.
    pub async fn reconcile(&self, db: &impl ConnectionTrait, campaigns: &[Uuid]) -> Result<usize> {
        let campaigns = &self.quiet(campaigns)[..];
        let mut fixed = 0;
        for counter in Counter::ALL {
            let before = count_in_db(db, counter, campaigns).await?;
            let keys: Vec<String> = campaigns.iter().map(|id| self.key(*id, counter)).collect();
            let Some(current) = self.answered(self.store.get_many(&keys).await) else {
                return Ok(fixed);
            };
            let after = count_in_db(db, counter, campaigns).await?;
            for ((campaign, key), value) in campaigns.iter().zip(&keys).zip(current) {
                let truth = after[campaign];
                if before[campaign] != truth || value == Some(truth) {
                    continue;
                }
                let swapped = self.store.compare_and_set(key, value, truth).await;
                if self.answered(swapped) == Some(true) {
                    tracing::info!(%campaign, ?counter, from = ?value, to = truth, "counter corrected");
                    fixed += 1;
                }
            }
        }
        Ok(fixed)
    }

    /// Reconciles every open campaign (the newest 10 000).
    pub async fn reconcile_open(&self, db: &impl ConnectionTrait) -> Result<usize> {
        let open: Vec<Uuid> = campaign::Entity::find()
            .select_only()
            .column(campaign::Column::Id)
            .filter(campaign::Column::Status.eq(CampaignStatus::Open))
            .order_by_desc(campaign::Column::Id)
            .limit(10_000)
            .into_tuple()
            .all(db)
            .await?;
        let mut fixed = 0;
        for chunk in open.chunks(500) {
            fixed += self.reconcile(db, chunk).await?;
        }
        Ok(fixed)
    }
}
