//! The consumer-trust observatory: aggregate trust metrics per producer,
//! per group and over time, built from rollups so no individual shows.
//!
//! Privacy rests on one rule, applied everywhere: the *atom* of every
//! answer is one producer over one period (a month, or a day at the `day`
//! grain), and an atom with fewer than k distinct members is left out of
//! every sum, not just hidden in its own cell. A group total is then the sum
//! of released atoms only, a filtered total likewise, and any difference of
//! two answers is itself a sum of released atoms, each of at least k members.
//! That is complementary suppression by construction: no total carries a
//! suppressed atom, so no subtraction can bring one back.

pub mod atoms;
pub mod cumulative;
pub mod facts;
pub mod groups;
pub mod metrics;
pub mod query;
mod ranking;
pub mod release;
pub mod rollup;
pub mod sql;
mod trends;
pub mod windows;
pub mod write_facts;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};

use self::atoms::Sums;

pub use facts::Facts;
pub use metrics::{Cell, Prior};
pub use query::{GroupBy, ProducerRow, RankAfter, RankBy, RankKey, Scope};
pub use windows::Window;

use crate::config::Grain;
use crate::error::{AppError, Result};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;
use entities::member::Role;

/// The parts of the observatory, for access checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `producer`, `ranking`, `groups` and the export: the current picture.
    Picture,
    /// Time series.
    Series,
}

/// Analysts and admins read everything; with the public switch on, anyone
/// reads the current picture.
pub fn authorize(state: &AppState, viewer: Option<Viewer>, part: Part) -> Result<()> {
    let analyst = viewer.is_some_and(|v| matches!(v.role, Role::Analyst | Role::Admin));
    if analyst || (part == Part::Picture && state.config.observatory_public) {
        return Ok(());
    }
    match viewer {
        None => Err(AppError::Unauthenticated(
            "sign in as an analyst to read the observatory",
        )),
        Some(_) => Err(AppError::Forbidden(
            "the observatory is open to analysts and admins".into(),
        )),
    }
}

/// What a filter may name, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct FilterInput {
    pub sector: Option<String>,
    pub kind: Option<entities::producer::ProducerKind>,
    pub territory: Option<String>,
    pub value_tag: Option<String>,
    pub community: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// A default window, instead of `from` and `to`.
    pub window: Option<Window>,
}

/// A time bucket of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    /// The start of the bucket holding `date`.
    pub fn floor(self, date: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => date,
            Bucket::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Bucket::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// The start of the next bucket.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => start + Days::new(1),
            Bucket::Week => start + Days::new(7),
            Bucket::Month => start + Months::new(1),
        }
    }

    fn grain_floor(grain: Grain) -> Bucket {
        match grain {
            Grain::Day => Bucket::Day,
            Grain::Month => Bucket::Month,
        }
    }
}

/// The observatory's calendar: years 1970 to 9999, far from the limits
/// of date arithmetic.
fn check_years(field: &str, at: DateTime<Utc>) -> Result<()> {
    if (1970..=9999).contains(&at.year()) {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!("{field} must fall between the years 1970 and 9999"),
        ))
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn day_string(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A producer's trust.
#[derive(Clone, Debug)]
pub struct ProducerTrust {
    pub producer: ProducerRow,
    pub cell: Cell,
}

/// One group's trust.
#[derive(Clone, Debug)]
pub struct GroupTrust {
    pub key: String,
    pub label: String,
    pub producer_count: i64,
    pub cell: Cell,
}

/// One point of a series: the bucket `[start, end)`.
#[derive(Clone, Debug)]
pub struct TrustPoint {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub cell: Cell,
}

/// A page of a ranking: each producer with the position after it.
#[derive(Clone, Debug)]
pub struct RankPage {
    pub rows: Vec<(ProducerTrust, RankAfter)>,
    /// Producers in scope (0 when not asked for).
    pub total_count: u64,
    pub has_next: bool,
}

/// Reads the observatory of one server.
pub struct Observatory<'a> {
    state: &'a AppState,
}

