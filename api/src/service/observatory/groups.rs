//! Kept per-group totals: which groups each producer belongs to
//! (`obs_group_member`: its sector, its territory, and the communities and
//! value tags of the visible campaigns aimed at it) and, per group, the
//! sums of its producers' stored totals and facts, over all time
//! (`obs_group_total`) and period by period (`obs_group_period`), so that
//! the groups of the whole observatory are read one row per group, and a
//! group's series one row per period.
//!
//! Three writes keep them, each in the transaction of the change:
//! - a producer's released atoms move ([`super::rollup::apply_many`]) or
//!   its facts move ([`super::facts::refresh`]): each period's change is
//!   added to each of its groups' rows of that period and all-time rows
//!   ([`add_to_groups`]);
//! - a producer's groups change (created, a campaign published, hidden,
//!   restored or re-tagged): [`regroup`] moves its whole total and facts,
//!   and each period's, out of the groups it left and into those it joined.
//!
//! They agree under concurrency because each reads what it adds under the
//! lock of what it read from: a total moves under its row lock and its
//! groups are read after it; [`regroup`] takes the same row lock (and the
//! producer's, which [`super::facts::refresh`] takes too) before it reads
//! the total, the facts and the groups it changes. Group rows are written
//! in key order after every producer row, so writers never deadlock.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use super::atoms::{AtomRule, COUNT_COLUMNS, Scope, total_columns};
use super::facts::{self, Facts};
use super::query;
use super::sql::Sql;
use crate::error::Result;

pub use super::atoms::{DIMENSIONS, dimension_name};

/// Columns of `obs_group_total` after its key: producers, the totals'
/// columns, the facts' columns.
pub fn columns() -> Vec<String> {
    std::iter::once("producers".to_owned())
        .chain(total_columns().map(str::to_owned))
        .chain(facts::columns())
        .collect()
}

/// Columns of `obs_group_period` after its key: the totals' columns, then
/// the facts' (a group's sums over one period).
pub fn period_columns() -> Vec<String> {
    total_columns()
        .map(str::to_owned)
        .chain(facts::columns())
        .collect()
}

/// A change to a group's sums, in [`columns`]' order.
pub type Change = Vec<i64>;

/// A change to one producer's sums over one period, in [`period_columns`]'
/// order: what its groups' rows of that period, and their all-time rows,
/// add.
pub type PeriodChange = Vec<i64>;

/// A change of one atom's released sums (`total`, in [`total_columns`]'
/// order).
pub fn atom_change(total: &[i64]) -> PeriodChange {
    let mut change = total.to_vec();
    change.extend(std::iter::repeat_n(0, facts::columns().count()));
    change
}

/// A change of a period's facts.
pub fn facts_change(old: &Facts, new: &Facts) -> PeriodChange {
    let mut change = vec![0; total_columns().count()];
    change.extend(
        new.values()
            .iter()
            .zip(old.values())
            .map(|(new, old)| new - old),
    );
    change
}

/// The kept tables of groups: all time, and by period.
#[derive(Clone, Copy)]
enum StoredSums {
    Total,
    Period,
}

impl StoredSums {
    fn table(self) -> &'static str {
        match self {
            StoredSums::Total => "obs_group_total",
            StoredSums::Period => "obs_group_period",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            StoredSums::Total => &["dimension", "group_key"],
            StoredSums::Period => &["dimension", "group_key", "period_start"],
        }
    }

    fn columns(self) -> Vec<String> {
        match self {
            StoredSums::Total => columns(),
            StoredSums::Period => period_columns(),
        }
    }

    /// When a row holds nothing any more, as a rebuild would not write it:
    /// a group without producers; a group's period without a released atom,
    /// a campaign or a commitment (every other sum is part of those).
    fn empty(self) -> &'static str {
        match self {
            StoredSums::Total => "producers = 0",
            StoredSums::Period => "atoms = 0 AND campaigns = 0 AND commitments_made = 0",
        }
    }
}

