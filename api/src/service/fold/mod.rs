//! Append, then fold. A write that changes what counts (a signature, its
//! withdrawal, confirmation or invalidation, a rating, a pledge) commits
//! its own rows and one queued description of what it moves
//! ([`queue::record`]); nothing derived. The folder takes queued writes in
//! large batches and applies them in one transaction each: the
//! observatory's atoms, contributors, totals, groups and windows
//! (`observatory::rollup::apply_many`, with its k-rule: an atom crossing k
//! enters or leaves its total whole), then each campaign's kept total and
//! momentum, its community's, and its producer's duty to answer
//! (`signing::standing`). Taking a write deletes it in that same
//! transaction, so it is applied exactly once across instances, crashes
//! and restarts.
//!
//! Live counters stay exact at commit (the writer moves them); the kept
//! figures lag by one pass, exported as `consumact_fold_lag_seconds`.
//! Signing never waits for the fold; the rarer writes (withdrawals,
//! confirmations, ratings, pledges) wait for the pass that covers them
//! ([`Folder::settle`]) so their authors read their own change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, Notify, watch};

use crate::config::Config;
use crate::db::begin_write;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::service::observatory::rollup::{self, AtomRule};
use crate::service::signing::response_request::ResponseRule;
use crate::service::signing::standing;

pub mod queue;

pub use queue::{Changes, record};

/// Where a pass stops, for tests of what a crash leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Commits: the normal pass.
    Never,
    /// Applies everything it took, then gives up its transaction instead of
    /// committing, as a folder killed at its last step would.
    BeforeCommit,
}

/// The folder of one instance.
pub struct Folder {
    db: DatabaseConnection,
    sqlite_writer: Option<Arc<Mutex<()>>>,
    metrics: Arc<Metrics>,
    rule: AtomRule,
    responses: ResponseRule,
    batch: u32,
    interval: Duration,
    min_gap: Duration,
    wait: Duration,
    worker: bool,
    /// Tickets handed to writers that asked for a pass ([`Folder::settle`]).
    asked: AtomicU64,
    /// The highest ticket a finished pass covers: it started after the
    /// ticket was handed out, so after its writer committed.
    covered: watch::Sender<u64>,
    wake: Notify,
}

impl Folder {
    pub fn new(
        db: DatabaseConnection,
        sqlite_writer: Option<Arc<Mutex<()>>>,
        metrics: Arc<Metrics>,
        config: &Config,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            sqlite_writer,
            metrics,
            rule: AtomRule::of(config),
            responses: ResponseRule::of(config),
            batch: config.fold.fold_batch,
            interval: Duration::from_millis(config.fold.fold_interval_ms),
            min_gap: Duration::from_millis(config.fold.fold_min_gap_ms),
            wait: Duration::from_millis(config.fold.fold_wait_ms),
            worker: config.fold.fold_worker,
            asked: AtomicU64::new(0),
            covered: watch::channel(0).0,
            wake: Notify::new(),
        })
    }

    /// Starts this instance's folding loop, unless `CONSUMACT_FOLD_WORKER`
    /// is off; it ends when the folder is dropped.
    pub fn start(self: &Arc<Self>) {
        if self.worker {
            tokio::spawn(run(Arc::downgrade(self)));
        }
    }

    /// Tells the folder that a write was queued (it folds at once).
    pub fn wake(&self) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Waits (up to `CONSUMACT_FOLD_WAIT_MS`) until a pass that started
    /// after this call has finished: every write the caller committed
    /// before calling is folded then. Returns at once when this instance
    /// does not fold; the write stays queued for the instance that does.
    pub async fn settle(&self) {
        if !self.worker {
            return;
        }
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.covered.subscribe();
        self.wake.notify_one();
        if tokio::time::timeout(self.wait, covered.wait_for(|done| *done >= ticket))
            .await
            .is_err()
        {
            tracing::warn!(
                wait_ms = self.wait.as_millis() as u64,
                "the fold did not catch up in time; the change is queued and will be folded"
            );
        }
    }

    /// Folds until the queue is empty.
    pub async fn fold_all(&self) -> Result<usize> {
        let mut writes = 0;
        loop {
            let taken = self.pass(Stop::Never).await?;
            writes += taken;
            if taken < self.batch as usize {
                return Ok(writes);
            }
        }
    }

    /// One pass: takes up to `CONSUMACT_FOLD_BATCH` queued writes and
    /// applies them in one transaction. Returns how many it took.
    pub async fn pass(&self, stop: Stop) -> Result<usize> {
        if !queue::any_queued(&self.db).await? {
            return Ok(0);
        }
        let (writer, txn) = begin_write(&self.db, self.sqlite_writer.as_ref()).await?;
        queue::lock(&txn).await?;
        let taken = queue::take(&txn, self.batch).await?;
        if taken.writes == 0 {
            return Ok(0);
        }
        rollup::apply_many(&txn, self.rule, &taken.changes.rollup_changes()?).await?;
        standing::signatures(&txn, self.responses, &taken.changes.signature_changes()?).await?;
        if stop == Stop::BeforeCommit {
            txn.rollback().await?;
            return Ok(taken.writes);
        }
        txn.commit().await?;
        drop(writer);
        let lag_ms = (Utc::now().timestamp_millis() - taken.oldest_ms).max(0);
        Metrics::increment(&self.metrics.fold_passes);
        self.metrics
            .fold_writes
            .fetch_add(taken.writes as u64, Ordering::Relaxed);
        self.metrics
            .fold_changes
            .fetch_add(taken.changes.len() as u64, Ordering::Relaxed);
        self.metrics
            .fold_last_lag_ms
            .store(lag_ms as u64, Ordering::Relaxed);
        Ok(taken.writes)
    }
}

/// The folding loop: a pass whenever a write is queued here (but not
/// within `CONSUMACT_FOLD_MIN_GAP_MS` of the last one's start), and every
/// `CONSUMACT_FOLD_INTERVAL_MS` for writes queued elsewhere; after a
/// failure it waits a second before trying again.
async fn run(folder: Weak<Folder>) {
    loop {
        let Some(this) = folder.upgrade() else {
            return;
        };
        let started = tokio::time::Instant::now();
        let ticket = this.asked.load(Ordering::SeqCst);
        let pause = match this.fold_all().await {
            Ok(_) => {
                this.covered.send_if_modified(|covered| {
                    let moved = ticket > *covered;
                    *covered = (*covered).max(ticket);
                    moved
                });
                this.interval
            }
            Err(err) => {
                Metrics::increment(&this.metrics.fold_failures);
                tracing::warn!(code = err.code(), "a fold pass failed; it will be retried");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = this.wake.notified() => {
                // Under load, what is queued meanwhile joins this pass.
                tokio::time::sleep_until(started + this.min_gap).await;
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
}