impl<'a> Observatory<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self { state }
    }

    fn k(&self) -> u32 {
        self.state.config.observatory_k
    }

    fn prior(&self) -> Prior {
        Prior {
            mean: self.state.config.trust_prior_mean,
            weight: self.state.config.trust_prior_weight,
        }
    }

    fn grain(&self) -> Grain {
        self.state.config.observatory_grain
    }

    /// Whether answers come from the differentially private release.
    pub fn released(&self) -> bool {
        self.state.config.privacy.dp()
    }

    /// One answer's cell from its sums and facts: under the k-rule, each
    /// figure needs k members; from the release, every figure of a
    /// published cell shows, with its standard errors.
    fn cell(&self, sums: Option<&Sums>, facts: &Facts) -> Cell {
        if !self.released() {
            return metrics::cell(self.prior(), i64::from(self.k()), sums, facts);
        }
        let mut cell = metrics::cell(self.prior(), 0, sums, facts);
        if let (Some(sums), Some(metrics)) = (sums, cell.metrics.as_mut()) {
            let ratings: i64 = sums.ratings.iter().sum();
            let scores: i64 = sums.scores.iter().sum();
            metrics.errors = Some(release::budget::FigureErrors::of(
                &release::budget::Budget::of(&self.state.config.privacy),
                sums.atoms,
                ratings,
                scores - ratings,
                (self.prior().mean, self.prior().weight),
            ));
        }
        cell
    }

    /// Checks a filter and turns it into a scope; periods are widened to
    /// whole atoms (a range starts at the start of its first period).
    pub async fn scope(&self, filter: FilterInput) -> Result<Scope> {
        let db = &self.state.observatory_db;
        let sector = filter
            .sector
            .as_deref()
            .map(|sector| validate::slug("filter.sector", sector))
            .transpose()?;
        let territory = filter
            .territory
            .as_deref()
            .map(|territory| validate::territory("filter.territory", territory))
            .transpose()?;
        let value_tag = match filter.value_tag {
            Some(slug) => {
                let slug = slug.trim().to_owned();
                if !query::slug_exists(db, "value_tag", &slug).await? {
                    return Err(AppError::invalid(
                        "filter.valueTag",
                        format!("there is no value tag {slug:?}"),
                    ));
                }
                Some(slug)
            }
            None => None,
        };
        let community = match filter.community {
            Some(slug) => {
                let slug = slug.trim().to_owned();
                if !query::slug_exists(db, "community", &slug).await? {
                    return Err(AppError::invalid(
                        "filter.community",
                        format!("there is no community {slug:?}"),
                    ));
                }
                Some(slug)
            }
            None => None,
        };
        if let Some(from) = filter.from {
            check_years("filter.from", from)?;
        }
        if let Some(to) = filter.to {
            check_years("filter.to", to)?;
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(AppError::invalid(
                "filter.to",
                "filter.to must come after filter.from",
            ));
        }
        if filter.window.is_some() && (filter.from.is_some() || filter.to.is_some()) {
            return Err(AppError::invalid(
                "filter.window",
                "filter.window replaces filter.from and filter.to: give one or the other",
            ));
        }
        let floor = Bucket::grain_floor(self.grain());
        let today = Utc::now().date_naive();
        let mut scope = Scope {
            producer: None,
            sector,
            kind: filter.kind,
            territory,
            value_tag,
            community,
            from: filter
                .from
                .map(|from| day_string(floor.floor(from.date_naive()))),
            to: filter.to.map(|to| {
                // An atom belongs to the range when its period starts before `to`.
                let day = to.date_naive();
                if to == midnight(day) {
                    day_string(day)
                } else {
                    day_string(day + Days::new(1))
                }
            }),
            open_from: self
                .state
                .config
                .observatory_closed_periods
                .then(|| day_string(floor.floor(today))),
            after: None,
            through: None,
            ids: None,
            window: None,
            released: false,
        };
        if let Some(window) = filter.window {
            (scope.from, scope.to) = {
                let (first, end) = window.span(today);
                (Some(first), end)
            };
        }
        if self.released() {
            // Released months only, summed from their published cells.
            scope.released = true;
            scope.open_from = Some(match release::ledger::last_released(db).await? {
                Some(last) => day_string(last + Months::new(1)),
                None => "1970-01-01".to_owned(),
            });
        } else {
            scope.window = self.stored_window(&scope, today);
        }
        Ok(scope)
    }

    /// The kept window whose rows answer exactly the scope's periods, if
    /// any: its span is the scope's range, the rows are rolled to this
    /// month, and none of its periods is left open.
    fn stored_window(&self, scope: &Scope, today: NaiveDate) -> Option<Window> {
        if !self.state.windows.current(today) {
            return None;
        }
        Window::ALL.into_iter().find(|window| {
            let (first, end) = window.span(today);
            let closed = match (&scope.open_from, &end) {
                (None, _) => true,
                (Some(open), Some(end)) => end <= open,
                (Some(_), None) => false,
            };
            closed && scope.from.as_ref() == Some(&first) && scope.to == end
        })
    }

    /// The range of a scope's facts: whole periods, as its atoms. The
    /// range starts at its first period (the scope says so already) and
    /// ends with the last period starting before `to`, so a campaign
    /// published in that period after `to` counts as the period's
    /// signatures do.
    fn fact_range(&self, scope: &Scope) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let parse = |day: &Option<String>| {
            day.as_deref()
                .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        };
        let floor = Bucket::grain_floor(self.grain());
        let mut to = parse(&scope.to).map(|day| {
            let last = day - Days::new(1);
            floor.next(floor.floor(last))
        });
        if scope.released {
            // Facts of released months only, beside their figures.
            let open = parse(&scope.open_from);
            to = match (to, open) {
                (Some(to), Some(open)) => Some(to.min(open)),
                (to, open) => to.or(open),
            };
        }
        (parse(&scope.from).map(midnight), to.map(midnight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_their_first_day() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(); // a Wednesday
        assert_eq!(Bucket::Day.floor(date), date);
        assert_eq!(
            Bucket::Week.floor(date),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            Bucket::Month.floor(date),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            Bucket::Month.next(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }
}
