//! This instance's sliding windows and the signals in force: plain memory,
//! no round trip on the signing path (see the module above for what a
//! signal sets off).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entities::fraud_signal::{self, SignalKind, SignalStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::config::Config;
use crate::error::Result;

/// Most moderators one signal is mailed to.
pub(super) const MAX_RECIPIENTS: u64 = 50;
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
    pub(super) fn raised(&self, campaign: Uuid, kind: SignalKind, key: &str, id: Uuid) {
        if let Some(raised) = self
            .tracks()
            .get_mut(&(campaign, kind, key.to_owned()))
            .and_then(|track| track.signal.as_mut())
        {
            raised.id = Some(id);
        }
    }

    /// Forgets a raise whose signal could not be written.
    pub(super) fn forget(&self, campaign: Uuid, kind: SignalKind, key: &str) {
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
