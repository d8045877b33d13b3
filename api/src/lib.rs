//! Consumact: a GraphQL backend for consumer collective action.
//!
//! [`Application::build`] wires configuration, database, schema and router
//! and binds the listener, so the binary and the black-box tests start the
//! very same server.

pub mod bus;
pub mod cache;
pub mod config;
pub mod counters;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod import;
pub mod metrics;
pub mod net;
pub mod outbox;
pub mod ratelimit;
pub mod redis_link;
pub mod seed;
pub mod service;
pub mod sql;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod vocabulary;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::service::signing::sign_batch::SignBatcher;

use std::time::{Duration, Instant};

use crate::bus::LiveBus;
use crate::bus::memory::MemoryBus;
use crate::bus::redis::RedisBus;
use crate::config::Config;
use crate::counters::Counters;
use crate::counters::memory::MemoryCounters;
use crate::counters::redis::RedisCounters;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::redis_link::RedisLink;
use crate::service::identity::auth;
use crate::service::identity::hashing::Passwords;
use crate::service::signing::milestone::MilestoneCache;
use crate::state::AppState;

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics` on `CONSUMACT_METRICS_ADDR`, when set.
    metrics: Option<(TcpListener, Router)>,
    state: AppState,
}

impl Application {
    /// Connects to the database, migrates it, creates the configured first
    /// admin, and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let (db, upkeep_db) = db::connect_serving(&config).await?;
        let observatory_db = db::connect_observatory(&config, &db).await?;
        let sqlite_writer = (sea_orm::ConnectionTrait::get_database_backend(&db)
            == sea_orm::DbBackend::Sqlite)
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        let hash_concurrency = match config.limits.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            set => set,
        };
        let passwords = Passwords::bounded(
            config.argon2_memory_kib,
            config.argon2_iterations,
            hash_concurrency,
            config.limits.hash_queue,
        )?;
        let (counters, bus) = live_backends(&config)?;
        let metrics = Arc::new(Metrics::default());
        // Bound first: the default public URL is the address actually bound.
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let public_url: Arc<str> = match non_empty(&config.public_url) {
            Some(url) => url.trim_end_matches('/').into(),
            None => format!("http://{}", listener.local_addr()?).into(),
        };
        let outbox = Arc::new(outbox::Outbox::new(&config)?);
        let live = bus::hub::CampaignHub::start(bus.subscribe(), Arc::downgrade(&counters));
        let notices =
            service::notify::notice_hub::NoticeHub::start(db.clone(), bus.subscribe_notices());
        // Upkeep's connections: a large pass has no statement time limit.
        let folder = service::fold::Folder::new(
            upkeep_db.clone(),
            sqlite_writer.clone(),
            metrics.clone(),
            &config,
        );
        let state = AppState {
            observatory_db,
            upkeep_db,
            db: db.clone(),
            config: config.clone(),
            passwords,
            counters,
            bus,
            limits: Arc::new(RateLimits::new(&config)),
            milestones: Arc::new(MilestoneCache::default()),
            metrics: metrics.clone(),
            signer: Arc::new(SignBatcher::start(
                db.clone(),
                metrics.clone(),
                folder.clone(),
                sqlite_writer.clone(),
                config.sign_batch_workers,
                config.sign_batch_max,
            )),
            folder,
            sqlite_writer,
            outbox,
            public_url,
            sources: Arc::new(service::source::SourceKeys::load(&config)?),
            blocks: Arc::new(service::fraud::block::BlockList::default()),
            surge: Arc::new(service::fraud::surge::SurgeDetector::new(&config)),
            caches: Arc::new(cache::Caches::new(Duration::from_secs(
                config.cache_ttl_secs,
            ))),
            live,
            notices,
            windows: Arc::default(),
            releases: Arc::default(),
        };
        state
            .surge
            .reload(&state.db)
            .await
            .map_err(|err| anyhow::anyhow!("cannot load fraud signals: {}", err.message()))?;
        state
            .blocks
            .reload(&state.db)
            .await
            .map_err(|err| anyhow::anyhow!("cannot load the block-list: {}", err.message()))?;
        state.outbox.start_worker(outbox::Context {
            db: state.db.clone(),
            sqlite_writer: state.sqlite_writer.clone(),
            bus: state.bus.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            public_url: state.public_url.clone(),
            keys: state.sources.clone(),
            handlers: Arc::new(service::notify::delivery::Delivery),
        });
        tokio::spawn(follow_reloads(state.clone()));
        if config.auto_migrate {
            use service::observatory::{Prior, rollup};
            if let Some(rebuilt) =
                rollup::ensure_current(&state.upkeep_db, rollup::AtomRule::of(&config))
                    .await
                    .map_err(|err| {
                        anyhow::anyhow!("cannot prepare the observatory: {}", err.message())
                    })?
            {
                tracing::info!(
                    grain = config.observatory_grain.as_str(),
                    atoms = rebuilt.atoms,
                    "observatory rollups rebuilt"
                );
            }
            let prior = Prior {
                mean: config.trust_prior_mean,
                weight: config.trust_prior_weight,
            };
            // Without it the trust ranking still answers, by sorting.
            if let Err(err) = rollup::ensure_trust_index(&state.upkeep_db, prior).await {
                tracing::warn!(error = %err.message(), "cannot index the trust ranking");
            }
            refresh_windows(&state).await.map_err(|err| {
                anyhow::anyhow!("cannot roll the observatory's windows: {}", err.message())
            })?;
        }
        if let (Some(handle), Some(email), Some(password)) = (
            non_empty(&config.admin_handle),
            non_empty(&config.admin_email),
            non_empty(&config.admin_password),
        ) {
            auth::ensure_admin(&state.db, &state.passwords, handle, email, password)
                .await
                .map_err(|err| {
                    anyhow::anyhow!("cannot create the first admin: {}", err.message())
                })?;
            tracing::info!(handle, "first admin ensured");
        }
        tokio::spawn(maintain(state.clone()));
        // After any rebuild above, which takes the queue's atom changes as
        // already counted.
        state.folder.start();
        let schema = graphql::build(state.clone());
        let fast_schema =
            graphql::build_validating(state.clone(), async_graphql::ValidationMode::Fast);
        let routes = http::router(state.clone(), schema, fast_schema);
        let metrics = match (config.metrics_addr, routes.metrics) {
            (Some(addr), Some(router)) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} for metrics"))?;
                Some((listener, router))
            }
            _ => None,
        };
        Ok(Self {
            listener,
            router: routes.app,
            metrics,
            state,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The address `/metrics` is served on apart, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The shared state, for subcommands and tests that need the database.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "serving GraphQL on /graphql");
        // The metrics listener stops with the application's.
        let metrics = self.metrics.map(|(listener, router)| {
            tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics apart");
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::warn!(%err, "metrics server error");
                }
            })
        });
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server error");
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served
    }
}

/// Counter store and event bus: Redis when `REDIS_URL` is set, in process otherwise.
fn live_backends(config: &Config) -> anyhow::Result<(Arc<Counters>, Arc<dyn LiveBus>)> {
    match non_empty(&config.redis_url) {
        Some(url) => {
            let timeout = Duration::from_millis(config.redis_timeout_ms.max(1));
            let link = Arc::new(RedisLink::new(url, &config.redis_prefix, timeout)?);
            let store = Arc::new(RedisCounters::new(link.clone()));
            let counters = Arc::new(
                Counters::new(store, &config.redis_prefix)
                    .with_read_cache(Duration::from_millis(config.counter_cache_ms)),
            );
            Ok((counters, RedisBus::start(link)))
        }
        None => {
            let store = Arc::new(MemoryCounters::default());
            let counters = Arc::new(Counters::new(store, &config.redis_prefix));
            Ok((counters, Arc::new(MemoryBus::default())))
        }
    }
}

/// Makes ring the process's TLS crypto provider, for HTTP clients built
/// without one of their own (this crate's webhook client brings its own; a
/// client in the same process, a test's, needs this). Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Background upkeep for as long as the state lives: rebuilds counters at
/// start-up, reconciles them on a timer and as soon as the counter store
/// answers again after an outage, and evicts idle rate-limit keys.
async fn maintain(state: AppState) {
    let every = Duration::from_secs(state.config.reconcile_secs.max(1));
    let mut last_reconcile: Option<Instant> = None;
    let mut last_eviction = Instant::now();
    let mut recovered = false;
    loop {
        let due = last_reconcile.is_none_or(|at| at.elapsed() >= every);
        if state.counters.is_degraded() && state.counters.probe().await {
            recovered = true;
        }
        if due || recovered {
            if let Err(err) =
                service::campaigns::pledge::expire_past_deadlines(&state, service::validate::now())
                    .await
            {
                tracing::warn!(?err, "expiring pledges past their deadline failed");
            }
            match service::producers::producer_voice::announce_due(&state).await {
                Ok(announced) if announced > 0 => {
                    tracing::info!(announced, "commitments past their due date announced")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "announcing due commitments failed"),
            }
            match service::producers::response_duty::remind(&state).await {
                Ok(reminded) if reminded > 0 => {
                    tracing::info!(reminded, "representatives reminded of answers due soon")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "reminding of answers due soon failed"),
            }
            match service::producers::response_duty::announce_overdue(&state).await {
                Ok(announced) if announced > 0 => {
                    tracing::info!(announced, "response requests past their due date announced")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "announcing overdue response requests failed"),
            }
            match service::identity::confirmation::count_left_behind(&state).await {
                Ok(counted) if counted > 0 => {
                    tracing::info!(counted, "pending signatures of confirmed members counted")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "counting left-behind signatures failed"),
            }
            match service::fraud::retention::anonymise_ended(&state).await {
                Ok(changed) if changed > 0 => {
                    tracing::info!(changed, "signatures of ended campaigns anonymised")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "anonymising ended campaigns failed"),
            }
            match service::identity::confirmation::purge_unconfirmed(&state).await {
                Ok(removed) if removed > 0 => {
                    tracing::info!(removed, "pending signatures of unconfirmed members removed")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "removing unconfirmed signatures failed"),
            }
            match state.counters.reconcile_open(&state.db).await {
                Ok(fixed) if fixed > 0 => {
                    tracing::info!(fixed, "counters reconciled");
                    state
                        .metrics
                        .counter_corrections
                        .fetch_add(fixed as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(?err, "counter reconciliation failed"),
            }
            last_reconcile = Some(Instant::now());
            recovered = false;
        }
        // Nothing but a clock reading, except on the first tick of a month.
        if let Err(err) = refresh_windows(&state).await {
            tracing::warn!(?err, "rolling the observatory's windows failed");
        }
        let privacy = &state.config.privacy;
        if privacy.dp() && privacy.dp_auto_release {
            // Nothing but a clock reading once this month's release is done.
            if let Err(err) = service::observatory::release::release_due(
                &state.upkeep_db,
                state.sqlite_writer.as_ref(),
                &state.config,
                &state.releases,
            )
            .await
            {
                tracing::warn!(err = %err.message(), "releasing the observatory's closed months failed");
            }
        }
        if last_eviction.elapsed() >= Duration::from_secs(60) {
            state.limits.evict_idle();
            state.surge.evict_idle();
            last_eviction = Instant::now();
        }
        // Wake early when a request sees the store answer again.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = state.counters.recovered.notified() => recovered = true,
        }
        if Arc::strong_count(&state.limits) == 1 {
            return; // the server is gone; only this task holds the state
        }
    }
}

/// Rolls the observatory's windows when the month changed (see
/// `service::observatory::windows`); until then, answers over a window are
/// counted from the atoms.
async fn refresh_windows(state: &AppState) -> error::Result<()> {
    service::observatory::windows::refresh(
        &state.upkeep_db,
        state.sqlite_writer.as_ref(),
        &state.windows,
        state.config.observatory_k,
        chrono::Utc::now().date_naive(),
    )
    .await
}

/// Reloads what another instance announced changed, until the server is
/// gone; every 30 s regardless, in case an announcement was lost.
async fn follow_reloads(state: AppState) {
    let mut reloads = state.bus.subscribe_reloads();
    let blocks = Arc::downgrade(&state.blocks);
    let surge = Arc::downgrade(&state.surge);
    let caches = Arc::downgrade(&state.caches);
    let (db, bus) = (state.db.clone(), state.bus.clone());
    drop(state);
    loop {
        let (heard, missed) = tokio::select! {
            heard = reloads.recv() => match heard {
                Ok(what) => (Some(what), false),
                // Missed some: reload everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => (None, true),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(Duration::from_secs(30)) => (None, false),
        };
        let (Some(blocks), Some(surge), Some(caches)) =
            (blocks.upgrade(), surge.upgrade(), caches.upgrade())
        else {
            return;
        };
        match heard {
            Some(what @ (bus::Reload::Member(_) | bus::Reload::Campaign(_))) => {
                caches.forget(what);
                continue;
            }
            None if missed => caches.clear(),
            _ => {}
        }
        if matches!(heard, None | Some(bus::Reload::BlockRules))
            && let Err(err) = blocks.reload(&db).await
        {
            tracing::warn!(code = err.code(), "reloading the block-list failed");
        }
        if matches!(heard, None | Some(bus::Reload::FraudSignals))
            && let Err(err) = surge.reload(&db).await
        {
            tracing::warn!(code = err.code(), "reloading fraud signals failed");
        }
        if Arc::strong_count(&bus) == 1 {
            return;
        }
    }
}

/// An optional setting, with an empty value (as compose files pass) counting as unset.
fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
