//! The producer's side of the picture, kept: published campaigns aimed at
//! a producer, those it answered and how fast, the commitments it made and
//! how they ended, over all time (`obs_producer_fact`, one row per
//! producer) and period by period (`obs_producer_period`: a campaign counts
//! in the period it was published in, a commitment in the one it was made
//! in).
//!
//! Every write that changes them (a campaign's status move, a response, a
//! commitment closed, content hidden or restored) calls [`refresh`] in its
//! own transaction: the producer's rows are recomputed from its campaigns and
//! responses, which the campaign and response indexes find, under a lock on
//! the producer so that two writers never keep each other's stale view.
//! [`rebuild`] recomputes every row the same way.
//!
//! These facts are not member-contributed, so the k-rule does not apply to
//! them; a cell still shows them only next to released member sums.
//!
//! How fast is kept as a distribution, so that any set of producers can be
//! summed: answered campaigns counted in classes of hours to the first
//! answer ([`CLASS_BOUNDS`]). A median is then estimated from the classes
//! (the grouped median, linear within its class), the same way for one
//! producer, a group or a series bucket.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use uuid::Uuid;

use super::atoms::period_of;
use super::sql::Sql;
use crate::config::Grain;
use crate::error::Result;

/// A published campaign and when it was first answered.
#[derive(Clone, Copy, Debug)]
pub struct CampaignFact {
    pub producer: Uuid,
    pub published_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// The due date of its response request in force, if it made one.
    pub response_due_at: Option<DateTime<Utc>>,
    /// Its first answer, hidden or not (what the request's state reads).
    pub answered_at: Option<DateTime<Utc>>,
}

/// A commitment a producer made in a response.
#[derive(Clone, Copy, Debug)]
pub struct CommitmentFact {
    pub producer: Uuid,
    pub made_at: DateTime<Utc>,
    /// `Some(true)` kept, `Some(false)` broken, `None` still open.
    pub kept: Option<bool>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Upper bounds, in hours, of the classes of time to a first answer; the
/// last class (60 days and more) has none.
pub const CLASS_BOUNDS: [f64; CLASSES - 1] = [
    1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0, 72.0, 96.0, 120.0, 168.0, 240.0,
    336.0, 504.0, 720.0, 1440.0,
];

/// How many classes of time to a first answer.
pub const CLASSES: usize = 21;

/// Columns of `obs_producer_fact` besides its key, in the order
/// [`Facts::values`] gives them.
pub fn columns() -> impl Iterator<Item = String> {
    [
        "campaigns",
        "commitments_made",
        "commitments_kept",
        "commitments_broken",
        "commitments_open",
        "responses_requested",
        "responses_on_time",
        "responses_overdue",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain((0..CLASSES).map(|class| format!("answered_{class:02}")))
}

/// A producer's (or a set of producers') facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Published, visible campaigns aimed at the producer(s).
    pub campaigns: i64,
    /// Those with a visible answer, by class of hours to the first answer.
    pub answered_within: [i64; CLASSES],
    pub commitments_made: i64,
    pub commitments_kept: i64,
    pub commitments_broken: i64,
    pub commitments_open: i64,
    /// Campaigns whose count requested an answer (request in force).
    pub responses_requested: i64,
    /// Of which answered by the due date.
    pub responses_on_time: i64,
    /// Of which unanswered past the due date (when the facts were written:
    /// the upkeep writes them again as requests fall overdue).
    pub responses_overdue: i64,
}

/// The class of `hours` to a first answer.
pub fn class_of(hours: f64) -> usize {
    CLASS_BOUNDS.partition_point(|bound| *bound <= hours)
}

impl Facts {
    /// The facts of these campaigns (those published after `now` left
    /// out) and commitments.
    pub fn tally<'a>(
        campaigns: impl IntoIterator<Item = &'a CampaignFact>,
        commitments: impl IntoIterator<Item = &'a CommitmentFact>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut facts = Self::default();
        for campaign in campaigns {
            if campaign.published_at > now {
                continue;
            }
            facts.campaigns += 1;
            if let Some(due) = campaign.response_due_at {
                facts.responses_requested += 1;
                match campaign.answered_at {
                    Some(at) if at <= due => facts.responses_on_time += 1,
                    Some(_) => {}
                    None if now > due => facts.responses_overdue += 1,
                    None => {}
                }
            }
            if let Some(first) = campaign.first_response_at {
                let hours = (first - campaign.published_at).num_seconds().max(0) as f64 / 3600.0;
                facts.answered_within[class_of(hours)] += 1;
            }
        }
        for commitment in commitments {
            facts.commitments_made += 1;
            match commitment.kept {
                Some(true) => facts.commitments_kept += 1,
                Some(false) => facts.commitments_broken += 1,
                None => facts.commitments_open += 1,
            }
        }
        facts
    }

