//! The release ledger: what each released period spent, on which measure,
//! with which parameters and code, and what the total budget has left.
//! Spending is counted exactly (budgets are decimals of at most six
//! places), so the total is never passed by rounding.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::config::Decimal;
use crate::error::{AppError, Result};

/// Millionths: every budget is an exact multiple of them.
const SCALE: u128 = 1_000_000;

fn millionths(value: &Decimal) -> u128 {
    u128::from(value.num) * SCALE / u128::from(value.den)
}

fn show(millionths: u128) -> String {
    let whole = millionths / SCALE;
    let fraction = millionths % SCALE;
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{:06}", fraction)
            .trim_end_matches('0')
            .to_owned()
    }
}

/// Each released period with the ρ it spent (a ρ that no longer parses
/// counts as the whole total, so the ledger never under-counts).
pub async fn spent(db: &DatabaseConnection) -> Result<Vec<(String, Option<Decimal>)>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT period_start, rho FROM obs_release ORDER BY period_start",
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let period: String = row.try_get_by_index(0)?;
            let rho: String = row.try_get_by_index(1)?;
            Ok((period, rho.parse().ok()))
        })
        .collect()
}

fn total_spent(spent: &[(String, Option<Decimal>)], total: &Decimal) -> u128 {
    spent
        .iter()
        .map(|(_, rho)| rho.as_ref().map_or(millionths(total), millionths))
        .sum()
}

/// Why one more release of `rho` would pass `total`, if it would.
pub fn refusal(
    spent: &[(String, Option<Decimal>)],
    rho: &Decimal,
    total: &Decimal,
) -> Option<String> {
    let used = total_spent(spent, total);
    let limit = millionths(total);
    (used + millionths(rho) > limit).then(|| {
        format!(
            "the privacy budget is spent: {} periods released have spent rho = {} of the total {}, \
             and one more period would spend {}; raise CONSUMACT_DP_RHO_TOTAL (every member's \
             guarantee weakens with it) or lower CONSUMACT_DP_RHO",
            spent.len(),
            show(used),
            show(limit),
            show(millionths(rho))
        )
    })
}

/// Refuses (`CONFLICT`) a release that would pass the total.
pub fn check_budget(
    spent: &[(String, Option<Decimal>)],
    rho: &Decimal,
    total: &Decimal,
) -> Result<()> {
    match refusal(spent, rho, total) {
        Some(reason) => Err(AppError::Conflict(reason)),
        None => Ok(()),
    }
}

/// The latest released month.
pub async fn last_released(db: &DatabaseConnection) -> Result<Option<NaiveDate>> {
    month_from(db, "SELECT MAX(period_start) FROM obs_release").await
}

/// The month of the day (`YYYY-MM-DD`) a one-value query gives, if any.
pub(super) async fn month_from(db: &DatabaseConnection, sql: &str) -> Result<Option<NaiveDate>> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let day: Option<String> = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => None,
    };
    Ok(day
        .and_then(|day| NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok())
        .map(super::month_of))
}

/// What one period spent on one measure.
#[derive(Clone, Debug)]
pub struct MeasureSpend {
    pub measure: String,
    pub rho: f64,
    pub sensitivity: i64,
    pub standard_deviation: f64,
}

/// One released period.
#[derive(Clone, Debug)]
pub struct PeriodRelease {
    pub period: String,
    pub released_at: DateTime<Utc>,
    pub code_version: String,
    pub mechanism: String,
    pub rho: String,
    pub max_producers: i32,
    pub pledge_cap_cents: i64,
    pub threshold: i64,
    pub producers: i64,
    pub published: i64,
    pub measures: Vec<MeasureSpend>,
}

/// The whole ledger, oldest period first.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub periods: Vec<PeriodRelease>,
    pub spent: String,
    pub remaining: String,
    /// Why the next period would not be released, when it would not.
    pub refusal: Option<String>,
}