/// Adds each producer's per-period changes to every group it belongs to:
/// the groups' rows of those periods and their all-time rows (the all-time
/// rows first, each table in key order).
pub async fn add_to_groups(
    conn: &impl ConnectionTrait,
    changes: &[(Uuid, String, PeriodChange)],
) -> Result<()> {
    let changes: Vec<&(Uuid, String, PeriodChange)> = changes
        .iter()
        .filter(|(_, _, change)| change.iter().any(|value| *value != 0))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let mut producers: Vec<Uuid> = changes.iter().map(|(producer, _, _)| *producer).collect();
    producers.sort();
    producers.dedup();
    let backend = conn.get_database_backend();
    let mut groups_of: BTreeMap<Uuid, Vec<(String, String)>> = BTreeMap::new();
    for chunk in producers.chunks(500) {
        let mut sql = Sql::new(backend);
        sql.push(
            "SELECT producer_id, dimension, group_key FROM obs_group_member WHERE producer_id IN (",
        );
        for (i, producer) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*producer);
        }
        sql.push(")");
        for row in conn.query_all_raw(sql.build()).await? {
            groups_of
                .entry(row.try_get_by_index(0)?)
                .or_default()
                .push((row.try_get_by_index(1)?, row.try_get_by_index(2)?));
        }
    }
    let mut totals: BTreeMap<Vec<String>, Change> = BTreeMap::new();
    let mut periods: BTreeMap<Vec<String>, PeriodChange> = BTreeMap::new();
    for (producer, period, change) in changes {
        for (dimension, key) in groups_of.get(producer).into_iter().flatten() {
            let total = totals
                .entry(vec![dimension.clone(), key.clone()])
                .or_insert_with(|| vec![0; change.len() + 1]);
            let by_period = periods
                .entry(vec![dimension.clone(), key.clone(), period.clone()])
                .or_insert_with(|| vec![0; change.len()]);
            for (i, value) in change.iter().enumerate() {
                total[i + 1] += value;
                by_period[i] += value;
            }
        }
    }
    add(conn, StoredSums::Total, totals).await?;
    add(conn, StoredSums::Period, periods).await
}