    pub fn add(&mut self, other: &Facts) {
        let mine = self.values();
        let theirs = other.values();
        let mut sum = [0; COLUMNS];
        for i in 0..COLUMNS {
            sum[i] = mine[i] + theirs[i];
        }
        *self = Self::from_values(sum);
    }

    /// Campaigns with a visible answer.
    pub fn answered(&self) -> i64 {
        self.answered_within.iter().sum()
    }

    /// The median hours to a first answer, estimated from the classes: the
    /// class holding the middle answer, and within it a straight line from
    /// its lower to its upper bound (the open last class gives its lower
    /// bound, 60 days). `None` without an answer.
    pub fn median_hours(&self) -> Option<f64> {
        let answered = self.answered();
        if answered <= 0 {
            return None;
        }
        let middle = answered as f64 / 2.0;
        let mut below = 0.0;
        for (class, &count) in self.answered_within.iter().enumerate() {
            let count = count as f64;
            if count > 0.0 && below + count >= middle {
                let lower = if class == 0 {
                    0.0
                } else {
                    CLASS_BOUNDS[class - 1]
                };
                let Some(&upper) = CLASS_BOUNDS.get(class) else {
                    return Some(lower);
                };
                return Some(lower + (middle - below) / count * (upper - lower));
            }
            below += count;
        }
        None
    }

    /// The facts in [`columns`]' order.
    pub fn values(&self) -> [i64; COLUMNS] {
        let mut all = [0; COLUMNS];
        all[..PLAIN].copy_from_slice(&[
            self.campaigns,
            self.commitments_made,
            self.commitments_kept,
            self.commitments_broken,
            self.commitments_open,
            self.responses_requested,
            self.responses_on_time,
            self.responses_overdue,
        ]);
        all[PLAIN..].copy_from_slice(&self.answered_within);
        all
    }

    fn from_values(all: [i64; COLUMNS]) -> Self {
        let mut answered_within = [0; CLASSES];
        answered_within.copy_from_slice(&all[PLAIN..]);
        Self {
            campaigns: all[0],
            answered_within,
            commitments_made: all[1],
            commitments_kept: all[2],
            commitments_broken: all[3],
            commitments_open: all[4],
            responses_requested: all[5],
            responses_on_time: all[6],
            responses_overdue: all[7],
        }
    }

    /// Reads the facts from `row`'s columns `first..`, in [`columns`]'
    /// order (NULLs, as a missing row gives them, read as 0).
    pub fn from_row(row: &QueryResult, first: usize) -> Result<Self> {
        let mut all = [0; COLUMNS];
        for (i, value) in all.iter_mut().enumerate() {
            *value = row.try_get_by_index::<Option<i64>>(first + i)?.unwrap_or(0);
        }
        Ok(Self::from_values(all))
    }
}

/// Columns of a row of facts before the classes of hours.
const PLAIN: usize = 8;

/// Columns of a row of facts.
const COLUMNS: usize = PLAIN + CLASSES;

/// Makes the writers of one producer's stored facts and groups take turns,
/// each reading what the one before committed (SQLite has one writer at a
/// time anyway): the weakest row lock on the producer that excludes itself,
/// so foreign-key checks of rows naming the producer (ratings) go on.
pub async fn lock_producer(conn: &impl ConnectionTrait, producer: Uuid) -> Result<()> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        let mut lock = Sql::new(backend);
        lock.push("SELECT id FROM producer WHERE id = ")
            .bind(producer)
            .push(" FOR NO KEY UPDATE");
        conn.execute_raw(lock.build()).await?;
    }
    Ok(())
}

