//! What every request handler shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::counters::Counters;
use crate::events::EventBus;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::service::auth::Passwords;
use crate::service::milestone::MilestoneCache;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub passwords: Passwords,
    pub counters: Arc<Counters>,
    pub events: Arc<dyn EventBus>,
    pub limits: Arc<RateLimits>,
    pub milestones: Arc<MilestoneCache>,
    pub metrics: Arc<Metrics>,
}
