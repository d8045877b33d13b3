//! Each producer's cumulative sums of released atoms, period by period, so
//! that a ranking, a producer or an export over any `from`/`to` reads two
//! rows per producer (the sums up to the range's end less those up to its
//! start) instead of summing the range's atoms.
//!
//! `obs_cumulative_period` lists the *active* periods: those holding at
//! least one released atom (k members or more), of any producer.
//! `obs_producer_cumulative` holds, for each active period `q` and each
//! producer with a released atom at or before `q`, the sums of that
//! producer's released atoms of the periods up to and including `q`
//! (columns as the producer totals'). So a producer's rows are every
//! active period from its first released atom on, and a missing row means
//! zero. Between two active periods nobody's sums move, so the sums of the
//! atoms before a date are the row of the last active period before it.
//!
//! The fold keeps both tables with the atoms ([`add`], in the fold's
//! transaction, with the same changes as the totals: an atom crossing k
//! enters or leaves whole), and a rebuild recomputes them from the atoms
//! ([`rebuild`]); both give the same rows, so a test can compare them.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use super::atoms::{Scope, TOTAL_COLUMNS, total_columns};
use super::sql::Sql;
use crate::error::Result;

/// An atom's change of its producer's released sums, in
/// [`total_columns`]' order (`atoms` first).
pub type Change = [i64; TOTAL_COLUMNS];

/// Rows one statement writes (18 bound values each).
const ROWS_PER_STATEMENT: usize = 400;

/// Adds each atom's change (producer, period, change of released sums) to
/// its producer's rows of every active period from the atom's on, in the
/// caller's transaction (the fold's). A period that gains its first
/// released atom becomes active, its rows carried forward from the active
/// period before it; one left without a released atom (atoms are already
/// written) stops being active, and its rows go; rows falling to no
/// released atom go too, so the rows stay what [`rebuild`] gives.
pub async fn add(
    conn: &impl ConnectionTrait,
    k: u32,
    changes: &[(Uuid, String, Change)],
) -> Result<()> {
    let changes: Vec<&(Uuid, String, Change)> = changes
        .iter()
        .filter(|(_, _, change)| change.iter().any(|value| *value != 0))
        .collect();
    let Some(first) = changes.iter().map(|(_, period, _)| period).min() else {
        return Ok(());
    };
    let mut active = active_from(conn, first).await?;
    // Periods to check afterwards: those a released atom left, and those
    // made active here (by a change that, in a consistent state, releases
    // an atom).
    let mut check: BTreeSet<String> = BTreeSet::new();
    let periods: BTreeSet<&String> = changes.iter().map(|(_, period, _)| period).collect();
    for period in periods {
        if !active.contains(period) {
            activate(conn, period).await?;
            active.insert(period.clone());
            check.insert(period.clone());
        }
    }
    let mut rows: BTreeMap<(&str, Uuid), Change> = BTreeMap::new();
    for (producer, period, change) in &changes {
        if change[0] < 0 {
            check.insert(period.clone());
        }
        for later in active.range(period.clone()..) {
            let row = rows
                .entry((later.as_str(), *producer))
                .or_insert([0; TOTAL_COLUMNS]);
            for (sum, part) in row.iter_mut().zip(change) {
                *sum += part;
            }
        }
    }
    let rows: Vec<_> = rows.into_iter().collect();
    let mut emptied = Vec::new();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        emptied.extend(upsert(conn, chunk).await?);
    }
    for chunk in emptied.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("DELETE FROM obs_producer_cumulative WHERE atoms <= 0 AND (period_start, producer_id) IN (VALUES ");
        for (i, (period, producer)) in chunk.iter().enumerate() {
            sql.push_row(
                i == 0,
                [Value::from(period.clone()), Value::from(*producer)],
            );
        }
        sql.push(")");
        conn.execute_raw(sql.build()).await?;
    }
    for period in check {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("SELECT 1 FROM obs_atom WHERE period_start = ")
            .bind(period.clone())
            .push(" AND members >= ")
            .bind(i64::from(k))
            .push(" LIMIT 1");
        if conn.query_one_raw(sql.build()).await?.is_none() {
            for table in ["obs_producer_cumulative", "obs_cumulative_period"] {
                let mut sql = Sql::new(conn.get_database_backend());
                sql.push(&format!("DELETE FROM {table} WHERE period_start = "))
                    .bind(period.clone());
                conn.execute_raw(sql.build()).await?;
            }
        }
    }
    Ok(())
}

