//! Surge detection: per campaign, sliding-window counts of signatures per
//! source (network) and per e-mail domain, kept in memory so that watching
//! costs the signing path no round trip. Past `CONSUMACT_TRENDING_THRESHOLD`
//! signatures within `CONSUMACT_TRENDING_WINDOW_SECS`, a fraud signal is
//! raised once for that key and window, moderators are mailed through the
//! outbox, and with `CONSUMACT_HOLD_TRENDING=true` further signatures from
//! that key are stored `PENDING`, held by the signal, until a moderator
//! decides: dismissing it counts them; invalidating strikes them out.
//!
//! Each instance counts what it serves: behind a load balancer spreading
//! one source over N instances, a source trends at about N times the
//! threshold. Open signals are shared through the database (loaded at
//! start and reloaded when one is decided), so every instance holds alike.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entities::campaign;
use entities::fraud_signal::{self, SignalKind, SignalStatus};
use entities::member::{self, Role};
use entities::signature::{self, SignatureStatus};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{AppError, Result};
use crate::events::Reload;
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::service::moderation::require_moderator;
use crate::service::viewer::Viewer;
use crate::service::{audit, signature as signatures, validate};
use crate::state::AppState;

/// Most moderators one signal is mailed to.
const MAX_RECIPIENTS: u64 = 50;
/// Shortest time between two updates of one signal's count.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

type Key = (Uuid, SignalKind, String);

/// Slices a window is counted in: memory stays bounded whatever the rate,
/// and the count is off by at most one slice at the window's far edge.
const SLICES: u32 = 30;

struct Track {
    /// Signatures per slice of the window, oldest first: (slice start, count).
    slices: VecDeque<(Instant, usize)>,
    signal: Option<Raised>,
}

struct Raised {
    /// The signal's row, once written.
    id: Option<Uuid>,
    at: Instant,
    last_flush: Instant,
    dismissed: bool,
}

/// What one more signature from a key means.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Nothing,
    /// The key just crossed the threshold: raise a signal.
    Raise {
        count: usize,
    },
    /// The key's open signal should show this count now.
    Update {
        signal: Uuid,
        count: usize,
    },
}

/// This instance's windows and the signals in force.
pub struct SurgeDetector {
    /// 0: detection off.
    threshold: usize,
    window: Duration,
    hold: bool,
    tracks: Mutex<HashMap<Key, Track>>,
}

impl SurgeDetector {
    pub fn new(config: &Config) -> Self {
        Self {
            threshold: config.trending_threshold as usize,
            window: Duration::from_secs(config.trending_window_secs.max(1)),
            hold: config.hold_trending,
            tracks: Mutex::new(HashMap::new()),
        }
    }

