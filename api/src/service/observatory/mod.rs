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
pub mod facts;
pub mod groups;
pub mod keep_facts;
pub mod metrics;
pub mod query;
pub mod rollup;
pub mod sql;
pub mod windows;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

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
        };
        if let Some(window) = filter.window {
            (scope.from, scope.to) = {
                let (first, end) = window.span(today);
                (Some(first), end)
            };
        }
        scope.window = self.kept_window(&scope, today);
        Ok(scope)
    }

    /// The kept window whose rows answer exactly the scope's periods, if
    /// any: its span is the scope's range, the rows are rolled to this
    /// month, and none of its periods is left open.
    fn kept_window(&self, scope: &Scope, today: NaiveDate) -> Option<Window> {
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
        let to = parse(&scope.to).map(|day| {
            let last = day - Days::new(1);
            floor.next(floor.floor(last))
        });
        (parse(&scope.from).map(midnight), to.map(midnight))
    }

    /// The cells of every producer in scope, in producer id order.
    async fn producer_cells(&self, scope: &Scope) -> Result<Vec<ProducerTrust>> {
        let producers = query::producers(&self.state.observatory_db, scope, None).await?;
        self.cells_of(scope, producers).await
    }

    /// The next `limit` producers after `after` (by id) with their cells:
    /// the export reads the whole ranking this way, a chunk at a time.
    pub async fn producer_chunk(
        &self,
        scope: &Scope,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ProducerTrust>> {
        let mut scope = scope.clone();
        scope.after = after;
        let producers = query::producers(&self.state.observatory_db, &scope, Some(limit)).await?;
        let Some(last) = producers.last() else {
            return Ok(Vec::new());
        };
        scope.through = Some(last.id);
        self.cells_of(&scope, producers).await
    }

    async fn cells_of(
        &self,
        scope: &Scope,
        producers: Vec<ProducerRow>,
    ) -> Result<Vec<ProducerTrust>> {
        let db = &self.state.observatory_db;
        let (sums, facts) = tokio::try_join!(
            query::sums_by_producer(db, self.k(), scope),
            self.facts_by_producer(scope),
        )?;
        Ok(producers
            .into_iter()
            .map(|producer| {
                let facts = facts.get(&producer.id).copied().unwrap_or_default();
                let cell = metrics::cell(
                    self.prior(),
                    i64::from(self.k()),
                    sums.get(&producer.id),
                    &facts,
                );
                ProducerTrust { producer, cell }
            })
            .collect())
    }

    /// The facts of each producer in scope: kept, over all time or a kept
    /// window; counted from the campaigns and commitments of any other
    /// `from`/`to` range.
    async fn facts_by_producer(&self, scope: &Scope) -> Result<HashMap<Uuid, Facts>> {
        let db = &self.state.observatory_db;
        if (scope.from.is_none() && scope.to.is_none()) || scope.window.is_some() {
            return query::kept_facts_by_producer(db, scope).await;
        }
        let (from, to) = self.fact_range(scope);
        let (campaigns, commitments) = tokio::try_join!(
            query::campaigns(db, scope, from, to),
            query::commitments(db, scope, from, to),
        )?;
        let campaigns = by_producer(campaigns, |fact| fact.producer);
        let mut commitments = by_producer(commitments, |fact| fact.producer);
        let now = Utc::now();
        let mut out: HashMap<Uuid, Facts> = campaigns
            .iter()
            .map(|(producer, campaigns)| {
                let made = commitments.remove(producer).unwrap_or_default();
                (*producer, Facts::tally(campaigns, &made, now))
            })
            .collect();
        for (producer, made) in commitments {
            out.insert(producer, Facts::tally([], &made, now));
        }
        Ok(out)
    }

    /// One producer's trust, or `None` when there is no such producer.
    pub async fn producer(&self, id: Uuid, mut scope: Scope) -> Result<Option<ProducerTrust>> {
        scope.producer = Some(id);
        Ok(self.producer_cells(&scope).await?.into_iter().next())
    }

    /// Producers in scope, best first. Suppressed producers come last.
    pub async fn ranking(&self, scope: &Scope, by: RankBy) -> Result<Vec<ProducerTrust>> {
        let mut cells = self.producer_cells(scope).await?;
        let key = |trust: &ProducerTrust| -> Option<f64> {
            let metrics = trust.cell.metrics.as_ref()?;
            match by {
                RankBy::TrustIndex => metrics.trust_index,
                RankBy::Signatures => Some(metrics.signatures as f64),
                RankBy::ResponseRate => metrics.responses.response_rate,
            }
        };
        cells.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x).then(a.producer.id.cmp(&b.producer.id)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.producer.id.cmp(&b.producer.id),
        });
        Ok(cells)
    }

    /// Whether the database ranks this ranking page by page: by trust index
    /// or signatures, which the sums alone decide (through the kept totals'
    /// indexes over all time or a kept window, from the range's atoms
    /// otherwise). By response rate, [`Observatory::ranking`] ranks in full.
    pub fn ranks_by_page(by: RankBy) -> bool {
        by != RankBy::ResponseRate
    }

    /// A page of the ranking, in [`Observatory::ranking`]'s order, where
    /// [`Observatory::ranks_by_page`] says so. Over a range that is not a
    /// kept window, the page's facts are counted for its producers alone.
    pub async fn ranking_page(
        &self,
        scope: &Scope,
        by: RankBy,
        after: Option<RankAfter>,
        first: usize,
        with_count: bool,
    ) -> Result<RankPage> {
        let db = &self.state.observatory_db;
        let count = async {
            match with_count {
                true => query::count_producers(db, scope).await,
                false => Ok(0),
            }
        };
        let (total_count, mut ranked) = tokio::try_join!(
            count,
            query::ranked_producers(
                db,
                self.k(),
                scope,
                by,
                self.prior(),
                after,
                first as u64 + 1
            ),
        )?;
        let has_next = ranked.len() > first;
        ranked.truncate(first);
        if query::ranged(scope) {
            let page = Scope {
                ids: Some(ranked.iter().map(|row| row.producer.id).collect()),
                ..scope.clone()
            };
            let facts = self.facts_by_producer(&page).await?;
            for row in &mut ranked {
                row.facts = facts.get(&row.producer.id).copied().unwrap_or_default();
            }
        }
        let rows = ranked
            .into_iter()
            .map(|row| {
                let cell = metrics::cell(
                    self.prior(),
                    i64::from(self.k()),
                    row.sums.as_ref(),
                    &row.facts,
                );
                let trust = ProducerTrust {
                    producer: row.producer,
                    cell,
                };
                (trust, row.after)
            })
            .collect();
        Ok(RankPage {
            rows,
            total_count,
            has_next,
        })
    }

    /// The groups of producers in scope, by `by`, largest first.
    pub async fn groups(&self, by: GroupBy, scope: &Scope) -> Result<Vec<GroupTrust>> {
        let db = &self.state.observatory_db;
        let all_time = scope.from.is_none() && scope.to.is_none() && scope.open_from.is_none();
        let unfiltered = query::Kept::of(scope) == Some(query::Kept::All);
        let kept_producers = all_time || scope.window.is_some();
        let mut out: Vec<GroupTrust> = if unfiltered || kept_producers {
            // Every group's kept row, or its period rows over a range;
            // all time or over a window, for a filtered set of producers,
            // summed in the database from their kept rows.
            let groups = match (unfiltered, all_time) {
                (true, true) => query::kept_groups(db, by).await?,
                (true, false) => query::kept_groups_over(db, by, scope).await?,
                (false, _) => query::group_totals(db, by, scope).await?,
            };
            groups
                .into_iter()
                .map(|group| GroupTrust {
                    cell: metrics::cell(
                        self.prior(),
                        i64::from(self.k()),
                        Some(&group.sums),
                        &group.facts,
                    ),
                    key: group.key,
                    label: group.label,
                    producer_count: group.producers,
                })
                .collect()
        } else {
            let (memberships, sums, facts) = tokio::try_join!(
                query::memberships(db, by, scope),
                query::sums_by_producer(db, self.k(), scope),
                self.facts_by_producer(scope),
            )?;
            let mut groups: HashMap<String, (String, Vec<Uuid>)> = HashMap::new();
            for (producer, key, label) in memberships {
                groups
                    .entry(key)
                    .or_insert_with(|| (label, Vec::new()))
                    .1
                    .push(producer);
            }
            groups
                .into_iter()
                .map(|(key, (label, producers))| {
                    let mut total = query::Sums::default();
                    let mut total_facts = Facts::default();
                    for producer in &producers {
                        if let Some(sums) = sums.get(producer) {
                            total.add(sums);
                        }
                        if let Some(facts) = facts.get(producer) {
                            total_facts.add(facts);
                        }
                    }
                    GroupTrust {
                        key,
                        label,
                        producer_count: producers.len() as i64,
                        cell: metrics::cell(
                            self.prior(),
                            i64::from(self.k()),
                            Some(&total),
                            &total_facts,
                        ),
                    }
                })
                .collect()
        };
        out.sort_by(|a, b| {
            b.cell
                .member_count
                .unwrap_or(-1)
                .cmp(&a.cell.member_count.unwrap_or(-1))
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(out)
    }

    /// Trust over `[from, to)` in buckets, for the producers in scope.
    pub async fn series(
        &self,
        scope: &Scope,
        bucket: Bucket,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TrustPoint>> {
        if matches!(
            (self.grain(), bucket),
            (Grain::Month, Bucket::Day | Bucket::Week)
        ) {
            return Err(AppError::invalid(
                "bucket",
                "the observatory is kept by month: DAY and WEEK buckets need CONSUMACT_OBSERVATORY_GRAIN=day",
            ));
        }
        if from >= to {
            return Err(AppError::invalid("to", "to must come after from"));
        }
        check_years("from", from)?;
        check_years("to", to)?;
        let max = self.state.config.observatory_max_points;
        let mut starts = vec![bucket.floor(from.date_naive())];
        loop {
            let next = bucket.next(*starts.last().unwrap_or(&from.date_naive()));
            if midnight(next) >= to {
                starts.push(next);
                break;
            }
            if starts.len() >= max {
                return Err(AppError::invalid(
                    "to",
                    format!(
                        "a series has at most {max} points; use a wider bucket or a shorter range"
                    ),
                ));
            }
            starts.push(next);
        }
        let first = starts[0];
        let end = *starts.last().unwrap_or(&first);
        let mut scope = scope.clone();
        scope.from = Some(day_string(first));
        scope.to = Some(day_string(end));
        scope.window = None;
        let periods = self.periods(&scope).await?;
        let index_of = |date: NaiveDate| {
            starts
                .partition_point(|start| *start <= date)
                .saturating_sub(1)
        };
        // A bucket is whole periods (the grain divides it): each period's
        // sums and facts fall into the bucket holding its first day.
        let buckets = starts.len() - 1;
        let mut sums = vec![query::Sums::default(); buckets];
        let mut facts = vec![Facts::default(); buckets];
        for (period, period_sums, period_facts) in &periods {
            if let Ok(date) = NaiveDate::parse_from_str(period, "%Y-%m-%d") {
                let i = index_of(date).min(buckets - 1);
                sums[i].add(period_sums);
                facts[i].add(period_facts);
            }
        }
        Ok((0..buckets)
            .map(|i| TrustPoint {
                start: midnight(starts[i]),
                end: midnight(starts[i + 1]),
                cell: metrics::cell(self.prior(), i64::from(self.k()), Some(&sums[i]), &facts[i]),
            })
            .collect())
    }

    /// Released sums and facts per period over the scope's range: from the
    /// kept period sums when one producer, one group or everyone is asked
    /// for; otherwise counted from the range's atoms, campaigns and
    /// commitments.
    async fn periods(&self, scope: &Scope) -> Result<Vec<(String, query::Sums, Facts)>> {
        let db = &self.state.observatory_db;
        if let Some(kept) = query::Kept::of(scope) {
            return query::kept_periods(db, self.k(), &kept, scope).await;
        }
        let (from, to) = self.fact_range(scope);
        let (sums, campaigns, commitments) = tokio::try_join!(
            query::sums_by_period(db, self.k(), scope),
            query::campaigns(db, scope, from, to),
            query::commitments(db, scope, from, to),
        )?;
        let mut facts = facts::by_period(self.grain(), &campaigns, &commitments, Utc::now());
        let mut periods: Vec<(String, query::Sums, Facts)> = sums
            .into_iter()
            .map(|(period, sums)| {
                let facts = facts.remove(&period).unwrap_or_default();
                (period, sums, facts)
            })
            .collect();
        periods.extend(
            facts
                .into_iter()
                .map(|(period, facts)| (period, query::Sums::default(), facts)),
        );
        Ok(periods)
    }
}

fn by_producer<T>(facts: Vec<T>, producer: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for fact in facts {
        map.entry(producer(&fact)).or_default().push(fact);
    }
    map
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
