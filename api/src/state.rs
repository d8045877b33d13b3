//! What every request handler shares.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use tokio::sync::OwnedMutexGuard;

use crate::bus::LiveBus;
use crate::cache::Caches;
use crate::config::Config;
use crate::counters::Counters;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::ratelimit::RateLimits;
use crate::service::fraud::block::list::BlockList;
use crate::service::fraud::surge::detector::SurgeDetector;
use crate::service::identity::hashing::Passwords;
use crate::service::signing::milestone::MilestoneCache;
use crate::service::signing::sign_batch::SignBatcher;
use crate::service::source::SourceKeys;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Where the observatory and its export read (`db` itself unless a
    /// read replica is configured).
    pub observatory_db: DatabaseConnection,
    /// Upkeep's connections, whose statements have no time limit (`db`'s
    /// have, on PostgreSQL: see `db::connect_serving`); `db` itself on SQLite.
    pub upkeep_db: DatabaseConnection,
    pub config: Arc<Config>,
    pub passwords: Passwords,
    pub counters: Arc<Counters>,
    pub bus: Arc<dyn LiveBus>,
    pub limits: Arc<RateLimits>,
    pub milestones: Arc<MilestoneCache>,
    pub metrics: Arc<Metrics>,
    /// Queues this process's write transactions on SQLite (see [`AppState::begin_write`]).
    pub sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Writes signatures in batches (see `service::signing::sign_batch`).
    pub signer: Arc<SignBatcher>,
    /// Folds committed writes into the kept figures (see `service::fold`).
    pub folder: Arc<crate::service::fold::Folder>,
    /// Mail (and later other messages) leaving the server.
    pub outbox: Arc<Outbox>,
    /// Base of the links in mails, without a trailing slash.
    pub public_url: Arc<str>,
    /// Keys signatures' sources (see `service::source`).
    pub sources: Arc<SourceKeys>,
    /// The block-list in force (see `service::fraud::block`).
    pub blocks: Arc<BlockList>,
    /// Sliding windows and signals of surge detection (see `service::fraud::surge`).
    pub surge: Arc<SurgeDetector>,
    /// Tokens' members and campaigns, kept in step across instances (see `cache`).
    pub caches: Arc<Caches>,
    /// `myNotifications` subscribers of this instance (see `service::notify::notice_hub`).
    pub notices: Arc<crate::service::notify::notice_hub::NoticeHub>,
    /// Counter events per campaign, for subscribers (see `bus::hub`).
    pub live: Arc<crate::bus::hub::CampaignHub>,
    /// The month the observatory's windows are kept for (see
    /// `service::observatory::windows`).
    pub windows: Arc<crate::service::observatory::windows::Rolled>,
    /// The month this instance last found released (see
    /// `service::observatory::release`).
    pub releases: Arc<crate::service::observatory::release::Watch>,
}

impl AppState {
    /// Begins a write transaction. SQLite has one writer at a time, and a
    /// writer that finds the database locked waits in SQLite's busy handler,
    /// which sleeps up to 100 ms between tries; on SQLite this process's
    /// writers therefore queue on an in-process lock first, held until the
    /// transaction ends (drop the guard after commit or rollback).
    pub async fn begin_write(
        &self,
    ) -> Result<(Option<OwnedMutexGuard<()>>, DatabaseTransaction), DbErr> {
        crate::db::begin_write(&self.db, self.sqlite_writer.as_ref()).await
    }
}