    fn tracks(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Track>> {
        self.tracks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open signal holding signatures from any of `keys` on `campaign`,
    /// when holding is on.
    pub fn holding(&self, campaign: Uuid, keys: &[(SignalKind, String)]) -> Option<Uuid> {
        if !self.hold || self.threshold == 0 {
            return None;
        }
        let tracks = self.tracks();
        keys.iter().find_map(|(kind, key)| {
            let raised = tracks
                .get(&(campaign, *kind, key.clone()))?
                .signal
                .as_ref()?;
            raised.id.filter(|_| !raised.dismissed)
        })
    }

    /// Counts one signature from `key` on `campaign`.
    pub fn observe(&self, campaign: Uuid, kind: SignalKind, key: &str) -> Seen {
        if self.threshold == 0 {
            return Seen::Nothing;
        }
        let now = Instant::now();
        let mut tracks = self.tracks();
        let track = tracks
            .entry((campaign, kind, key.to_owned()))
            .or_insert_with(|| Track {
                slices: VecDeque::new(),
                signal: None,
            });
        let slice = (self.window / SLICES).max(Duration::from_millis(1));
        match track.slices.back_mut() {
            Some((start, count)) if now.duration_since(*start) < slice => *count += 1,
            _ => track.slices.push_back((now, 1)),
        }
        while track
            .slices
            .front()
            .is_some_and(|(start, _)| now.duration_since(*start) > self.window)
        {
            track.slices.pop_front();
        }
        let count: usize = track.slices.iter().map(|(_, count)| count).sum();
        if count < self.threshold {
            return Seen::Nothing;
        }
        match &mut track.signal {
            // Once per key and window: a dismissed signal's window must pass first.
            Some(raised) if raised.dismissed && now.duration_since(raised.at) <= self.window => {
                Seen::Nothing
            }
            Some(raised) if !raised.dismissed => match raised.id {
                Some(id) if now.duration_since(raised.last_flush) >= FLUSH_EVERY => {
                    raised.last_flush = now;
                    Seen::Update { signal: id, count }
                }
                _ => Seen::Nothing,
            },
            _ => {
                track.signal = Some(Raised {
                    id: None,
                    at: now,
                    last_flush: now,
                    dismissed: false,
                });
                Seen::Raise { count }
            }
        }
    }

    /// Ties a raised key to its signal's row.
    fn raised(&self, campaign: Uuid, kind: SignalKind, key: &str, id: Uuid) {
        if let Some(raised) = self
            .tracks()
            .get_mut(&(campaign, kind, key.to_owned()))
            .and_then(|track| track.signal.as_mut())
        {
            raised.id = Some(id);
        }
    }

    /// Forgets a raise whose signal could not be written.
    fn forget(&self, campaign: Uuid, kind: SignalKind, key: &str) {
        if let Some(track) = self.tracks().get_mut(&(campaign, kind, key.to_owned()))
            && track
                .signal
                .as_ref()
                .is_some_and(|raised| raised.id.is_none())
        {
            track.signal = None;
        }
    }

    /// Replaces the signals in force with the database's open ones.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<()> {
        let open = fraud_signal::Entity::find()
            .filter(fraud_signal::Column::Status.eq(SignalStatus::Open))
            .all(db)
            .await?;
        let now = Instant::now();
        let mut tracks = self.tracks();
        for track in tracks.values_mut() {
            if let Some(raised) = track.signal.as_mut()
                && raised.id.is_some()
                && !open.iter().any(|signal| Some(signal.id) == raised.id)
            {
                raised.dismissed = true;
                raised.at = now;
            }
        }
        for signal in open {
            let track = tracks
                .entry((signal.campaign_id, signal.kind, signal.key.clone()))
                .or_insert_with(|| Track {
                    slices: VecDeque::new(),
                    signal: None,
                });
            if track
                .signal
                .as_ref()
                .is_none_or(|raised| raised.id != Some(signal.id))
            {
                track.signal = Some(Raised {
                    id: Some(signal.id),
                    at: now,
                    last_flush: now,
                    dismissed: false,
                });
            }
        }
        Ok(())
    }

    /// Forgets keys quiet for a window that hold no open signal.
    pub fn evict_idle(&self) {
        let window = self.window;
        self.tracks().retain(|_, track| {
            let recent = track
                .slices
                .back()
                .is_some_and(|(start, _)| start.elapsed() <= window);
            let holding = track
                .signal
                .as_ref()
                .is_some_and(|raised| !raised.dismissed || raised.at.elapsed() <= window);
            recent || holding
        });
    }
}

/// Watches one written signature's keys; raising or updating signals
/// happens in the background, off the signer's request.
pub fn watch(state: &AppState, campaign: Uuid, keys: Vec<(SignalKind, String)>) {
    for (kind, key) in keys {
        match state.surge.observe(campaign, kind, &key) {
            Seen::Nothing => {}
            Seen::Raise { count } => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(err) = raise(&state, campaign, kind, &key, count).await {
                        tracing::warn!(%campaign, code = err.code(), "fraud signal not raised");
                        // Let the next signature from the key try again.
                        state.surge.forget(campaign, kind, &key);
                    }
                });
            }
            Seen::Update { signal, count } => {
                let db = state.db.clone();
                tokio::spawn(async move {
                    let updated = fraud_signal::Entity::update_many()
                        .col_expr(fraud_signal::Column::Count, Expr::value(count as i64))
                        .col_expr(fraud_signal::Column::LastSeen, Expr::value(validate::now()))
                        .filter(fraud_signal::Column::Id.eq(signal))
                        .exec(&db)
                        .await;
                    if let Err(err) = updated {
                        tracing::warn!(%signal, %err, "fraud signal count not updated");
                    }
                });
            }
        }
    }
}

