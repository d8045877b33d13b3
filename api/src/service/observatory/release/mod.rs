//! The observatory's differentially private release
//! (`CONSUMACT_OBSERVATORY_PRIVACY=dp`): each closed month is released
//! once, from the source rows with every member's contribution bounded,
//! with exact discrete Gaussian noise on every producer's cell (the
//! producers are public, so every one gets noise, published or not), and
//! published where the noisy member count clears a threshold set from the
//! budget alone. The release is stored and frozen: every answer, filter,
//! grouping and export after it sums the same released cells, so no
//! question asked again draws fresh noise to average away.

mod bounds;
pub mod budget;
pub mod ledger;
pub mod sampler;

use std::sync::Mutex;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rand::RngCore;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

use self::bounds::{bounded_sums, contributions};
use self::budget::{Budget, Measure};
use self::sampler::{SystemRandom, discrete_gaussian};
use super::atoms::COUNT_COLUMNS;
use crate::config::Config;
use crate::error::{AppError, Result};
use crate::sql::Sql;

/// The mechanism, as the ledger names it.
pub const MECHANISM: &str = "discrete Gaussian (Canonne-Kamath-Steinke), rho-zCDP";

/// The code that released a period, for the ledger.
pub const CODE_VERSION: &str = concat!("consumact ", env!("CARGO_PKG_VERSION"));

/// The first day of `date`'s month.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// `YYYY-MM-01`.
pub fn period_key(month: NaiveDate) -> String {
    month.format("%Y-%m-01").to_string()
}

/// A producer's cell: exact before the noise, released after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellSums {
    pub members: i64,
    pub signatures: i64,
    pub ratings: [i64; 4],
    /// Σ (score − 1), 0–4 per rating.
    pub scores: [i64; 4],
    pub pledges: [i64; 4],
    /// Whole units of 100 cents.
    pub amount: i64,
}

/// What one release did.
#[derive(Clone, Debug)]
pub struct Released {
    pub period: String,
    pub producers: u64,
    pub published: u64,
    pub threshold: i64,
}

/// The month this process last saw released (or found nothing to release
/// before), so the upkeep looks at the ledger once a month.
#[derive(Debug, Default)]
pub struct Watch {
    checked: Mutex<Option<NaiveDate>>,
}

/// Releases every closed month not released yet, oldest first, from the
/// month of the first atom: the upkeep's step in `dp` mode with automatic
/// release on. Nothing but a clock reading once this month is done.
pub async fn release_due(
    db: &DatabaseConnection,
    writer: Writer<'_>,
    config: &Config,
    watch: &Watch,
) -> Result<()> {
    let this_month = month_of(Utc::now().date_naive());
    if watch
        .checked
        .lock()
        .map(|m| *m == Some(this_month))
        .unwrap_or(false)
    {
        return Ok(());
    }
    let first = first_month(db).await?;
    let last_released = ledger::last_released(db).await?;
    let mut month = match (last_released, first) {
        (Some(last), _) => last + Months::new(1),
        (None, Some(first)) => first,
        (None, None) => this_month,
    };
    while month < this_month {
        match release_with(db, writer, config, month, &mut SystemRandom::default()).await {
            Ok(done) => tracing::info!(
                period = %done.period,
                published = done.published,
                producers = done.producers,
                "observatory period released"
            ),
            // Another server released it meanwhile.
            Err(AppError::Conflict(message)) if message.contains("released already") => {}
            // The budget is spent: said once a month, not once a second.
            Err(AppError::Conflict(refusal)) => {
                tracing::warn!(%refusal, "observatory month not released");
                break;
            }
            Err(err) => return Err(err),
        }
        month = month + Months::new(1);
    }
    if let Ok(mut checked) = watch.checked.lock() {
        *checked = Some(this_month);
    }
    Ok(())
}

/// The month of the first atom, if any.
async fn first_month(db: &DatabaseConnection) -> Result<Option<NaiveDate>> {
    ledger::month_from(db, "SELECT MIN(period_start) FROM obs_atom").await
}

/// Releases one closed month: refused when it is not closed yet, was
/// released already (`CONFLICT`), or would spend more than the total
/// budget left (`CONFLICT`, saying what is spent and what is left).
pub async fn release(
    db: &DatabaseConnection,
    writer: Writer<'_>,
    config: &Config,
    month: NaiveDate,
) -> Result<Released> {
    release_with(db, writer, config, month, &mut SystemRandom::default()).await
}