/// The active periods from `first` on.
async fn active_from(conn: &impl ConnectionTrait, first: &str) -> Result<BTreeSet<String>> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT period_start FROM obs_cumulative_period WHERE period_start >= ")
        .bind(first.to_owned());
    conn.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| Ok(row.try_get_by_index(0)?))
        .collect()
}

/// Makes `period` active: every producer's sums there are, until changes
/// are added, those of the active period before it.
async fn activate(conn: &impl ConnectionTrait, period: &str) -> Result<()> {
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO obs_cumulative_period (period_start) VALUES (")
        .bind(period.to_owned())
        .push(")");
    conn.execute_raw(sql.build()).await?;
    let columns = total_columns().collect::<Vec<_>>().join(", ");
    let mut sql = Sql::new(backend);
    sql.push(&format!(
        "INSERT INTO obs_producer_cumulative (period_start, producer_id, {columns}) SELECT "
    ))
    .bind(period.to_owned())
    .push(&format!(
        ", producer_id, {columns} FROM obs_producer_cumulative WHERE period_start = \
         (SELECT MAX(period_start) FROM obs_cumulative_period WHERE period_start < "
    ))
    .bind(period.to_owned())
    .push(")");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// Adds the rows' changes, creating the rows not there yet; returns the
/// rows left without a released atom.
async fn upsert(
    conn: &impl ConnectionTrait,
    rows: &[((&str, Uuid), Change)],
) -> Result<Vec<(String, Uuid)>> {
    let columns: Vec<&str> = total_columns().collect();
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(&format!(
        "INSERT INTO obs_producer_cumulative (period_start, producer_id, {}) VALUES ",
        columns.join(", ")
    ));
    for (i, ((period, producer), change)) in rows.iter().enumerate() {
        let key = [Value::from((*period).to_owned()), Value::from(*producer)];
        sql.push_row(
            i == 0,
            key.into_iter()
                .chain(change.iter().map(|value| Value::from(*value))),
        );
    }
    let updates: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} = obs_producer_cumulative.{column} + excluded.{column}"))
        .collect();
    sql.push(&format!(
        " ON CONFLICT (period_start, producer_id) DO UPDATE SET {} \
         RETURNING period_start, producer_id, atoms",
        updates.join(", ")
    ));
    let mut emptied = Vec::new();
    for row in conn.query_all_raw(sql.build()).await? {
        if row.try_get_by_index::<i64>(2)? <= 0 {
            emptied.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
        }
    }
    Ok(emptied)
}

/// Runs a statement that reads a range's rows. On PostgreSQL it runs
/// without parallel workers: a range reads at most two periods' rows (up to
/// 40 000 at 20 000 producers), which one process orders in milliseconds,
/// while starting workers on a busy machine costs more than they save (a
/// ranking over a custom range at 10 M signatures: 50 ms with them, 32 ms
/// without).
pub async fn read(db: &DatabaseConnection, statement: Statement) -> Result<Vec<QueryResult>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(db.query_all_raw(statement).await?);
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL max_parallel_workers_per_gather = 0")
        .await?;
    let rows = txn.query_all_raw(statement).await?;
    txn.commit().await?;
    Ok(rows)
}