/// `producer`'s stored facts (none kept: all zero).
pub async fn read(conn: &impl ConnectionTrait, producer: Uuid) -> Result<Facts> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(&columns().collect::<Vec<_>>().join(", "))
        .push(" FROM obs_producer_fact WHERE producer_id = ")
        .bind(producer);
    match conn.query_one_raw(sql.build()).await? {
        Some(row) => Facts::from_row(&row, 0),
        None => Ok(Facts::default()),
    }
}

/// `producer`'s stored facts of each period it has any in.
pub async fn read_periods(
    conn: &impl ConnectionTrait,
    producer: Uuid,
) -> Result<BTreeMap<String, Facts>> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT period_start, ")
        .push(&columns().collect::<Vec<_>>().join(", "))
        .push(" FROM obs_producer_period WHERE producer_id = ")
        .bind(producer);
    let mut out = BTreeMap::new();
    for row in conn.query_all_raw(sql.build()).await? {
        out.insert(row.try_get_by_index(0)?, Facts::from_row(&row, 1)?);
    }
    Ok(out)
}

/// The facts of these campaigns and commitments period by period (`grain`
/// as the atoms are kept): a campaign counts in the period it was
/// published in, a commitment in the one it was made in.
pub fn by_period<'a>(
    grain: Grain,
    campaigns: impl IntoIterator<Item = &'a CampaignFact>,
    commitments: impl IntoIterator<Item = &'a CommitmentFact>,
    now: DateTime<Utc>,
) -> BTreeMap<String, Facts> {
    let mut periods: BTreeMap<String, (Vec<&CampaignFact>, Vec<&CommitmentFact>)> = BTreeMap::new();
    for campaign in campaigns {
        let period = period_of(grain, campaign.published_at);
        periods.entry(period).or_default().0.push(campaign);
    }
    for commitment in commitments {
        let period = period_of(grain, commitment.made_at);
        periods.entry(period).or_default().1.push(commitment);
    }
    periods
        .into_iter()
        .map(|(period, (campaigns, commitments))| {
            (period, Facts::tally(campaigns, commitments, now))
        })
        .filter(|(_, facts)| *facts != Facts::default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(hours: &[f64]) -> Facts {
        let mut facts = Facts::default();
        for &h in hours {
            facts.answered_within[class_of(h)] += 1;
        }
        facts
    }

    #[test]
    fn hours_fall_in_their_class() {
        assert_eq!(class_of(0.0), 0);
        assert_eq!(class_of(0.99), 0);
        assert_eq!(class_of(1.0), 1);
        assert_eq!(class_of(30.0), 9);
        assert_eq!(class_of(1_439.0), CLASSES - 2);
        assert_eq!(class_of(10_000.0), CLASSES - 1);
    }

    #[test]
    fn the_median_is_read_within_its_class() {
        assert_eq!(Facts::default().median_hours(), None);
        // One answer in [0, 1): the middle of the class.
        assert_eq!(answered(&[0.2]).median_hours(), Some(0.5));
        // Four answers: two in [1, 2), two in [24, 36): the middle one is
        // the second of [1, 2), at its upper bound.
        assert_eq!(answered(&[1.5, 1.2, 30.0, 25.0]).median_hours(), Some(2.0));
        // Three answers in [12, 18): half of 3 is 1.5, a quarter of the way.
        assert_eq!(
            answered(&[13.0, 14.0, 17.0]).median_hours(),
            Some(12.0 + 1.5 / 3.0 * 6.0)
        );
        // The open class gives its lower bound.
        assert_eq!(answered(&[5_000.0]).median_hours(), Some(1_440.0));
    }

    #[test]
    fn sums_add_every_column() {
        let mut total = answered(&[1.0]);
        total.campaigns = 2;
        total.commitments_open = 1;
        let mut other = answered(&[100.0, 2.5]);
        other.commitments_kept = 3;
        total.add(&other);
        assert_eq!(total.answered(), 3);
        assert_eq!(total.campaigns, 2);
        assert_eq!(total.commitments_kept, 3);
        assert_eq!(total.commitments_open, 1);
    }
}