/// This process's SQLite writers' queue, if it has one.
pub type Writer<'a> = Option<&'a std::sync::Arc<tokio::sync::Mutex<()>>>;

/// [`release`] with a given source of randomness (tests and benchmarks).
pub async fn release_with(
    db: &DatabaseConnection,
    writer: Writer<'_>,
    config: &Config,
    month: NaiveDate,
    rng: &mut (impl RngCore + Send),
) -> Result<Released> {
    let month = month_of(month);
    let end = month + Months::new(1);
    if end > month_of(Utc::now().date_naive()) {
        return Err(AppError::invalid(
            "period",
            format!(
                "{} is not closed yet: a month is released once it has ended",
                period_key(month)
            ),
        ));
    }
    let period = period_key(month);
    let spent = ledger::spent(db).await?;
    if spent.iter().any(|(released, _)| *released == period) {
        return Err(AppError::Conflict(format!("{period} was released already")));
    }
    let privacy = &config.privacy;
    ledger::check_budget(&spent, &privacy.dp_rho, &privacy.dp_rho_total)?;
    let budget = Budget::of(privacy);
    let from = midnight(month);
    let to = midnight(end);
    let contributions = contributions(db, from, to).await?;
    let exact = bounded_sums(
        contributions,
        budget.max_producers as usize,
        privacy.dp_pledge_cap_cents as i64,
        rng,
    );
    let producers = all_producers(db).await?;
    let threshold = budget.threshold();
    let mut cells = Vec::new();
    for producer in &producers {
        let truth = exact.get(producer).copied().unwrap_or_default();
        if let Some(cell) = noisy_cell(&budget, truth, threshold, rng) {
            cells.push((*producer, cell));
        }
    }
    let released = Released {
        period: period.clone(),
        producers: producers.len() as u64,
        published: cells.len() as u64,
        threshold,
    };
    store(db, writer, config, &budget, &released, &cells).await?;
    Ok(released)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Adds discrete Gaussian noise to the member count; below the threshold
/// the cell stays unpublished (and its other measures need no noise: no
/// one sees them). Published cells are post-processed to non-negative
/// integers with score sums within their ratings' range.
pub fn noisy_cell(
    budget: &Budget,
    truth: CellSums,
    threshold: i64,
    rng: &mut impl RngCore,
) -> Option<CellSums> {
    let mut noise = |measure: Measure, value: i64| -> i64 {
        let noisy = i128::from(value) + discrete_gaussian(rng, budget.variance(measure));
        noisy.clamp(0, i128::from(i64::MAX)) as i64
    };
    let members = noise(Measure::Members, truth.members);
    if members < threshold {
        return None;
    }
    let mut cell = CellSums {
        members,
        signatures: noise(Measure::Signatures, truth.signatures),
        amount: noise(Measure::Amount, truth.amount),
        ..CellSums::default()
    };
    for i in 0..4 {
        cell.ratings[i] = noise(Measure::Ratings(i), truth.ratings[i]);
        cell.scores[i] = noise(Measure::Scores(i), truth.scores[i]).min(4 * cell.ratings[i]);
        cell.pledges[i] = noise(Measure::Pledges(i), truth.pledges[i]);
    }
    Some(cell)
}

async fn all_producers(db: &DatabaseConnection) -> Result<Vec<Uuid>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM producer ORDER BY id",
        ))
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get_by_index(0)?))
        .collect()
}