/// Writes the signal (or revives the open one this key already has within
/// the window, raised by another instance) and mails the moderators.
async fn raise(
    state: &AppState,
    campaign_id: Uuid,
    kind: SignalKind,
    key: &str,
    count: usize,
) -> Result<()> {
    let now = validate::now();
    let window = chrono::Duration::seconds(state.config.trending_window_secs as i64);
    let (writer, txn) = state.begin_write().await?;
    let existing = fraud_signal::Entity::find()
        .filter(fraud_signal::Column::CampaignId.eq(campaign_id))
        .filter(fraud_signal::Column::Kind.eq(kind))
        .filter(fraud_signal::Column::Key.eq(key))
        .filter(fraud_signal::Column::Status.eq(SignalStatus::Open))
        .filter(fraud_signal::Column::LastSeen.gte(now - window))
        .one(&txn)
        .await?;
    let id = match existing {
        Some(signal) => signal.id,
        None => {
            let signal = fraud_signal::ActiveModel {
                id: Set(Uuid::now_v7()),
                campaign_id: Set(campaign_id),
                kind: Set(kind),
                key: Set(key.to_owned()),
                count: Set(count as i64),
                first_seen: Set(now),
                last_seen: Set(now),
                status: Set(SignalStatus::Open),
                decided_by: Set(None),
                decided_at: Set(None),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            mail_moderators(&txn, state, &signal).await?;
            signal.id
        }
    };
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    state.surge.raised(campaign_id, kind, key, id);
    tracing::warn!(campaign = %campaign_id, ?kind, count, "fraud signal raised");
    Ok(())
}

async fn mail_moderators(
    db: &impl ConnectionTrait,
    state: &AppState,
    signal: &fraud_signal::Model,
) -> Result<()> {
    let title = campaign::Entity::find_by_id(signal.campaign_id)
        .one(db)
        .await?
        .map(|found| found.title)
        .unwrap_or_default();
    let moderators = member::Entity::find()
        .filter(member::Column::Role.is_in([Role::Moderator, Role::Admin]))
        .limit(MAX_RECIPIENTS)
        .all(db)
        .await?;
    let what = match signal.kind {
        SignalKind::Source => "source",
        SignalKind::EmailDomain => "email_domain",
    };
    for moderator in moderators {
        Mail::new(&moderator.email, &moderator.locale, Template::FraudSignal)
            .var("name", &moderator.display_name)
            .var("title", &title)
            .var("kind", what)
            .var("key", &signal.key)
            .var("count", signal.count.to_string())
            .var("window", state.config.trending_window_secs.to_string())
            .var(
                "link",
                format!("{}/campaigns/{}", state.public_url, signal.campaign_id),
            )
            .enqueue(db)
            .await?;
    }
    Ok(())
}

/// Judges a signal harmless: what it held counts now (signatures of
/// members still unconfirmed stay pending for that reason alone).
/// Moderators and admins; audit-logged.
pub async fn dismiss(state: &AppState, actor: Viewer, id: Uuid) -> Result<fraud_signal::Model> {
    require_moderator(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let decided = fraud_signal::Entity::update_many()
        .col_expr(
            fraud_signal::Column::Status,
            Expr::value(SignalStatus::Dismissed),
        )
        .col_expr(fraud_signal::Column::DecidedBy, Expr::value(actor.id))
        .col_expr(
            fraud_signal::Column::DecidedAt,
            Expr::value(validate::now()),
        )
        .filter(fraud_signal::Column::Id.eq(id))
        .filter(fraud_signal::Column::Status.eq(SignalStatus::Open))
        .exec(&txn)
        .await?;
    let signal = fraud_signal::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("fraud signal"))?;
    if decided.rows_affected == 0 {
        return Ok(signal); // already decided
    }
    if state.config.confirmation_required() {
        let unconfirmed = Query::select()
            .column(member::Column::Id)
            .from(member::Entity)
            .and_where(member::Column::EmailConfirmedAt.is_null())
            .to_owned();
        signature::Entity::update_many()
            .col_expr(signature::Column::HeldBy, Expr::value(None::<Uuid>))
            .filter(signature::Column::HeldBy.eq(id))
            .filter(signature::Column::MemberId.in_subquery(unconfirmed))
            .exec(&txn)
            .await?;
    }
    let released = signature::Entity::update_many()
        .col_expr(
            signature::Column::Status,
            Expr::value(SignatureStatus::Counted),
        )
        .col_expr(signature::Column::HeldBy, Expr::value(None::<Uuid>))
        .filter(signature::Column::HeldBy.eq(id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .exec_with_returning(&txn)
        .await?;
    let found = campaign::Entity::find_by_id(signal.campaign_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    signatures::rollup_moved(&txn, state, &found, &released, 1).await?;
    let note = format!("{} held signatures counted", released.len());
    audit::record(
        &txn,
        actor,
        "dismiss_fraud_signal",
        "fraud_signal",
        Some(id),
        Some(note),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    if !released.is_empty() {
        signatures::after_change(state, &found, released.len() as i64).await;
    }
    state.surge.reload(&state.db).await?;
    state.events.publish_reload(Reload::FraudSignals).await;
    Ok(signal)
}

/// Signals for moderators to page through, optionally of one campaign and status.
pub fn list(
    actor: Viewer,
    campaign_id: Option<Uuid>,
    status: Option<SignalStatus>,
) -> Result<Select<fraud_signal::Entity>> {
    require_moderator(actor)?;
    let mut query = fraud_signal::Entity::find();
    if let Some(campaign_id) = campaign_id {
        query = query.filter(fraud_signal::Column::CampaignId.eq(campaign_id));
    }
    if let Some(status) = status {
        query = query.filter(fraud_signal::Column::Status.eq(status));
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(threshold: u32, hold: bool) -> SurgeDetector {
        let mut args = vec![
            "consumact".to_owned(),
            "--trending-threshold".to_owned(),
            threshold.to_string(),
        ];
        if hold {
            args.extend(["--hold-trending".to_owned(), "true".to_owned()]);
        }
        SurgeDetector::new(&Config::from_args(args).unwrap())
    }

    #[test]
    fn a_key_is_raised_once_when_it_crosses_the_threshold() {
        let surge = detector(3, true);
        let campaign = Uuid::now_v7();
        let seen: Vec<Seen> = (0..6)
            .map(|_| surge.observe(campaign, SignalKind::Source, "net"))
            .collect();
        assert_eq!(seen[..2], [Seen::Nothing, Seen::Nothing]);
        assert_eq!(seen[2], Seen::Raise { count: 3 });
        assert!(seen[3..].iter().all(|s| *s == Seen::Nothing), "{seen:?}");
        // Others are not affected.
        assert_eq!(
            surge.observe(campaign, SignalKind::Source, "other"),
            Seen::Nothing
        );
        assert_eq!(
            surge.observe(Uuid::now_v7(), SignalKind::Source, "net"),
            Seen::Nothing
        );
        // Holding starts once the signal has its row.
        let keys = [(SignalKind::Source, "net".to_owned())];
        assert_eq!(surge.holding(campaign, &keys), None);
        let id = Uuid::now_v7();
        surge.raised(campaign, SignalKind::Source, "net", id);
        assert_eq!(surge.holding(campaign, &keys), Some(id));
    }

    #[test]
    fn the_signal_count_follows_a_surge_beyond_the_threshold() {
        let surge = detector(3, false);
        let campaign = Uuid::now_v7();
        let id = Uuid::now_v7();
        for _ in 0..3 {
            surge.observe(campaign, SignalKind::Source, "net");
        }
        surge.raised(campaign, SignalKind::Source, "net", id);
        for _ in 0..500 {
            surge.observe(campaign, SignalKind::Source, "net");
        }
        std::thread::sleep(FLUSH_EVERY);
        assert_eq!(
            surge.observe(campaign, SignalKind::Source, "net"),
            Seen::Update {
                signal: id,
                count: 504
            }
        );
        let slices = surge
            .tracks()
            .values()
            .map(|t| t.slices.len())
            .max()
            .unwrap();
        assert!(slices <= SLICES as usize + 1, "{slices} slices");
    }

    #[test]
    fn a_zero_threshold_turns_detection_off() {
        let surge = detector(0, true);
        let campaign = Uuid::now_v7();
        for _ in 0..10 {
            assert_eq!(
                surge.observe(campaign, SignalKind::Source, "net"),
                Seen::Nothing
            );
        }
        assert!(surge.tracks().is_empty(), "nothing is even tracked");
    }

    #[test]
    fn without_hold_nothing_is_held() {
        let surge = detector(1, false);
        let campaign = Uuid::now_v7();
        assert_eq!(
            surge.observe(campaign, SignalKind::EmailDomain, "x.test"),
            Seen::Raise { count: 1 }
        );
        surge.raised(campaign, SignalKind::EmailDomain, "x.test", Uuid::now_v7());
        let keys = [(SignalKind::EmailDomain, "x.test".to_owned())];
        assert_eq!(surge.holding(campaign, &keys), None);
    }
}
