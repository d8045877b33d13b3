//! Questions about producers: their sums (from atoms, stored totals or
//! windows), their rows, and rankings read page by page.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use uuid::Uuid;

use crate::error::Result;
use crate::service::observatory::atoms::{Prior, Window};
use crate::service::observatory::cumulative;
use crate::service::observatory::facts::{self, Facts};
use crate::service::observatory::sql::Sql;

use super::conditions::*;
use super::{Scope, Sums};

/// How a ranking is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankBy {
    TrustIndex,
    Signatures,
    ResponseRate,
}

/// Released sums per producer over the scope's periods: over all time,
/// from each producer's stored total (less the open periods' released atoms,
/// when only closed periods are published: one atom per producer at most);
/// over a kept window, from its rows; over any other range, from two
/// cumulative rows per producer; from the published cells of a release.
pub async fn sums_by_producer(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    if scope.from.is_none() && scope.to.is_none() && !scope.released {
        return stored_sums_by_producer(db, k, scope).await;
    }
    if let Some(window) = scope.window {
        return window_sums_by_producer(db, window, scope).await;
    }
    if !scope.released {
        return range_sums_by_producer(db, scope).await;
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT a.producer_id, ").push(SUM_COLUMNS);
    push_atoms(&mut sql, scope, k, true);
    push_producer_conditions(&mut sql, scope);
    push_period_conditions(&mut sql, scope);
    sql.push(" GROUP BY a.producer_id");
    by_producer(db.query_all_raw(sql.build()).await?)
}

/// Rows of a producer id then the sums' columns, by producer.
fn by_producer(rows: Vec<QueryResult>) -> Result<HashMap<Uuid, Sums>> {
    rows.iter()
        .map(|row| Ok((row.try_get_by_index::<Uuid>(0)?, Sums::from_row(row, 1)?)))
        .collect()
}

pub(super) async fn stored_sums_by_producer(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.producer_id");
    for column in stored_columns() {
        match scope.open_from {
            Some(_) => sql.push(&format!(", t.{column} - COALESCE(o.{column}, 0)")),
            None => sql.push(&format!(", t.{column}")),
        };
    }
    sql.push(" FROM obs_producer_total t JOIN producer p ON p.id = t.producer_id");
    if let Some(open) = &scope.open_from {
        sql.push(" LEFT JOIN (SELECT a.producer_id");
        for column in stored_columns() {
            match column {
                "atoms" => sql.push(", COUNT(*) AS atoms"),
                _ => sql.push(&format!(", CAST(SUM(a.{column}) AS BIGINT) AS {column}")),
            };
        }
        sql.push(" FROM obs_atom a WHERE a.members >= ")
            .bind(i64::from(k))
            .push(" AND a.period_start >= ")
            .bind(open.clone())
            .push(" GROUP BY a.producer_id) o ON o.producer_id = t.producer_id");
    }
    sql.push(" WHERE 1 = 1");
    push_producer_conditions(&mut sql, scope);
    let rows = db.query_all_raw(sql.build()).await?;
    let mut sums = HashMap::with_capacity(rows.len());
    for row in rows {
        let found = Sums::from_row(&row, 1)?;
        if found.atoms > 0 {
            sums.insert(row.try_get_by_index::<Uuid>(0)?, found);
        }
    }
    Ok(sums)
}

/// Released sums per producer over a range, from its cumulative rows.
async fn range_sums_by_producer(
    db: &DatabaseConnection,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    let range = cumulative::Range::of(db, scope).await?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.producer_id");
    for column in stored_columns() {
        sql.push(&format!(", t.{column}"));
    }
    sql.push(" FROM ");
    range.push_sums(&mut sql);
    sql.push(" t JOIN producer p ON p.id = t.producer_id WHERE t.atoms > 0");
    push_producer_conditions(&mut sql, scope);
    by_producer(cumulative::read(db, sql.build()).await?)
}

/// Released sums per producer over a kept window, from its window rows.
pub(super) async fn window_sums_by_producer(
    db: &DatabaseConnection,
    window: Window,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.producer_id");
    for column in stored_columns() {
        sql.push(&format!(", t.{column}"));
    }
    sql.push(" FROM obs_producer_window t JOIN producer p ON p.id = t.producer_id WHERE t.atoms > 0 AND t.span = ")
        .bind(window.name());
    push_producer_conditions(&mut sql, scope);
    by_producer(db.query_all_raw(sql.build()).await?)
}

/// The stored facts (campaigns, answers, commitments) of the producers in
/// scope: over all time, or over the scope's kept window.
pub async fn stored_facts_by_producer(
    db: &DatabaseConnection,
    scope: &Scope,
) -> Result<HashMap<Uuid, Facts>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT f.producer_id");
    for column in facts::columns() {
        sql.push(&format!(", f.{column}"));
    }
    match scope.window {
        Some(window) => sql
            .push(" FROM obs_producer_window f JOIN producer p ON p.id = f.producer_id WHERE f.span = ")
            .bind(window.name()),
        None => sql.push(
            " FROM obs_producer_fact f JOIN producer p ON p.id = f.producer_id WHERE 1 = 1",
        ),
    };
    push_producer_conditions(&mut sql, scope);
    let rows = db.query_all_raw(sql.build()).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(row.try_get_by_index::<Uuid>(0)?, Facts::from_row(&row, 1)?);
    }
    Ok(out)
}