/// Adds changes to kept group rows (keys in [`Kept::keys`]' order, values
/// in its columns'), creating the rows not there yet and deleting those
/// left empty.
async fn add(
    conn: &impl ConnectionTrait,
    kept: StoredSums,
    changes: BTreeMap<Vec<String>, Vec<i64>>,
) -> Result<()> {
    let backend = conn.get_database_backend();
    let columns = kept.columns();
    let keys = kept.keys();
    let table = kept.table();
    let rows: Vec<_> = changes
        .into_iter()
        .filter(|(_, change)| change.iter().any(|value| *value != 0))
        .collect();
    let mut emptied = Vec::new();
    // Under 50 bound values a row.
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "INSERT INTO {table} ({}, {}) VALUES ",
            keys.join(", "),
            columns.join(", ")
        ));
        for (i, (key, change)) in chunk.iter().enumerate() {
            let key = key.iter().map(|part| Value::from(part.clone()));
            sql.push_row(
                i == 0,
                key.chain(change.iter().map(|value| Value::from(*value))),
            );
        }
        let updates: Vec<String> = columns
            .iter()
            .map(|column| format!("{column} = {table}.{column} + excluded.{column}"))
            .collect();
        sql.push(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {} RETURNING {}, CASE WHEN {} THEN 1 ELSE 0 END",
            keys.join(", "),
            updates.join(", "),
            keys.join(", "),
            kept.empty(),
        ));
        for row in conn.query_all_raw(sql.build()).await? {
            if row.try_get_by_index::<i32>(keys.len())? == 1 {
                let key = (0..keys.len())
                    .map(|i| row.try_get_by_index::<String>(i))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                emptied.push(key);
            }
        }
    }
    for key in emptied {
        let mut sql = Sql::new(backend);
        sql.push(&format!("DELETE FROM {table} WHERE {}", kept.empty()));
        for (column, part) in keys.iter().zip(key) {
            sql.push(&format!(" AND {column} = ")).bind(part);
        }
        conn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// The groups `producer` belongs to now, from its row and its visible
/// campaigns.
async fn groups_now(
    conn: &impl ConnectionTrait,
    producer: Uuid,
) -> Result<BTreeSet<(String, String)>> {
    let scope = Scope {
        producer: Some(producer),
        ..Scope::default()
    };
    let mut groups = BTreeSet::new();
    for by in DIMENSIONS {
        let mut sql = Sql::new(conn.get_database_backend());
        query::push_memberships(&mut sql, by, &scope);
        for row in conn.query_all_raw(sql.build()).await? {
            groups.insert((dimension_name(by).to_owned(), row.try_get_by_index(1)?));
        }
    }
    Ok(groups)
}

/// Recomputes which groups `producer` belongs to and moves its whole kept
/// total and facts, all time and period by period, out of the groups it
/// left and into those it joined; call it in the transaction of the write
/// that changed its groups, after that write (`keeping`: as the atoms are
/// kept).
/// Gives the producer a total row if it has none yet (every producer has
/// one, as a rebuild gives).
pub async fn regroup(conn: &impl ConnectionTrait, rule: AtomRule, producer: Uuid) -> Result<()> {
    let backend = conn.get_database_backend();
    facts::lock_producer(conn, producer).await?;
    // Takes the total's row lock (so no total change, nor any change of
    // its released atoms, is in flight) and reads the total as it stands.
    let totals: Vec<&str> = total_columns().collect();
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO obs_producer_total (producer_id) VALUES (")
        .bind(producer)
        .push(
            ") ON CONFLICT (producer_id) DO UPDATE SET atoms = obs_producer_total.atoms RETURNING ",
        )
        .push(&totals.join(", "));
    let total: Vec<i64> = match conn.query_one_raw(sql.build()).await? {
        Some(row) => (0..totals.len())
            .map(|i| row.try_get_by_index(i))
            .collect::<std::result::Result<_, _>>()?,
        None => vec![0; totals.len()],
    };
    let kept = facts::read(conn, producer).await?;
    let mut sql = Sql::new(backend);
    sql.push("SELECT dimension, group_key FROM obs_group_member WHERE producer_id = ")
        .bind(producer);
    let mut stored = BTreeSet::new();
    for row in conn.query_all_raw(sql.build()).await? {
        stored.insert((
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<String>(1)?,
        ));
    }
    let now = groups_now(conn, producer).await?;
    if stored == now {
        return Ok(());
    }
    let mut whole = vec![1];
    whole.extend_from_slice(&total);
    whole.extend_from_slice(&kept.values());
    let periods = producer_periods(conn, rule.k, producer).await?;
    let mut totals = BTreeMap::new();
    let mut by_period = BTreeMap::new();
    let mut move_group = |group: &(String, String), sign: i64| {
        let signed = |values: &[i64]| values.iter().map(|value| sign * value).collect();
        totals.insert(vec![group.0.clone(), group.1.clone()], signed(&whole));
        for (period, change) in &periods {
            by_period.insert(
                vec![group.0.clone(), group.1.clone(), period.clone()],
                signed(change),
            );
        }
    };
    for left in stored.difference(&now) {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_group_member WHERE dimension = ")
            .bind(left.0.clone())
            .push(" AND group_key = ")
            .bind(left.1.clone())
            .push(" AND producer_id = ")
            .bind(producer);
        conn.execute_raw(sql.build()).await?;
        move_group(left, -1);
    }
    for joined in now.difference(&stored) {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO obs_group_member (dimension, group_key, producer_id) VALUES (")
            .bind(joined.0.clone())
            .push(", ")
            .bind(joined.1.clone())
            .push(", ")
            .bind(producer)
            .push(")");
        conn.execute_raw(sql.build()).await?;
        move_group(joined, 1);
    }
    // A group its last producer left is gone (and a period of a group left
    // with nothing), as a rebuild would leave it.
    add(conn, StoredSums::Total, totals).await?;
    add(conn, StoredSums::Period, by_period).await
}

/// `producer`'s sums period by period, in [`period_columns`]' order: its
/// released atoms (k members or more) and its stored facts of each period.
async fn producer_periods(
    conn: &impl ConnectionTrait,
    k: u32,
    producer: Uuid,
) -> Result<BTreeMap<String, PeriodChange>> {
    let backend = conn.get_database_backend();
    let mut periods: BTreeMap<String, PeriodChange> = BTreeMap::new();
    let mut sql = Sql::new(backend);
    sql.push("SELECT period_start, CAST(1 AS BIGINT), members, ")
        .push(&COUNT_COLUMNS.join(", "))
        .push(" FROM obs_atom WHERE producer_id = ")
        .bind(producer)
        .push(" AND members >= ")
        .bind(i64::from(k));
    for row in conn.query_all_raw(sql.build()).await? {
        let total = (0..total_columns().count())
            .map(|i| row.try_get_by_index::<i64>(1 + i))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        periods.insert(row.try_get_by_index(0)?, atom_change(&total));
    }
    for (period, kept) in facts::read_periods(conn, producer).await? {
        let change = periods
            .entry(period)
            .or_insert_with(|| atom_change(&vec![0; total_columns().count()]));
        for (slot, value) in change
            .iter_mut()
            .skip(total_columns().count())
            .zip(kept.values())
        {
            *slot += value;
        }
    }
    Ok(periods)
}

/// Recomputes every group's members and sums, all time and by period,
/// from the producers' stored totals, released atoms (`k` members or more)
/// and facts (the rollup rebuild's last part).
pub async fn rebuild(conn: &impl ConnectionTrait, k: u32) -> Result<()> {
    let backend = conn.get_database_backend();
    for table in ["obs_group_member", "obs_group_total", "obs_group_period"] {
        conn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    for by in DIMENSIONS {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "INSERT INTO obs_group_member (dimension, group_key, producer_id) \
             SELECT '{}', m.group_key, m.producer_id FROM (",
            dimension_name(by)
        ));
        query::push_memberships(&mut sql, by, &Scope::default());
        sql.push(") m");
        conn.execute_raw(sql.build()).await?;
    }
    let sums: Vec<String> = total_columns()
        .map(|column| format!("COALESCE(SUM(t.{column}), 0)"))
        .chain(facts::columns().map(|column| format!("COALESCE(SUM(f.{column}), 0)")))
        .collect();
    conn.execute_unprepared(&format!(
        "INSERT INTO obs_group_total (dimension, group_key, {columns}) \
         SELECT m.dimension, m.group_key, COUNT(*), {sums} FROM obs_group_member m \
         LEFT JOIN obs_producer_total t ON t.producer_id = m.producer_id \
         LEFT JOIN obs_producer_fact f ON f.producer_id = m.producer_id \
         GROUP BY m.dimension, m.group_key",
        columns = columns().join(", "),
        sums = sums.join(", "),
    ))
    .await?;
    if backend == sea_orm::DbBackend::Postgres {
        // Rows written just now (by this rebuild, or a seed) have no
        // statistics yet: planned blind, the sum below sorts millions of
        // rows on disk (14 s at 10 M signatures) instead of hashing them.
        conn.execute_unprepared("ANALYZE obs_atom, obs_producer_period, obs_group_member")
            .await?;
    }
    // Each producer's released atoms and period facts, side by side, summed
    // into each of its groups' periods.
    let zeros = |n: usize| vec!["0"; n].join(", ");
    let totals = total_columns().count();
    let fact_columns: Vec<String> = facts::columns().collect();
    let period_columns = period_columns();
    let sums: Vec<String> = period_columns
        .iter()
        .map(|column| format!("SUM(x.{column})"))
        .collect();
    let named: Vec<String> = period_columns
        .iter()
        .skip(totals)
        .map(|column| format!("0 AS {column}"))
        .collect();
    conn.execute_unprepared(&format!(
        "INSERT INTO obs_group_period (dimension, group_key, period_start, {columns}) \
         SELECT m.dimension, m.group_key, x.period_start, {sums} FROM obs_group_member m JOIN ( \
           SELECT producer_id, period_start, 1 AS atoms, members, {counts}, {named} \
             FROM obs_atom WHERE members >= {k} \
           UNION ALL SELECT producer_id, period_start, {total_zeros}, {facts} \
             FROM obs_producer_period \
         ) x ON x.producer_id = m.producer_id \
         GROUP BY m.dimension, m.group_key, x.period_start",
        columns = period_columns.join(", "),
        sums = sums.join(", "),
        counts = COUNT_COLUMNS.join(", "),
        named = named.join(", "),
        total_zeros = zeros(totals),
        facts = fact_columns.join(", "),
    ))
    .await?;
    Ok(())
}
