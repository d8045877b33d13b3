//! The fold's settings (`service::fold`): how large its passes are, how
//! often it looks for work, and how long the writes that wait for it wait.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

/// Flattened into [`Config`](super::Config) as `config.fold`.
#[derive(Args, Clone, Debug)]
pub struct Fold {
    /// Most queued writes (each a committed transaction's changes, up to a
    /// whole signing batch) one fold pass applies in one transaction.
    #[arg(long, env = "CONSUMACT_FOLD_BATCH", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub fold_batch: u32,

    /// How often the folder looks for writes it was not told about (other
    /// instances', or left by a crash), in milliseconds; this instance's
    /// own writes wake it at once.
    #[arg(long, env = "CONSUMACT_FOLD_INTERVAL_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub fold_interval_ms: u64,

    /// Least time between the starts of two passes, in milliseconds: under
    /// load, writes queued meanwhile are folded together (fewer, larger
    /// transactions); a quiet server folds a write at once.
    #[arg(long, env = "CONSUMACT_FOLD_MIN_GAP_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub fold_min_gap_ms: u64,

    /// How long a withdrawal, confirmation, invalidation, rating or pledge
    /// waits for the fold before answering, in milliseconds, so its author
    /// reads their change in the kept figures; signing never waits.
    #[arg(long, env = "CONSUMACT_FOLD_WAIT_MS", default_value_t = 5_000)]
    pub fold_wait_ms: u64,

    /// Run this instance's folder. Off, another instance's folder (any
    /// instance on the same database will do) folds this one's writes.
    #[arg(long, env = "CONSUMACT_FOLD_WORKER", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub fold_worker: bool,
}