/// A producer as the observatory lists it.
#[derive(Clone, Debug)]
pub struct ProducerRow {
    pub id: Uuid,
    pub name: String,
}

/// The producers in scope, by id (at most `limit` of them).
pub async fn producers(
    db: &DatabaseConnection,
    scope: &Scope,
    limit: Option<u64>,
) -> Result<Vec<ProducerRow>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT p.id, p.name FROM producer p WHERE 1 = 1");
    push_producer_conditions(&mut sql, scope);
    sql.push(" ORDER BY p.id");
    if let Some(limit) = limit {
        sql.push(" LIMIT ").bind(limit as i64);
    }
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(ProducerRow {
                id: row.try_get_by_index(0)?,
                name: row.try_get_by_index(1)?,
            })
        })
        .collect()
}

/// How many producers the scope holds.
pub async fn count_producers(db: &DatabaseConnection, scope: &Scope) -> Result<u64> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT CAST(COUNT(*) AS BIGINT) FROM producer p WHERE 1 = 1");
    push_producer_conditions(&mut sql, scope);
    let count: i64 = match db.query_one_raw(sql.build()).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(count.max(0) as u64)
}

/// A ranking key read from the stored totals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RankKey {
    Signatures(i64),
    TrustIndex(f64),
}

/// Where a ranking page starts: after a producer that had a key, or, once
/// the keyed producers are through, after one without (suppressed, or
/// without ratings for the trust index), which come last by id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RankAfter {
    Keyed(RankKey, Uuid),
    Rest(Uuid),
}

/// A producer of a ranking page: its position to continue from, and its
/// stored sums (`None` without a released atom) and facts, read with it.
#[derive(Clone, Debug)]
pub struct RankedRow {
    pub producer: ProducerRow,
    pub after: RankAfter,
    pub sums: Option<Sums>,
    pub facts: Facts,
}

