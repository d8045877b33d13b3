//! The observatory's vocabulary, below its readers and writers: how rollups
//! are kept (grain and k), periods, the count columns of atoms and totals,
//! a rating's or pledge's change, scopes and groupings of a question, sums,
//! the trust index's prior, and the stored windows. Plain data and pure
//! functions (and the decoding of a row of sums).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use entities::pledge::PledgeKind;
use entities::producer::ProducerKind;
use entities::trust_rating::Dimension;
use sea_orm::QueryResult;
use uuid::Uuid;

use crate::config::{Config, Grain};
use crate::error::Result;

/// How the rollups are kept: the atoms' period and the k of the k-rule
/// (an atom of fewer than k members enters no total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomRule {
    pub grain: Grain,
    pub k: u32,
}

impl AtomRule {
    pub fn of(config: &Config) -> Self {
        Self {
            grain: config.observatory_grain,
            k: config.observatory_k,
        }
    }
}

/// Count columns of `obs_atom`, in the order [`Delta::values`] gives them.
pub const COUNT_COLUMNS: [&str; 14] = [
    "signatures",
    "ratings_transparency",
    "ratings_fairness",
    "ratings_commitment_keeping",
    "ratings_quality",
    "score_transparency",
    "score_fairness",
    "score_commitment_keeping",
    "score_quality",
    "pledges_buy",
    "pledges_avoid",
    "pledges_switch",
    "pledges_reduce",
    "pledged_cents",
];

/// Position of a dimension in the rating and score columns.
pub fn dimension_index(dimension: Dimension) -> usize {
    match dimension {
        Dimension::Transparency => 0,
        Dimension::Fairness => 1,
        Dimension::CommitmentKeeping => 2,
        Dimension::Quality => 3,
    }
}

/// Position of a pledge kind in the pledge columns.
pub fn pledge_index(kind: PledgeKind) -> usize {
    match kind {
        PledgeKind::Buy => 0,
        PledgeKind::Avoid => 1,
        PledgeKind::Switch => 2,
        PledgeKind::Reduce => 3,
    }
}

/// A change to one atom, made by one member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub signatures: i64,
    pub ratings: [i64; 4],
    pub scores: [i64; 4],
    pub pledges: [i64; 4],
    pub pledged_cents: i64,
    /// +1 when the member adds a contribution (signature, rating, pledge)
    /// to the atom, -1 when one goes away, 0 when one only changes.
    pub contributions: i64,
}

impl Delta {
    pub fn signature(sign: i64) -> Self {
        Self {
            signatures: sign,
            contributions: sign,
            ..Self::default()
        }
    }

    pub fn pledge(sign: i64, kind: PledgeKind, monthly_amount_cents: Option<i64>) -> Self {
        let mut delta = Self {
            pledged_cents: sign * monthly_amount_cents.unwrap_or(0),
            contributions: sign,
            ..Self::default()
        };
        delta.pledges[pledge_index(kind)] = sign;
        delta
    }

    /// A new rating (`old` is `None`) or a changed one.
    pub fn rating(dimension: Dimension, old: Option<i16>, new: i16) -> Self {
        let mut delta = Self::default();
        let index = dimension_index(dimension);
        match old {
            None => {
                delta.ratings[index] = 1;
                delta.scores[index] = i64::from(new);
                delta.contributions = 1;
            }
            Some(old) => delta.scores[index] = i64::from(new - old),
        }
        delta
    }

    pub(crate) fn values(&self) -> [i64; 14] {
        let mut all = [0; 14];
        all[0] = self.signatures;
        all[1..5].copy_from_slice(&self.ratings);
        all[5..9].copy_from_slice(&self.scores);
        all[9..13].copy_from_slice(&self.pledges);
        all[13] = self.pledged_cents;
        all
    }

