//! Questions about groups (sector, territory, community, value): their
//! members and their sums, kept or over a range.

use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use uuid::Uuid;

use crate::error::Result;
use crate::service::observatory::atoms::dimension_name;
use crate::service::observatory::facts::{self, Facts};
use crate::service::observatory::sql::Sql;

use super::conditions::*;
use super::{GroupBy, Scope, Sums};

/// Which group(s) each producer in scope belongs to: (producer, key, label).
/// A producer targeted by several communities' (or values') campaigns
/// belongs to each of them.
pub async fn memberships(
    db: &DatabaseConnection,
    by: GroupBy,
    scope: &Scope,
) -> Result<Vec<(Uuid, String, String)>> {
    let mut sql = Sql::new(db.get_database_backend());
    push_memberships(&mut sql, by, scope);
    let rows = db.query_all_raw(sql.build()).await?;
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

/// One group's stored totals.
#[derive(Clone, Debug)]
pub struct GroupTotals {
    pub key: String,
    pub label: String,
    pub producers: i64,
    pub sums: Sums,
    pub facts: Facts,
}

impl GroupTotals {
    /// Reads `key, label, producers`, then the stored totals' columns in
    /// [`stored_columns`]' order, then the facts' in [`facts::columns`]'.
    fn from_row(row: &QueryResult) -> Result<Self> {
        Ok(Self {
            key: row.try_get_by_index(0)?,
            label: row.try_get_by_index(1)?,
            producers: row.try_get_by_index(2)?,
            sums: Sums::from_row(row, 3)?,
            facts: Facts::from_row(row, 3 + stored_columns().count())?,
        })
    }
}

/// Every group's totals over all time (or the scope's kept window), summed
/// in the database from its producers' stored totals and facts (one row
/// each): for groups of a filtered set of producers, which the kept group
/// totals do not hold.
pub async fn group_totals(
    db: &DatabaseConnection,
    by: GroupBy,
    scope: &Scope,
) -> Result<Vec<GroupTotals>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT m.group_key, MIN(m.group_label), CAST(COUNT(*) AS BIGINT)");
    for column in stored_columns() {
        sql.push(&format!(", CAST(COALESCE(SUM(t.{column}), 0) AS BIGINT)"));
    }
    // A window's row holds both the sums and the facts (and a producer
    // with nothing in the window has none).
    let facts_of = if scope.window.is_some() { "t" } else { "f" };
    for column in facts::columns() {
        sql.push(&format!(
            ", CAST(COALESCE(SUM({facts_of}.{column}), 0) AS BIGINT)"
        ));
    }
    sql.push(" FROM (");
    push_memberships(&mut sql, by, scope);
    match scope.window {
        Some(window) => sql
            .push(") m LEFT JOIN obs_producer_window t ON t.producer_id = m.producer_id AND t.span = ")
            .bind(window.name()),
        None => sql.push(
            ") m LEFT JOIN obs_producer_total t ON t.producer_id = m.producer_id \
             LEFT JOIN obs_producer_fact f ON f.producer_id = m.producer_id",
        ),
    };
    sql.push(" GROUP BY m.group_key");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter().map(GroupTotals::from_row).collect()
}

/// Every group of a dimension, read from the kept group totals (all time,
/// no filter): one row per group.
pub async fn stored_groups(db: &DatabaseConnection, by: GroupBy) -> Result<Vec<GroupTotals>> {
    let (label, join) = group_label(by);
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!("SELECT g.group_key, {label}, g.producers"));
    for column in stored_columns() {
        sql.push(&format!(", g.{column}"));
    }
    for column in facts::columns() {
        sql.push(&format!(", g.{column}"));
    }
    sql.push(" FROM obs_group_total g")
        .push(join)
        .push(" WHERE g.producers > 0 AND g.dimension = ")
        .bind(dimension_name(by));
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter().map(GroupTotals::from_row).collect()
}

/// Every group of a dimension over the scope's periods, read from the kept
/// group rows (no filter on producers): member sums from the groups' period
/// rows in range (open periods left out), facts from those in range (or
/// all time, as the groups' all-time rows hold them).
pub async fn stored_groups_over(
    db: &DatabaseConnection,
    by: GroupBy,
    scope: &Scope,
) -> Result<Vec<GroupTotals>> {
    let (label, join) = group_label(by);
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT g.group_key, MIN({label}), MIN(g.producers)"
    ));
    for column in stored_columns() {
        sql.push(", CAST(COALESCE(SUM(CASE WHEN 1 = 1");
        if let Some(open) = &scope.open_from {
            sql.push(" AND a.period_start < ").bind(open.clone());
        }
        sql.push(&format!(" THEN a.{column} ELSE 0 END), 0) AS BIGINT)"));
    }
    for column in facts::columns() {
        sql.push(&format!(", CAST(COALESCE(SUM(a.{column}), 0) AS BIGINT)"));
    }
    sql.push(
        " FROM obs_group_total g LEFT JOIN obs_group_period a \
         ON a.dimension = g.dimension AND a.group_key = g.group_key",
    );
    push_range(&mut sql, scope);
    sql.push(join)
        .push(" WHERE g.producers > 0 AND g.dimension = ")
        .bind(dimension_name(by))
        .push(" GROUP BY g.group_key");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter().map(GroupTotals::from_row).collect()
}

/// A group's label, and the join that finds it.
pub(super) fn group_label(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Community => (
            "COALESCE(co.name, g.group_key)",
            " LEFT JOIN community co ON co.slug = g.group_key",
        ),
        GroupBy::ValueTag => (
            "COALESCE(v.name, g.group_key)",
            " LEFT JOIN value_tag v ON v.slug = g.group_key",
        ),
        GroupBy::Sector | GroupBy::Territory => ("g.group_key", ""),
    }
}