/// Up to `limit` producers of the scope in ranking order after `after`,
/// each with its own position to continue from and its figures: keyed
/// producers by key (best first, then id), then the others by id. All time
/// or over a kept window, read from the stored totals through their indexes;
/// over any other range (or closed periods only), from each producer's two
/// cumulative rows (or a release's published cells), in the same statement,
/// and without the facts (the caller counts them for the page: [`ranged`]).
pub async fn ranked_producers(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
    by: RankBy,
    prior: Prior,
    after: Option<RankAfter>,
    limit: u64,
) -> Result<Vec<RankedRow>> {
    let backend = db.get_database_backend();
    // The page's figures come with it: the total's (or the window's, or the
    // range's) sums, and the stored facts (the window's row holds them too).
    let ranged = ranged(scope);
    let range = match ranged && !scope.released {
        true => Some(cumulative::Range::of(db, scope).await?),
        false => None,
    };
    let (key, keyed) = match by {
        RankBy::Signatures => ("signatures".to_owned(), "atoms > 0".to_owned()),
        // Sums computed by the query match no index: floating point is
        // cheaper to order by than the indexed expression's numerics.
        _ if ranged => (
            trust_expression_float(prior),
            format!("atoms > 0 AND {RATINGS_SUM} > 0"),
        ),
        _ => (
            trust_expression(prior),
            format!("atoms > 0 AND {RATINGS_SUM} > 0"),
        ),
    };
    let (facts_of, facts_join) = match (scope.window, ranged) {
        (Some(_), _) => (Some("t"), ""),
        (None, true) => (None, ""),
        (None, false) => (
            Some("f"),
            " LEFT JOIN obs_producer_fact f ON f.producer_id = p.id",
        ),
    };
    let push_source = |sql: &mut Sql| {
        match (scope.window, ranged, &range) {
            (Some(_), _, _) => sql.push("obs_producer_window"),
            (None, false, _) => sql.push("obs_producer_total"),
            (None, true, Some(range)) => {
                range.push_sums(sql);
                sql
            }
            // A release's published cells.
            (None, true, None) => {
                let sums: Vec<String> = stored_columns()
                    .map(|column| match column {
                        "atoms" => "COUNT(*) AS atoms".to_owned(),
                        _ => format!("CAST(SUM(a.{column}) AS BIGINT) AS {column}"),
                    })
                    .collect();
                sql.push(&format!("(SELECT a.producer_id, {}", sums.join(", ")));
                push_atoms(sql, scope, k, false);
                push_period_conditions(sql, scope);
                sql.push(" GROUP BY a.producer_id)")
            }
        };
    };
    let figures: Vec<String> = stored_columns()
        .map(|column| format!("COALESCE(t.{column}, 0)"))
        .chain(facts::columns().map(|column| match facts_of {
            Some(of) => format!("COALESCE({of}.{column}, 0)"),
            None => "CAST(0 AS BIGINT)".to_owned(),
        }))
        .collect();
    let figures = figures.join(", ");
    let read = |row: &QueryResult, first: usize| -> Result<(Option<Sums>, Facts)> {
        let sums = Sums::from_row(row, first)?;
        let facts = Facts::from_row(row, first + stored_columns().count())?;
        Ok(((sums.atoms > 0).then_some(sums), facts))
    };
    let run = |sql: Sql| async {
        match range {
            Some(_) => cumulative::read(db, sql.build()).await,
            None => Ok(db.query_all_raw(sql.build()).await?),
        }
    };
    let mut out = Vec::new();
    if !matches!(after, Some(RankAfter::Rest(_))) {
        let mut sql = Sql::new(backend);
        // Over a range, the page is chosen among the range's sums alone, and
        // only its producers are joined (a join first would join them all).
        let alias = match range {
            Some(_) => {
                sql.push(&format!(
                    "SELECT p.id, p.name, t.rank_key, {figures} FROM (SELECT r.*, {key} AS rank_key FROM "
                ));
                push_source(&mut sql);
                sql.push(&format!(" r WHERE {keyed}"));
                "r"
            }
            None => {
                sql.push(&format!("SELECT p.id, p.name, {key}, {figures} FROM "));
                push_source(&mut sql);
                sql.push(&format!(
                    " t JOIN producer p ON p.id = t.producer_id{facts_join} WHERE {keyed}"
                ));
                "t"
            }
        };
        if let Some(window) = scope.window {
            sql.push(" AND t.span = ").bind(window.name());
        }
        if let Some(RankAfter::Keyed(value, id)) = after {
            let bind = |sql: &mut Sql| match value {
                RankKey::Signatures(value) => {
                    sql.bind(value);
                }
                RankKey::TrustIndex(value) => {
                    sql.bind(value);
                }
            };
            // `key <= value` bounds the index scan; the rest breaks ties.
            sql.push(&format!(" AND {key} <= "));
            bind(&mut sql);
            sql.push(&format!(" AND ({key} < "));
            bind(&mut sql);
            sql.push(&format!(" OR {alias}.producer_id > "))
                .bind(id)
                .push(")");
        }
        if range.is_none() {
            push_producer_conditions(&mut sql, scope);
        } else {
            sql.wrap(
                " AND r.producer_id IN (SELECT p.id FROM producer p WHERE 1 = 1",
                |sql| push_producer_conditions(sql, scope),
                ")",
            );
        }
        sql.push(&format!(" ORDER BY {key} DESC, {alias}.producer_id LIMIT "))
            .bind(limit as i64);
        if range.is_some() {
            sql.push(
                ") t JOIN producer p ON p.id = t.producer_id ORDER BY t.rank_key DESC, t.producer_id",
            );
        }
        for row in run(sql).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let value = match by {
                RankBy::Signatures => RankKey::Signatures(row.try_get_by_index(2)?),
                _ => RankKey::TrustIndex(row.try_get_by_index(2)?),
            };
            let (sums, facts) = read(&row, 3)?;
            out.push(RankedRow {
                producer: ProducerRow {
                    id,
                    name: row.try_get_by_index(1)?,
                },
                after: RankAfter::Keyed(value, id),
                sums,
                facts,
            });
        }
    }
    let left = limit.saturating_sub(out.len() as u64);
    if left > 0 {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "SELECT p.id, p.name, {figures} FROM producer p LEFT JOIN "
        ));
        push_source(&mut sql);
        sql.push(" t ON t.producer_id = p.id");
        if let Some(window) = scope.window {
            sql.push(" AND t.span = ").bind(window.name());
        }
        sql.push(facts_join);
        sql.push(&format!(" WHERE (t.producer_id IS NULL OR NOT ({keyed}))"));
        if let Some(RankAfter::Rest(id)) = after {
            sql.push(" AND p.id > ").bind(id);
        }
        push_producer_conditions(&mut sql, scope);
        sql.push(" ORDER BY p.id LIMIT ").bind(left as i64);
        for row in run(sql).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let (sums, facts) = read(&row, 2)?;
            out.push(RankedRow {
                producer: ProducerRow {
                    id,
                    name: row.try_get_by_index(1)?,
                },
                after: RankAfter::Rest(id),
                sums,
                facts,
            });
        }
    }
    Ok(out)
}
