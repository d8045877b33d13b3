//! Questions over time: sums period by period, from the atoms or the kept
//! period rows.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::error::Result;
use crate::service::observatory::atoms::dimension_name;
use crate::service::observatory::facts::{self, Facts};
use crate::service::observatory::sql::Sql;

use super::conditions::*;
use super::{GroupBy, Scope, Sums};

/// Released sums per period (summed over the scope's producers).
pub async fn sums_by_period(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<Vec<(String, Sums)>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT a.period_start, ").push(SUM_COLUMNS);
    push_atoms(&mut sql, scope, k, true);
    push_producer_conditions(&mut sql, scope);
    push_period_conditions(&mut sql, scope);
    sql.push(" GROUP BY a.period_start ORDER BY a.period_start");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index::<String>(0)?, Sums::from_row(row, 1)?)))
        .collect()
}

/// What the stored period sums can answer a question about: one producer,
/// every producer (the sectors' sums, as each producer has one sector), or
/// the producers of one group.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredSums {
    Producer(Uuid),
    All,
    Group(GroupBy, String),
}

impl StoredSums {
    /// The stored sums that answer `scope`'s producers, if any (its periods
    /// aside).
    pub fn of(scope: &Scope) -> Option<StoredSums> {
        if scope.released
            || scope.kind.is_some()
            || scope.ids.is_some()
            || scope.after.is_some()
            || scope.through.is_some()
        {
            return None;
        }
        let mut named = [
            scope.producer.map(StoredSums::Producer),
            scope
                .sector
                .clone()
                .map(|key| StoredSums::Group(GroupBy::Sector, key)),
            scope
                .territory
                .clone()
                .map(|key| StoredSums::Group(GroupBy::Territory, key)),
            scope
                .value_tag
                .clone()
                .map(|key| StoredSums::Group(GroupBy::ValueTag, key)),
            scope
                .community
                .clone()
                .map(|key| StoredSums::Group(GroupBy::Community, key)),
        ]
        .into_iter()
        .flatten();
        match (named.next(), named.next()) {
            (None, _) => Some(StoredSums::All),
            (Some(kept), None) => Some(kept),
            _ => None,
        }
    }
}

/// Released sums and facts per period over the scope's periods, read from
/// the stored period sums of `kept` (the scope's producers): a producer's
/// atoms and period facts, or its groups' period rows. Periods the scope
/// leaves open keep their facts but no member sums, as when counted from
/// the atoms.
pub async fn stored_periods(
    db: &DatabaseConnection,
    k: u32,
    kept: &StoredSums,
    scope: &Scope,
) -> Result<Vec<(String, Sums, Facts)>> {
    let backend = db.get_database_backend();
    let fact_columns: Vec<String> = facts::columns().collect();
    let mut periods: std::collections::BTreeMap<String, (Sums, Facts)> = Default::default();
    match kept {
        StoredSums::Producer(producer) => {
            let only = Scope {
                producer: Some(*producer),
                from: scope.from.clone(),
                to: scope.to.clone(),
                open_from: scope.open_from.clone(),
                ..Scope::default()
            };
            let mut sql = Sql::new(backend);
            sql.push("SELECT a.period_start, ")
                .push(&fact_columns.join(", "))
                .push(" FROM obs_producer_period a WHERE a.producer_id = ")
                .bind(*producer);
            push_range(&mut sql, scope);
            let (sums, rows) = tokio::try_join!(sums_by_period(db, k, &only), async {
                Ok(db.query_all_raw(sql.build()).await?)
            },)?;
            for (period, sums) in sums {
                periods.entry(period).or_default().0 = sums;
            }
            for row in rows {
                periods.entry(row.try_get_by_index(0)?).or_default().1 = Facts::from_row(&row, 1)?;
            }
        }
        StoredSums::All | StoredSums::Group(..) => {
            let mut sql = Sql::new(backend);
            sql.push("SELECT a.period_start");
            for column in stored_columns().map(str::to_owned).chain(fact_columns) {
                sql.push(&format!(", CAST(SUM(a.{column}) AS BIGINT)"));
            }
            sql.push(" FROM obs_group_period a WHERE a.dimension = ");
            match kept {
                StoredSums::Group(by, key) => {
                    sql.bind(dimension_name(*by)).push(" AND ");
                    if *by == GroupBy::Territory {
                        // A country's subdivisions are groups of their own.
                        sql.territory("a.group_key", key);
                    } else {
                        sql.push("a.group_key = ").bind(key.clone());
                    }
                }
                _ => {
                    sql.bind(dimension_name(GroupBy::Sector));
                }
            }
            push_range(&mut sql, scope);
            sql.push(" GROUP BY a.period_start");
            for row in db.query_all_raw(sql.build()).await? {
                let sums = Sums::from_row(&row, 1)?;
                let facts = Facts::from_row(&row, 1 + stored_columns().count())?;
                periods.insert(row.try_get_by_index(0)?, (sums, facts));
            }
        }
    }
    Ok(periods
        .into_iter()
        .map(|(period, (mut sums, facts))| {
            if scope.open_from.as_ref().is_some_and(|open| period >= *open) {
                sums = Sums::default();
            }
            (period, sums, facts)
        })
        .collect())
}