pub async fn read(db: &DatabaseConnection, rho: &Decimal, total: &Decimal) -> Result<Ledger> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT period_start, released_at, code_version, mechanism, rho, max_producers, \
             pledge_cap_cents, threshold, producers, published FROM obs_release ORDER BY period_start",
        ))
        .await?;
    let spends = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT period_start, measure, rho, sensitivity, variance FROM obs_release_spend \
             ORDER BY period_start, measure",
        ))
        .await?;
    let mut periods = Vec::with_capacity(rows.len());
    for row in &rows {
        periods.push(PeriodRelease {
            period: row.try_get_by_index(0)?,
            released_at: row.try_get_by_index(1)?,
            code_version: row.try_get_by_index(2)?,
            mechanism: row.try_get_by_index(3)?,
            rho: row.try_get_by_index(4)?,
            max_producers: row.try_get_by_index(5)?,
            pledge_cap_cents: row.try_get_by_index(6)?,
            threshold: row.try_get_by_index(7)?,
            producers: row.try_get_by_index(8)?,
            published: row.try_get_by_index(9)?,
            measures: Vec::new(),
        });
    }
    for row in &spends {
        let period: String = row.try_get_by_index(0)?;
        let variance: f64 = row.try_get_by_index(4)?;
        if let Some(release) = periods.iter_mut().find(|p| p.period == period) {
            release.measures.push(MeasureSpend {
                measure: row.try_get_by_index(1)?,
                rho: row.try_get_by_index(2)?,
                sensitivity: row.try_get_by_index(3)?,
                standard_deviation: variance.sqrt(),
            });
        }
    }
    let spent: Vec<(String, Option<Decimal>)> = periods
        .iter()
        .map(|p| (p.period.clone(), p.rho.parse().ok()))
        .collect();
    let used = total_spent(&spent, total);
    Ok(Ledger {
        periods,
        spent: show(used),
        remaining: show(millionths(total).saturating_sub(used)),
        refusal: refusal(&spent, rho, total),
    })
}

/// One published cell of a released month, as its open data gives it.
#[derive(Clone, Debug)]
pub struct PublishedCell {
    pub producer_id: uuid::Uuid,
    pub producer: String,
    pub members: i64,
    /// [`COUNT_COLUMNS`](crate::service::observatory::atoms::COUNT_COLUMNS)' values.
    pub counts: Vec<i64>,
}

/// The published cells of the month starting `period`, by producer id
/// (none when the month was not released).
pub async fn cells(db: &DatabaseConnection, period: &str) -> Result<Vec<PublishedCell>> {
    use crate::service::observatory::atoms::COUNT_COLUMNS;
    let backend = db.get_database_backend();
    let columns: Vec<String> = COUNT_COLUMNS.iter().map(|c| format!("c.{c}")).collect();
    let mut sql = crate::sql::Sql::new(backend);
    sql.push(&format!(
        "SELECT c.producer_id, p.name, c.members, {} FROM obs_release_cell c \
         JOIN producer p ON p.id = c.producer_id WHERE c.period_start = ",
        columns.join(", ")
    ))
    .bind(period.to_owned())
    .push(" ORDER BY c.producer_id");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(PublishedCell {
                producer_id: row.try_get_by_index(0)?,
                producer: row.try_get_by_index(1)?,
                members: row.try_get_by_index(2)?,
                counts: (0..COUNT_COLUMNS.len())
                    .map(|i| row.try_get_by_index::<i64>(3 + i))
                    .collect::<std::result::Result<_, _>>()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_total_is_never_passed() {
        let half = decimal("0.5");
        let total = decimal("1.5");
        let mut spent = Vec::new();
        for month in ["2026-01-01", "2026-02-01", "2026-03-01"] {
            assert!(check_budget(&spent, &half, &total).is_ok());
            spent.push((month.to_owned(), Some(half.clone())));
        }
        let refused = check_budget(&spent, &half, &total).unwrap_err();
        assert!(
            refused.message().contains("rho = 1.5 of the total 1.5"),
            "{}",
            refused.message()
        );
        // 0.1 three times is exactly 0.3, no rounding.
        let tenth = decimal("0.1");
        let spent: Vec<_> = (0..3)
            .map(|i| (i.to_string(), Some(tenth.clone())))
            .collect();
        assert!(check_budget(&spent, &decimal("0.7"), &decimal("1")).is_ok());
        assert!(check_budget(&spent, &decimal("0.700001"), &decimal("1")).is_err());
        // A ρ that cannot be read counts as the whole total.
        let unreadable = vec![("2026-01-01".to_owned(), None)];
        assert!(check_budget(&unreadable, &tenth, &total).is_err());
    }
}
