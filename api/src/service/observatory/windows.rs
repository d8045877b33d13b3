//! Kept per-producer totals over the default windows: the last 12 months
//! (this month and the eleven before it) and the last full month.
//!
//! `obs_window` holds each window's span of periods as of the month the
//! windows were last rolled for; `obs_producer_window` each producer's
//! released atoms and facts of the periods in that span (the sums of its
//! `obs_atom` rows of at least k members and of its `obs_producer_period`
//! rows there). A ranking, a producer or the groups of a filtered set over
//! a window are then read one row per producer, as over all time.
//!
//! The write paths that move a producer's sums of a period (released atoms,
//! [`super::rollup::apply_many`]; facts, [`super::facts::refresh`]) add the
//! change to the window rows whose span holds the period, in the same
//! statement that reads the spans ([`add`]). When the month changes, the
//! windows are rolled: new spans, every row recomputed ([`roll`]), under an
//! exclusive lock on both tables. A write whose statement ran before the
//! roll has committed before the roll reads the atoms; one after it waits
//! for the lock and reads the new spans; so no change is lost or counted
//! twice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Value};
use tokio::sync::Mutex as AsyncMutex;
use uuid::Uuid;

use super::atoms::{COUNT_COLUMNS, total_columns};
use super::groups::{PeriodChange, period_columns};
use super::sql::Sql;
use crate::db::begin_write;
use crate::error::Result;

pub use super::atoms::{Window, first_of_month};

/// The month this server last saw the windows rolled for (shared by the
/// request handlers, which read the window rows only while it is the
/// current month, and the upkeep that rolls them).
#[derive(Default)]
pub struct Rolled {
    month: Mutex<Option<NaiveDate>>,
    /// One roll at a time in this process.
    rolling: AsyncMutex<()>,
    /// When the last roll failed: the next try waits [`RETRY_AFTER`].
    failed_at: Mutex<Option<Instant>>,
}

/// How long a failed roll waits before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(30);

impl Rolled {
    /// Whether the window rows hold the spans of `today`'s month.
    pub fn current(&self, today: NaiveDate) -> bool {
        let month = self.month.lock().map(|month| *month).unwrap_or(None);
        month == Some(first_of_month(today))
    }

    fn set(&self, today: NaiveDate) {
        if let Ok(mut month) = self.month.lock() {
            *month = Some(first_of_month(today));
        }
    }

    /// Whether a roll failed less than [`RETRY_AFTER`] ago.
    fn waiting(&self) -> bool {
        self.failed_at
            .lock()
            .map(|failed| failed.is_some_and(|at| at.elapsed() < RETRY_AFTER))
            .unwrap_or(false)
    }

    fn failed(&self) {
        if let Ok(mut failed) = self.failed_at.lock() {
            *failed = Some(Instant::now());
        }
    }
}

/// Rolls the windows to `today`'s month unless this server knows they are
/// already there (so it costs nothing but on the first call of a month),
/// or a roll failed moments ago.
pub async fn refresh(
    db: &DatabaseConnection,
    sqlite_writer: Option<&Arc<AsyncMutex<()>>>,
    rolled: &Rolled,
    k: u32,
    today: NaiveDate,
) -> Result<()> {
    if rolled.current(today) || rolled.waiting() {
        return Ok(());
    }
    let _turn = rolled.rolling.lock().await;
    if rolled.current(today) {
        return Ok(());
    }
    match roll(db, sqlite_writer, k, today).await {
        Ok(moved) => {
            if moved {
                tracing::info!(month = %first_of_month(today), "observatory windows rolled");
            }
            rolled.set(today);
            Ok(())
        }
        Err(err) => {
            rolled.failed();
            Err(err)
        }
    }
}

/// Moves the windows to `today`'s spans and recomputes every producer's
/// row, unless they hold those spans already (another instance rolled
/// them); true when it rolled.
pub async fn roll(
    db: &DatabaseConnection,
    sqlite_writer: Option<&Arc<AsyncMutex<()>>>,
    k: u32,
    today: NaiveDate,
) -> Result<bool> {
    let (writer, txn) = begin_write(db, sqlite_writer).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Writers of window rows wait; those in flight finish first.
        txn.execute_unprepared("LOCK TABLE obs_window, obs_producer_window IN EXCLUSIVE MODE")
            .await?;
    }
    if spans(&txn).await? == expected(today) {
        txn.commit().await?;
        drop(writer);
        return Ok(false);
    }
    reset(&txn, k, today).await?;
    txn.commit().await?;
    drop(writer);
    Ok(true)
}

type Spans = Vec<(String, String, Option<String>)>;

fn expected(today: NaiveDate) -> Spans {
    let mut spans: Spans = Window::ALL
        .iter()
        .map(|window| {
            let (first, end) = window.span(today);
            (window.name().to_owned(), first, end)
        })
        .collect();
    spans.sort();
    spans
}

async fn spans(conn: &impl ConnectionTrait) -> Result<Spans> {
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT span, first_period, end_period FROM obs_window ORDER BY span",
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
            ))
        })
        .collect()
}