    /// The counts as [`values`](Self::values) lists them, then the
    /// contributions (the fold's queue keeps a delta so).
    pub(crate) fn from_values(values: &[i64; 15]) -> Self {
        let part = |from: usize| -> [i64; 4] {
            [
                values[from],
                values[from + 1],
                values[from + 2],
                values[from + 3],
            ]
        };
        Self {
            signatures: values[0],
            ratings: part(1),
            scores: part(5),
            pledges: part(9),
            pledged_cents: values[13],
            contributions: values[14],
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    pub(super) fn add(&mut self, other: &Delta) {
        self.signatures += other.signatures;
        for i in 0..4 {
            self.ratings[i] += other.ratings[i];
            self.scores[i] += other.scores[i];
            self.pledges[i] += other.pledges[i];
        }
        self.pledged_cents += other.pledged_cents;
        self.contributions += other.contributions;
    }
}

/// The first day of the period holding `at`, as stored in the rollups.
pub fn period_of(grain: Grain, at: DateTime<Utc>) -> String {
    period_day(grain, at).format("%Y-%m-%d").to_string()
}

/// The first day of the period holding `at`, as a date (which orders as
/// the stored text does).
pub fn period_day(grain: Grain, at: DateTime<Utc>) -> NaiveDate {
    let day = at.date_naive();
    match grain {
        Grain::Day => day,
        Grain::Month => day.with_day(1).unwrap_or(day),
    }
}

/// Columns of `obs_producer_total` after its key: released atoms, members,
/// then the count columns.
pub const TOTAL_COLUMNS: usize = 2 + COUNT_COLUMNS.len();

/// The names of those columns, in that order.
pub fn total_columns() -> impl Iterator<Item = &'static str> {
    ["atoms", "members"].into_iter().chain(COUNT_COLUMNS)
}

/// The trust index's prior: where a producer with few ratings sits, and how
/// many ratings it takes to move it.
#[derive(Clone, Copy, Debug)]
pub struct Prior {
    /// 0–100.
    pub mean: f64,
    /// In ratings.
    pub weight: f64,
}

/// A score 1–5 on the index's 0–100 scale.
pub fn scale(score: f64) -> f64 {
    (score - 1.0) * 25.0
}

/// The Bayesian trust index: `(w·m + Σ x) / (w + n)`, where the `n` ratings
/// `x` are put on a 0–100 scale, `m` is the prior mean and `w` its weight.
/// `None` without ratings.
pub fn trust_index(prior: Prior, ratings: i64, score_sum: i64) -> Option<f64> {
    if ratings <= 0 {
        return None;
    }
    let n = ratings as f64;
    let sum = scale(score_sum as f64 / n) * n;
    Some(((prior.weight * prior.mean + sum) / (prior.weight + n)).clamp(0.0, 100.0))
}

/// Which producers, and which periods, a question covers.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub producer: Option<Uuid>,
    pub sector: Option<String>,
    pub kind: Option<ProducerKind>,
    /// A country also matches its subdivisions.
    pub territory: Option<String>,
    /// Slug of a value tag: producers targeted by a campaign carrying it.
    pub value_tag: Option<String>,
    /// Slug of a community: producers targeted by one of its campaigns.
    pub community: Option<String>,
    /// First period start included (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// First period start excluded.
    pub to: Option<String>,
    /// Periods starting here or later are still open and left out (when
    /// only closed periods are published).
    pub open_from: Option<String>,
    /// Only producers with an id above this one (for chunked reads).
    pub after: Option<Uuid>,
    /// Only producers with an id up to this one.
    pub through: Option<Uuid>,
    /// Only these producers (a page of a ranking).
    pub ids: Option<Vec<Uuid>>,
    /// The kept window whose rows hold exactly the scope's periods (`from`
    /// and `to` are set to its span), when they can answer it.
    pub window: Option<Window>,
    /// Sums come from the differentially private release's published cells
    /// (`obs_release_cell`) instead of the k-rule's atoms, and never from
    /// what is kept above the atoms; `open_from` is then the first month
    /// not released.
    pub released: bool,
}

/// The sums of a set of atoms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    /// Distinct members of each atom, summed over the atoms.
    pub members: i64,
    pub atoms: i64,
    pub signatures: i64,
    pub ratings: [i64; 4],
    pub scores: [i64; 4],
    pub pledges: [i64; 4],
    pub pledged_cents: i64,
}

impl Sums {
    pub fn add(&mut self, other: &Sums) {
        self.members += other.members;
        self.atoms += other.atoms;
        self.signatures += other.signatures;
        for i in 0..4 {
            self.ratings[i] += other.ratings[i];
            self.scores[i] += other.scores[i];
            self.pledges[i] += other.pledges[i];
        }
        self.pledged_cents += other.pledged_cents;
    }

    pub(super) fn from_row(row: &QueryResult, first: usize) -> Result<Self> {
        let at = |i: usize| row.try_get_by_index::<i64>(first + i);
        Ok(Self {
            members: at(0)?,
            atoms: at(1)?,
            signatures: at(2)?,
            ratings: [at(3)?, at(4)?, at(5)?, at(6)?],
            scores: [at(7)?, at(8)?, at(9)?, at(10)?],
            pledges: [at(11)?, at(12)?, at(13)?, at(14)?],
            pledged_cents: at(15)?,
        })
    }
}

/// How the observatory groups producers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Sector,
    Community,
    ValueTag,
    Territory,
}

/// Every dimension, as `obs_group_member.dimension` names it.
pub const DIMENSIONS: [GroupBy; 4] = [
    GroupBy::Sector,
    GroupBy::Territory,
    GroupBy::Community,
    GroupBy::ValueTag,
];

/// A dimension's name in the kept tables.
pub fn dimension_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Sector => "SECTOR",
        GroupBy::Territory => "TERRITORY",
        GroupBy::Community => "COMMUNITY",
        GroupBy::ValueTag => "VALUE_TAG",
    }
}

/// A default window of the observatory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// This month and the eleven before it.
    Last12Months,
    /// The month before this one.
    LastFullMonth,
}

impl Window {
    pub const ALL: [Window; 2] = [Window::Last12Months, Window::LastFullMonth];

    /// The window's name in the kept tables.
    pub fn name(self) -> &'static str {
        match self {
            Window::Last12Months => "LAST_12_MONTHS",
            Window::LastFullMonth => "LAST_FULL_MONTH",
        }
    }

    /// The window's first day as of `today`, and the first day after it
    /// (`None`: it runs up to now).
    pub fn bounds(self, today: NaiveDate) -> (NaiveDate, Option<NaiveDate>) {
        let month = first_of_month(today);
        match self {
            Window::Last12Months => (month - Months::new(11), None),
            Window::LastFullMonth => (month - Months::new(1), Some(month)),
        }
    }

    /// The window's periods as of `today`: the first period start in it,
    /// and the first after it (`None`: up to now). Both are days, so they
    /// bound periods of either grain.
    pub fn span(self, today: NaiveDate) -> (String, Option<String>) {
        let day = |date: NaiveDate| date.format("%Y-%m-%d").to_string();
        let (first, end) = self.bounds(today);
        (day(first), end.map(day))
    }
}

/// The first day of `date`'s month.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}
