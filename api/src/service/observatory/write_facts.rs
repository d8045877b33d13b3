//! Writing the stored facts (`obs_producer_fact`, `obs_producer_period`):
//! [`refresh`] after each write that changes a producer's side, [`rebuild`]
//! for all; their model and reads are in [`super::facts`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use super::atoms::{AtomRule, Scope};
use super::facts::{Facts, by_period, columns, lock_producer, read_periods};
use super::sql::Sql;
use super::{groups, query};
use crate::config::Grain;
use crate::error::Result;

/// Recomputes `producer`'s stored facts, all time and period by period, from
/// its campaigns and responses, and moves its groups' sums by the change;
/// call it in the transaction of the write that changed them, after it
/// (`keeping`: as the atoms are kept).
pub async fn refresh(conn: &impl ConnectionTrait, rule: AtomRule, producer: Uuid) -> Result<()> {
    lock_producer(conn, producer).await?;
    let scope = Scope {
        producer: Some(producer),
        ..Scope::default()
    };
    let campaigns = query::campaigns(conn, &scope, None, None).await?;
    let commitments = query::commitments(conn, &scope, None, None).await?;
    let periods = by_period(rule.grain, &campaigns, &commitments, Utc::now());
    let stored = read_periods(conn, producer).await?;
    let mut changed = Vec::new();
    let mut gone = Vec::new();
    let mut group_changes = Vec::new();
    for period in stored.keys().chain(periods.keys()).collect::<BTreeSet<_>>() {
        let old = stored.get(period).copied().unwrap_or_default();
        let new = periods.get(period).copied().unwrap_or_default();
        if old == new {
            continue;
        }
        match new == Facts::default() {
            true => gone.push(period.clone()),
            false => changed.push((producer, period.clone(), new)),
        }
        group_changes.push((producer, period.clone(), groups::facts_change(&old, &new)));
    }
    if group_changes.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    if !gone.is_empty() {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_producer_period WHERE producer_id = ")
            .bind(producer)
            .push(" AND period_start IN (");
        for (i, period) in gone.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(period);
        }
        sql.push(")");
        conn.execute_raw(sql.build()).await?;
    }
    for chunk in changed.chunks(PERIOD_ROWS_PER_STATEMENT) {
        write_periods(conn, chunk, true).await?;
    }
    let mut facts = Facts::default();
    for period in periods.values() {
        facts.add(period);
    }
    if facts == Facts::default() {
        // No row for a producer without facts, as a rebuild leaves it.
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_producer_fact WHERE producer_id = ")
            .bind(producer);
        conn.execute_raw(sql.build()).await?;
    } else {
        write(conn, &[(producer, facts)], true).await?;
    }
    groups::add_to_groups(conn, &group_changes).await?;
    super::windows::add(conn, &group_changes).await
}

/// Recomputes every producer's stored facts, all time and by period (the
/// rollup rebuild's part).
pub async fn rebuild(conn: &impl ConnectionTrait, grain: Grain) -> Result<u64> {
    conn.execute_unprepared("DELETE FROM obs_producer_fact")
        .await?;
    conn.execute_unprepared("DELETE FROM obs_producer_period")
        .await?;
    let scope = Scope::default();
    let campaigns = query::campaigns(conn, &scope, None, None).await?;
    let commitments = query::commitments(conn, &scope, None, None).await?;
    let now = Utc::now();
    let mut by_producer: BTreeMap<Uuid, (Vec<_>, Vec<_>)> = Default::default();
    for fact in &campaigns {
        by_producer.entry(fact.producer).or_default().0.push(fact);
    }
    for fact in &commitments {
        by_producer.entry(fact.producer).or_default().1.push(fact);
    }
    let mut rows: Vec<(Uuid, Facts)> = Vec::with_capacity(by_producer.len());
    let mut period_rows: Vec<(Uuid, String, Facts)> = Vec::new();
    for (producer, (campaigns, commitments)) in by_producer {
        let mut total = Facts::default();
        for (period, facts) in by_period(grain, campaigns, commitments, now) {
            total.add(&facts);
            period_rows.push((producer, period, facts));
        }
        if total != Facts::default() {
            rows.push((producer, total));
        }
    }
    // 27 parameters a row: well under either engine's limit per statement.
    for chunk in rows.chunks(500) {
        write(conn, chunk, false).await?;
    }
    for chunk in period_rows.chunks(PERIOD_ROWS_PER_STATEMENT) {
        write_periods(conn, chunk, false).await?;
    }
    Ok(rows.len() as u64)
}

/// Period rows one statement writes (28 bound values each).
const PERIOD_ROWS_PER_STATEMENT: usize = 500;

/// Writes rows of facts, all time (replacing the producers' rows when
/// `replace`).
async fn write(conn: &impl ConnectionTrait, rows: &[(Uuid, Facts)], replace: bool) -> Result<()> {
    let rows: Vec<_> = rows
        .iter()
        .map(|(producer, facts)| (vec![Value::from(*producer)], facts))
        .collect();
    write_rows(conn, "obs_producer_fact", &["producer_id"], &rows, replace).await
}

/// Writes rows of period facts (replacing the rows there when `replace`).
async fn write_periods(
    conn: &impl ConnectionTrait,
    rows: &[(Uuid, String, Facts)],
    replace: bool,
) -> Result<()> {
    let rows: Vec<_> = rows
        .iter()
        .map(|(producer, period, facts)| {
            (
                vec![Value::from(*producer), Value::from(period.clone())],
                facts,
            )
        })
        .collect();
    let keys = ["producer_id", "period_start"];
    write_rows(conn, "obs_producer_period", &keys, &rows, replace).await
}

/// Writes rows of facts into `table`, each after its `keys`' values.
async fn write_rows(
    conn: &impl ConnectionTrait,
    table: &str,
    keys: &[&str],
    rows: &[(Vec<Value>, &Facts)],
    replace: bool,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> = columns().collect();
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(&format!(
        "INSERT INTO {table} ({}, {}) VALUES ",
        keys.join(", "),
        columns.join(", ")
    ));
    for (i, (key, facts)) in rows.iter().enumerate() {
        let values = facts.values().map(Value::from);
        sql.push_row(i == 0, key.iter().cloned().chain(values));
    }
    if replace {
        let updates: Vec<String> = columns
            .iter()
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        sql.push(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            keys.join(", "),
            updates.join(", ")
        ));
    }
    conn.execute_raw(sql.build()).await?;
    Ok(())
}