/// Sets the windows to `today`'s spans and recomputes every producer's
/// row from its released atoms (`k` members or more) and period facts, in
/// the caller's transaction (the rollup rebuild's, or a roll's). Writes a
/// row only where it holds something, as [`add`] deletes a row left empty.
pub async fn reset(conn: &impl ConnectionTrait, k: u32, today: NaiveDate) -> Result<()> {
    let backend = conn.get_database_backend();
    conn.execute_unprepared("DELETE FROM obs_producer_window")
        .await?;
    conn.execute_unprepared("DELETE FROM obs_window").await?;
    for (span, first, end) in expected(today) {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO obs_window (span, first_period, end_period) VALUES (")
            .bind(span)
            .push(", ")
            .bind(first)
            .push(", ")
            .bind(end)
            .push(")");
        conn.execute_raw(sql.build()).await?;
    }
    let columns = period_columns();
    let totals = total_columns().count();
    let zeros = vec!["0"; totals].join(", ");
    let facts: Vec<&String> = columns.iter().skip(totals).collect();
    let fact_zeros: Vec<String> = facts
        .iter()
        .map(|column| format!("0 AS {column}"))
        .collect();
    let sums: Vec<String> = columns
        .iter()
        .map(|column| format!("CAST(SUM(x.{column}) AS BIGINT)"))
        .collect();
    conn.execute_unprepared(&format!(
        "INSERT INTO obs_producer_window (span, producer_id, {columns}) \
         SELECT w.span, x.producer_id, {sums} FROM obs_window w JOIN ( \
           SELECT producer_id, period_start, 1 AS atoms, members, {counts}, {fact_zeros} \
             FROM obs_atom WHERE members >= {k} \
           UNION ALL SELECT producer_id, period_start, {zeros}, {facts} \
             FROM obs_producer_period \
         ) x ON {in_span} \
         GROUP BY w.span, x.producer_id HAVING NOT ({empty})",
        columns = columns.join(", "),
        sums = sums.join(", "),
        counts = COUNT_COLUMNS.join(", "),
        fact_zeros = fact_zeros.join(", "),
        facts = facts
            .iter()
            .map(|column| column.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        in_span = in_span("x"),
        empty = EMPTY_SUMS,
    ))
    .await?;
    Ok(())
}

/// A row of the period aliased `alias` falls in the span of `w`.
fn in_span(alias: &str) -> String {
    format!(
        "{alias}.period_start >= w.first_period \
         AND (w.end_period IS NULL OR {alias}.period_start < w.end_period)"
    )
}

/// A row holds nothing: no released atom, no campaign, no commitment
/// (every other sum is part of those), as summed in [`reset`].
const EMPTY_SUMS: &str =
    "SUM(x.atoms) = 0 AND SUM(x.campaigns) = 0 AND SUM(x.commitments_made) = 0";

/// The same of a stored row.
const EMPTY_ROW: &str = "atoms = 0 AND campaigns = 0 AND commitments_made = 0";

/// Rows of changes one statement adds (under 50 bound values each).
const CHANGES_PER_STATEMENT: usize = 200;

/// Adds each producer's per-period changes (in [`period_columns`]' order)
/// to its rows of the windows whose spans hold the period, creating the
/// rows not there yet and deleting those left empty. The spans are read
/// by the statement that writes the rows, so it follows a roll made while
/// it waited. Rows are written producer by producer in key order, so
/// concurrent writers never deadlock.
pub async fn add(
    conn: &impl ConnectionTrait,
    changes: &[(Uuid, String, PeriodChange)],
) -> Result<()> {
    let mut changes: Vec<&(Uuid, String, PeriodChange)> = changes
        .iter()
        .filter(|(_, _, change)| change.iter().any(|value| *value != 0))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    changes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let backend = conn.get_database_backend();
    let columns = period_columns();
    let mut emptied = Vec::new();
    for chunk in changes.chunks(CHANGES_PER_STATEMENT) {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "WITH v (producer_id, period_start, {}) AS (VALUES ",
            columns.join(", ")
        ));
        for (i, (producer, period, change)) in chunk.iter().enumerate() {
            let key = [Value::from(*producer), Value::from(period.clone())];
            sql.push_row(
                i == 0,
                key.into_iter()
                    .chain(change.iter().map(|value| Value::from(*value))),
            );
        }
        let sums: Vec<String> = columns
            .iter()
            .map(|column| format!("CAST(SUM(v.{column}) AS BIGINT)"))
            .collect();
        let updates: Vec<String> = columns
            .iter()
            .map(|column| format!("{column} = obs_producer_window.{column} + excluded.{column}"))
            .collect();
        // `WHERE 1 = 1` keeps SQLite from reading `ON CONFLICT` as a join's.
        sql.push(&format!(
            ") INSERT INTO obs_producer_window (span, producer_id, {columns}) \
             SELECT w.span, v.producer_id, {sums} FROM obs_window w JOIN v ON {in_span} \
             WHERE 1 = 1 GROUP BY v.producer_id, w.span ORDER BY v.producer_id, w.span \
             ON CONFLICT (span, producer_id) DO UPDATE SET {updates} \
             RETURNING span, producer_id, CASE WHEN {EMPTY_ROW} THEN 1 ELSE 0 END",
            columns = columns.join(", "),
            sums = sums.join(", "),
            in_span = in_span("v"),
            updates = updates.join(", "),
        ));
        for row in conn.query_all_raw(sql.build()).await? {
            if row.try_get_by_index::<i32>(2)? == 1 {
                emptied.push((
                    row.try_get_by_index::<String>(0)?,
                    row.try_get_by_index::<Uuid>(1)?,
                ));
            }
        }
    }
    for (span, producer) in emptied {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "DELETE FROM obs_producer_window WHERE {EMPTY_ROW} AND span = "
        ))
        .bind(span)
        .push(" AND producer_id = ")
        .bind(producer);
        conn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_span_whole_months_back_from_today() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 17).unwrap();
        assert_eq!(
            Window::Last12Months.span(today),
            ("2025-02-01".to_owned(), None)
        );
        assert_eq!(
            Window::LastFullMonth.span(today),
            ("2025-12-01".to_owned(), Some("2026-01-01".to_owned()))
        );
        let rolled = Rolled::default();
        assert!(!rolled.current(today));
        rolled.set(today);
        assert!(rolled.current(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()));
        assert!(!rolled.current(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()));
    }
}
