//! Trust by group (sector, territory, kind, community, value) and over
//! time (series by bucket).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{
    Bucket, Facts, GroupBy, GroupTrust, Observatory, Scope, TrustPoint, check_years, day_string,
    facts, midnight, query,
};
use crate::config::Grain;
use crate::error::{AppError, Result};

impl Observatory<'_> {
    /// The groups of producers in scope, by `by`, largest first.
    pub async fn groups(&self, by: GroupBy, scope: &Scope) -> Result<Vec<GroupTrust>> {
        let db = &self.state.observatory_db;
        let all_time = scope.from.is_none() && scope.to.is_none() && scope.open_from.is_none();
        // (Never in the release: `StoredSums::of` answers none.)
        let unfiltered = query::StoredSums::of(scope) == Some(query::StoredSums::All);
        let stored_producers = all_time || scope.window.is_some();
        let mut out: Vec<GroupTrust> = if unfiltered || stored_producers {
            // Every group's kept row, or its period rows over a range;
            // all time or over a window, for a filtered set of producers,
            // summed in the database from their stored rows.
            let groups = match (unfiltered, all_time) {
                (true, true) => query::stored_groups(db, by).await?,
                (true, false) => query::stored_groups_over(db, by, scope).await?,
                (false, _) => query::group_totals(db, by, scope).await?,
            };
            groups
                .into_iter()
                .map(|group| GroupTrust {
                    cell: self.cell(Some(&group.sums), &group.facts),
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
                        cell: self.cell(Some(&total), &total_facts),
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
        if self.released() && bucket != Bucket::Month {
            return Err(AppError::invalid(
                "bucket",
                "the observatory's release is by month: series take MONTH buckets",
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
                cell: self.cell(Some(&sums[i]), &facts[i]),
            })
            .collect())
    }

    /// Released sums and facts per period over the scope's range: from the
    /// stored period sums when one producer, one group or everyone is asked
    /// for; otherwise counted from the range's atoms, campaigns and
    /// commitments.
    async fn periods(&self, scope: &Scope) -> Result<Vec<(String, query::Sums, Facts)>> {
        let db = &self.state.observatory_db;
        if let Some(kept) = query::StoredSums::of(scope) {
            return query::stored_periods(db, self.k(), &kept, scope).await;
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