/// Writes the release, its ledger lines and its cells in one transaction;
/// a period released meanwhile by another server fails its key
/// (`CONFLICT`).
async fn store(
    db: &DatabaseConnection,
    writer: Writer<'_>,
    config: &Config,
    budget: &Budget,
    released: &Released,
    cells: &[(Uuid, CellSums)],
) -> Result<()> {
    let backend = db.get_database_backend();
    let (_queue, txn) = crate::db::begin_write(db, writer).await?;
    let mut sql = Sql::new(backend);
    sql.push(
        "INSERT INTO obs_release (period_start, released_at, code_version, mechanism, rho, \
         max_producers, pledge_cap_cents, threshold, producers, published) VALUES ",
    )
    .push_row(
        true,
        [
            released.period.clone().into(),
            Utc::now().into(),
            CODE_VERSION.into(),
            MECHANISM.into(),
            config.privacy.dp_rho.text.clone().into(),
            (budget.max_producers as i32).into(),
            (config.privacy.dp_pledge_cap_cents as i64).into(),
            released.threshold.into(),
            (released.producers as i64).into(),
            (released.published as i64).into(),
        ],
    )
    .push(" ON CONFLICT (period_start) DO NOTHING");
    let inserted = txn.execute_raw(sql.build()).await?.rows_affected();
    if inserted == 0 {
        return Err(AppError::Conflict(format!(
            "{} was released already",
            released.period
        )));
    }
    let mut sql = Sql::new(backend);
    sql.push(
        "INSERT INTO obs_release_spend (period_start, measure, rho, sensitivity, variance) VALUES ",
    );
    for (i, measure) in Measure::all().into_iter().enumerate() {
        let variance = budget.variance(measure);
        sql.push_row(
            i == 0,
            [
                released.period.clone().into(),
                measure.name().into(),
                budget.measure_rho(measure).into(),
                (budget.sensitivity(measure) as i64).into(),
                (variance.num as f64 / variance.den as f64).into(),
            ],
        );
    }
    txn.execute_raw(sql.build()).await?;
    let columns = format!(
        "period_start, producer_id, members, {}",
        COUNT_COLUMNS.join(", ")
    );
    for chunk in cells.chunks(200) {
        let mut sql = Sql::new(backend);
        sql.push(&format!("INSERT INTO obs_release_cell ({columns}) VALUES "));
        for (i, (producer, cell)) in chunk.iter().enumerate() {
            let values: Vec<sea_orm::Value> = [
                released.period.clone().into(),
                (*producer).into(),
                cell.members.into(),
            ]
            .into_iter()
            .chain(stored_counts(cell).map(Into::into))
            .collect();
            sql.push_row(i == 0, values);
        }
        txn.execute_raw(sql.build()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A released cell's counts in [`COUNT_COLUMNS`]' order, as the atoms keep
/// them: score sums are of the scores themselves (1–5), amounts in cents.
fn stored_counts(cell: &CellSums) -> [i64; 14] {
    let mut out = [0; 14];
    out[0] = cell.signatures;
    for i in 0..4 {
        out[1 + i] = cell.ratings[i];
        out[5 + i] = cell.scores[i] + cell.ratings[i];
        out[9 + i] = cell.pledges[i];
    }
    out[13] = cell.amount * 100;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn budget() -> Budget {
        Budget {
            rho_num: 5,
            rho_den: 10,
            max_producers: 2,
            cap_units: 50,
        }
    }

    #[test]
    fn small_cells_stay_unpublished_and_large_ones_stay_consistent() {
        let b = budget();
        let threshold = b.threshold();
        let mut rng = StdRng::seed_from_u64(5);
        let small = CellSums {
            members: 3,
            signatures: 3,
            ..CellSums::default()
        };
        for _ in 0..1000 {
            assert_eq!(noisy_cell(&b, small, threshold, &mut rng), None);
        }
        let large = CellSums {
            members: 500,
            signatures: 400,
            ratings: [100, 0, 50, 3],
            scores: [400, 0, 0, 12],
            pledges: [10, 0, 0, 0],
            amount: 300,
        };
        for _ in 0..200 {
            let cell = noisy_cell(&b, large, threshold, &mut rng).expect("published");
            for i in 0..4 {
                assert!(cell.ratings[i] >= 0 && cell.pledges[i] >= 0);
                assert!((0..=4 * cell.ratings[i]).contains(&cell.scores[i]));
            }
            assert!(cell.signatures >= 0 && cell.amount >= 0);
        }
    }

    #[test]
    fn counts_are_stored_as_the_atoms_keep_them() {
        let cell = CellSums {
            members: 40,
            signatures: 30,
            ratings: [2, 0, 0, 0],
            scores: [7, 0, 0, 0],
            pledges: [0, 1, 0, 0],
            amount: 12,
        };
        let stored = stored_counts(&cell);
        assert_eq!(stored[0], 30);
        assert_eq!(stored[1], 2);
        assert_eq!(stored[5], 9, "Σ score = Σ (score − 1) + ratings");
        assert_eq!(stored[10], 1);
        assert_eq!(stored[13], 1200);
    }
}