/// Recomputes both tables from the atoms (released at `k` members), in the
/// caller's transaction (a rebuild's): the rows [`add`] keeps. They are
/// written period by period, so that a period's rows, which a range reads
/// together, sit together on disk (twice as fast to read at 10 M
/// signatures as in the producers' order).
pub async fn rebuild(conn: &impl ConnectionTrait, k: u32) -> Result<()> {
    // Emptied at once on PostgreSQL (the rebuild holds the table): deleted
    // rows would double the table until a vacuum, and a range's read with it.
    conn.execute_unprepared(match conn.get_database_backend() {
        DbBackend::Postgres => "TRUNCATE obs_producer_cumulative",
        _ => "DELETE FROM obs_producer_cumulative",
    })
    .await?;
    conn.execute_unprepared("DELETE FROM obs_cumulative_period")
        .await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO obs_cumulative_period (period_start) \
         SELECT DISTINCT period_start FROM obs_atom WHERE members >= {k}"
    ))
    .await?;
    let columns: Vec<&str> = total_columns().collect();
    let running: Vec<String> = columns
        .iter()
        .map(|column| {
            let value = match *column {
                "atoms" => "CASE WHEN a.producer_id IS NULL THEN 0 ELSE 1 END".to_owned(),
                _ => format!("COALESCE(a.{column}, 0)"),
            };
            format!("CAST(SUM({value}) OVER running AS BIGINT)")
        })
        .collect();
    conn.execute_unprepared(&format!(
        "INSERT INTO obs_producer_cumulative (period_start, producer_id, {columns}) \
         SELECT q.period_start, f.producer_id, {running} \
         FROM (SELECT producer_id, MIN(period_start) AS first_period FROM obs_atom \
               WHERE members >= {k} GROUP BY producer_id) f \
         JOIN obs_cumulative_period q ON q.period_start >= f.first_period \
         LEFT JOIN obs_atom a ON a.producer_id = f.producer_id \
           AND a.period_start = q.period_start AND a.members >= {k} \
         WINDOW running AS (PARTITION BY f.producer_id ORDER BY q.period_start) \
         ORDER BY q.period_start, f.producer_id",
        columns = columns.join(", "),
        running = running.join(", "),
    ))
    .await?;
    Ok(())
}

/// Which rows give a scope's range: the last active period before its end
/// (`to`, or the first open period when only closed ones count) and, with a
/// `from`, the last before its start. Each producer's sums over the range
/// are its row of the first less its row of the second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    /// No released atom can fall in the range.
    Empty,
    Rows {
        end: String,
        start: Option<String>,
    },
}

impl Range {
    /// Reads the range's active periods (one short statement).
    pub async fn of(db: &DatabaseConnection, scope: &Scope) -> Result<Self> {
        let end = [&scope.to, &scope.open_from]
            .into_iter()
            .flatten()
            .min()
            .cloned();
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT (SELECT MAX(period_start) FROM obs_cumulative_period");
        if let Some(end) = end {
            sql.push(" WHERE period_start < ").bind(end);
        }
        sql.push("), ");
        match &scope.from {
            Some(from) => sql
                .push("(SELECT MAX(period_start) FROM obs_cumulative_period WHERE period_start < ")
                .bind(from.clone())
                .push(")"),
            None => sql.push("NULL"),
        };
        let Some(row) = db.query_one_raw(sql.build()).await? else {
            return Ok(Range::Empty);
        };
        let end: Option<String> = row.try_get_by_index(0)?;
        let start: Option<String> = row.try_get_by_index(1)?;
        Ok(match end {
            Some(end) if start.as_ref().is_none_or(|start| *start < end) => {
                Range::Rows { end, start }
            }
            _ => Range::Empty,
        })
    }

    /// A subquery of each producer's sums over the range: `producer_id`
    /// and the producer totals' columns by name (a producer may come with
    /// no released atom: `atoms = 0`).
    pub fn push_sums(&self, sql: &mut Sql) {
        let columns: Vec<&str> = total_columns().collect();
        match self {
            Range::Empty => sql.push(&format!(
                "(SELECT producer_id, {} FROM obs_producer_cumulative WHERE 1 = 0)",
                columns.join(", ")
            )),
            Range::Rows { end, start: None } => sql
                .push(&format!(
                    "(SELECT producer_id, {} FROM obs_producer_cumulative WHERE period_start = ",
                    columns.join(", ")
                ))
                .bind(end.clone())
                .push(")"),
            Range::Rows {
                end,
                start: Some(start),
            } => {
                sql.push("(SELECT c.producer_id");
                for column in &columns {
                    sql.push(", CAST(SUM(CASE WHEN c.period_start = ")
                        .bind(start.clone())
                        .push(&format!(
                            " THEN -c.{column} ELSE c.{column} END) AS BIGINT) AS {column}"
                        ));
                }
                sql.push(" FROM obs_producer_cumulative c WHERE c.period_start IN (")
                    .bind(end.clone())
                    .push(", ")
                    .bind(start.clone())
                    .push(") GROUP BY c.producer_id)")
            }
        };
    }
}
