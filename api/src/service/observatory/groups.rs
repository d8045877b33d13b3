//! Kept per-group totals: which groups each producer belongs to
//! (`obs_group_member`: its sector, its territory, and the communities and
//! value tags of the visible campaigns aimed at it) and, per group, the
//! sums of its producers' kept totals and facts (`obs_group_total`), so
//! that the groups of the whole observatory are read one row per group.
//!
//! Three writes keep them, each in the transaction of the change:
//! - a producer's total moves (released atoms, [`super::rollup::apply_many`])
//!   or its facts move ([`super::facts::refresh`]): the change is added to
//!   each of its groups ([`add_to_groups`]);
//! - a producer's groups change (created, a campaign published, hidden,
//!   restored or re-tagged): [`regroup`] moves its whole total and facts out
//!   of the groups it left and into those it joined.
//!
//! They agree under concurrency because each reads what it adds under the
//! lock of what it read from: a total moves under its row lock and its
//! groups are read after it; [`regroup`] takes the same row lock (and the
//! producer's, which [`super::facts::refresh`] takes too) before it reads
//! the total, the facts and the groups it changes. Group rows are written
//! in key order after every producer row, so writers never deadlock.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::facts::{self, Facts};
use super::query::{self, GroupBy, Scope};
use super::rollup::total_columns;
use super::sql::Sql;
use crate::error::Result;

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

/// Columns of `obs_group_total` after its key: producers, the totals'
/// columns, the facts' columns.
pub fn columns() -> Vec<String> {
    std::iter::once("producers".to_owned())
        .chain(total_columns().map(str::to_owned))
        .chain(facts::columns())
        .collect()
}

/// A change to one or more groups' sums, in [`columns`]' order.
pub type Change = Vec<i64>;

/// A change of only a producer total's columns (`total`, in
/// [`total_columns`]' order).
pub fn total_change(total: &[i64]) -> Change {
    let mut change = vec![0; 1];
    change.extend_from_slice(total);
    change.extend(std::iter::repeat_n(0, facts::columns().count()));
    change
}

/// A change of only the facts' columns.
pub fn facts_change(old: &Facts, new: &Facts) -> Change {
    let mut change = vec![0; 1 + total_columns().count()];
    change.extend(
        new.values()
            .iter()
            .zip(old.values())
            .map(|(new, old)| new - old),
    );
    change
}

/// Adds each producer's change to every group it belongs to (the rows of
/// the groups whose sums move, in key order).
pub async fn add_to_groups(conn: &impl ConnectionTrait, changes: &[(Uuid, Change)]) -> Result<()> {
    let changes: Vec<&(Uuid, Change)> = changes
        .iter()
        .filter(|(_, change)| change.iter().any(|value| *value != 0))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let mut by_group: BTreeMap<(String, String), Change> = BTreeMap::new();
    for chunk in changes.chunks(500) {
        let mut sql = Sql::new(backend);
        sql.push(
            "SELECT producer_id, dimension, group_key FROM obs_group_member WHERE producer_id IN (",
        );
        for (i, (producer, _)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*producer);
        }
        sql.push(")");
        let change_of: BTreeMap<Uuid, &Change> = chunk
            .iter()
            .map(|(producer, change)| (*producer, change))
            .collect();
        for row in conn.query_all_raw(sql.build()).await? {
            let producer: Uuid = row.try_get_by_index(0)?;
            let Some(change) = change_of.get(&producer) else {
                continue;
            };
            let sum = by_group
                .entry((row.try_get_by_index(1)?, row.try_get_by_index(2)?))
                .or_insert_with(|| vec![0; change.len()]);
            for (slot, value) in sum.iter_mut().zip(change.iter()) {
                *slot += value;
            }
        }
    }
    add(conn, by_group).await
}

/// Adds changes to groups' rows, creating the rows not there yet.
async fn add(
    conn: &impl ConnectionTrait,
    changes: BTreeMap<(String, String), Change>,
) -> Result<()> {
    let columns = columns();
    let rows: Vec<_> = changes
        .into_iter()
        .filter(|(_, change)| change.iter().any(|value| *value != 0))
        .collect();
    // 46 bound values a row.
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("INSERT INTO obs_group_total (dimension, group_key, ")
            .push(&columns.join(", "))
            .push(") VALUES ");
        for (i, ((dimension, key), change)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(dimension.clone())
                .push(", ")
                .bind(key.clone());
            for value in change {
                sql.push(", ").bind(*value);
            }
            sql.push(")");
        }
        let updates: Vec<String> = columns
            .iter()
            .map(|column| format!("{column} = obs_group_total.{column} + excluded.{column}"))
            .collect();
        sql.push(" ON CONFLICT (dimension, group_key) DO UPDATE SET ")
            .push(&updates.join(", "));
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
/// total and facts out of the groups it left and into those it joined;
/// call it in the transaction of the write that changed its groups, after
/// that write. Gives the producer a total row if it has none yet (every
/// producer has one, as a rebuild gives).
pub async fn regroup(conn: &impl ConnectionTrait, producer: Uuid) -> Result<()> {
    let backend = conn.get_database_backend();
    facts::lock_producer(conn, producer).await?;
    // Takes the total's row lock (so no total change is in flight) and
    // reads the total as it stands.
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
    let mut changes = BTreeMap::new();
    for left in stored.difference(&now) {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_group_member WHERE dimension = ")
            .bind(left.0.clone())
            .push(" AND group_key = ")
            .bind(left.1.clone())
            .push(" AND producer_id = ")
            .bind(producer);
        conn.execute_raw(sql.build()).await?;
        changes.insert(left.clone(), whole.iter().map(|value| -value).collect());
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
        changes.insert(joined.clone(), whole.clone());
    }
    let left: Vec<(String, String)> = stored.difference(&now).cloned().collect();
    add(conn, changes).await?;
    // A group its last producer left is gone, as a rebuild would leave it.
    for (dimension, key) in left {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_group_total WHERE dimension = ")
            .bind(dimension)
            .push(" AND group_key = ")
            .bind(key)
            .push(" AND producers = 0");
        conn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Recomputes every group's members and sums from the producers' kept
/// totals and facts (the rollup rebuild's last part).
pub async fn rebuild(conn: &impl ConnectionTrait) -> Result<()> {
    let backend = conn.get_database_backend();
    conn.execute_unprepared("DELETE FROM obs_group_member")
        .await?;
    conn.execute_unprepared("DELETE FROM obs_group_total")
        .await?;
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
    Ok(())
}
