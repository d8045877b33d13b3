//! Reading the rollups and the producer-side facts (campaigns, responses,
//! commitments) that the observatory's cells are built from.
//!
//! Every member-contributed number comes from *released* atoms only: a
//! producer-period with fewer than k distinct members is left out of every
//! sum, so no answer, and no difference of answers, ever contains it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::producer::ProducerKind;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use uuid::Uuid;

use super::atoms::{COUNT_COLUMNS, Prior, Window, dimension_name};
use super::facts::{self, CampaignFact, CommitmentFact, Facts};
use super::sql::Sql;
use crate::error::Result;

pub use super::atoms::{GroupBy, Scope, Sums};

/// How a ranking is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankBy {
    TrustIndex,
    Signatures,
    ResponseRate,
}

const SUM_COLUMNS: &str = "CAST(SUM(a.members) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
    CAST(SUM(a.signatures) AS BIGINT), \
    CAST(SUM(a.ratings_transparency) AS BIGINT), CAST(SUM(a.ratings_fairness) AS BIGINT), \
    CAST(SUM(a.ratings_commitment_keeping) AS BIGINT), CAST(SUM(a.ratings_quality) AS BIGINT), \
    CAST(SUM(a.score_transparency) AS BIGINT), CAST(SUM(a.score_fairness) AS BIGINT), \
    CAST(SUM(a.score_commitment_keeping) AS BIGINT), CAST(SUM(a.score_quality) AS BIGINT), \
    CAST(SUM(a.pledges_buy) AS BIGINT), CAST(SUM(a.pledges_avoid) AS BIGINT), \
    CAST(SUM(a.pledges_switch) AS BIGINT), CAST(SUM(a.pledges_reduce) AS BIGINT), \
    CAST(SUM(a.pledged_cents) AS BIGINT)";

/// Campaigns that count for a producer's groups: public (open or ended;
/// neither a draft nor still gathering sponsors or in review) and not
/// hidden by site moderators. A community moderator's hide moves nothing
/// here until a site moderator confirms it (see `service::oversight::moderation`).
const VISIBLE_CAMPAIGN: &str = "c.status IN ('OPEN', 'VICTORY', 'CLOSED') \
    AND (c.hidden_at IS NULL OR c.hidden_scope = 'COMMUNITY')";

/// Appends the conditions of `scope` on the producer aliased `p`.
fn push_producer_conditions(sql: &mut Sql, scope: &Scope) {
    if let Some(id) = scope.producer {
        sql.push(" AND p.id = ").bind(id);
    }
    if let Some(after) = scope.after {
        sql.push(" AND p.id > ").bind(after);
    }
    if let Some(through) = scope.through {
        sql.push(" AND p.id <= ").bind(through);
    }
    if let Some(ids) = &scope.ids {
        sql.push(" AND p.id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        if ids.is_empty() {
            sql.push("NULL");
        }
        sql.push(")");
    }
    if let Some(sector) = &scope.sector {
        sql.push(" AND p.sector = ").bind(sector.clone());
    }
    if let Some(kind) = scope.kind {
        sql.push(" AND p.kind = ").bind(kind_name(kind));
    }
    if let Some(territory) = &scope.territory {
        sql.push(" AND ").territory("p.territory", territory);
    }
    if let Some(tag) = &scope.value_tag {
        sql.push(
            " AND p.id IN (SELECT c.producer_id FROM campaign c \
             JOIN campaign_value_tag cv ON cv.campaign_id = c.id \
             JOIN value_tag v ON v.id = cv.value_tag_id WHERE ",
        )
        .push(VISIBLE_CAMPAIGN)
        .push(" AND v.slug = ")
        .bind(tag.clone())
        .push(")");
    }
    if let Some(community) = &scope.community {
        sql.push(
            " AND p.id IN (SELECT c.producer_id FROM campaign c \
             JOIN community co ON co.id = c.community_id WHERE ",
        )
        .push(VISIBLE_CAMPAIGN)
        .push(" AND co.slug = ")
        .bind(community.clone())
        .push(")");
    }
}

fn push_period_conditions(sql: &mut Sql, scope: &Scope) {
    if let Some(from) = &scope.from {
        sql.push(" AND a.period_start >= ").bind(from.clone());
    }
    if let Some(to) = &scope.to {
        sql.push(" AND a.period_start < ").bind(to.clone());
    }
    if let Some(open) = &scope.open_from {
        sql.push(" AND a.period_start < ").bind(open.clone());
    }
}

fn kind_name(kind: ProducerKind) -> String {
    use sea_orm::ActiveEnum;
    kind.to_value()
}

/// The kept totals' columns, in the order `SUM_COLUMNS` gives them.
fn kept_columns() -> impl Iterator<Item = &'static str> {
    ["members", "atoms"].into_iter().chain(COUNT_COLUMNS)
}

/// Released sums per producer over the scope's periods: over all time,
/// from each producer's kept total (less the open periods' released atoms,
/// when only closed periods are published: one atom per producer at most);
/// over a range, from the range's atoms.
pub async fn sums_by_producer(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    if scope.from.is_none() && scope.to.is_none() {
        return kept_sums_by_producer(db, k, scope).await;
    }
    if let Some(window) = scope.window {
        return window_sums_by_producer(db, window, scope).await;
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT a.producer_id, ")
        .push(SUM_COLUMNS)
        .push(" FROM obs_atom a JOIN producer p ON p.id = a.producer_id WHERE a.members >= ")
        .bind(i64::from(k));
    push_producer_conditions(&mut sql, scope);
    push_period_conditions(&mut sql, scope);
    sql.push(" GROUP BY a.producer_id");
    let rows = db.query_all_raw(sql.build()).await?;
    let mut sums = HashMap::with_capacity(rows.len());
    for row in rows {
        sums.insert(row.try_get_by_index::<Uuid>(0)?, Sums::from_row(&row, 1)?);
    }
    Ok(sums)
}

async fn kept_sums_by_producer(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.producer_id");
    for column in kept_columns() {
        match scope.open_from {
            Some(_) => sql.push(&format!(", t.{column} - COALESCE(o.{column}, 0)")),
            None => sql.push(&format!(", t.{column}")),
        };
    }
    sql.push(" FROM obs_producer_total t JOIN producer p ON p.id = t.producer_id");
    if let Some(open) = &scope.open_from {
        sql.push(" LEFT JOIN (SELECT a.producer_id");
        for column in kept_columns() {
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

/// Released sums per producer over a kept window, from its window rows.
async fn window_sums_by_producer(
    db: &DatabaseConnection,
    window: Window,
    scope: &Scope,
) -> Result<HashMap<Uuid, Sums>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.producer_id");
    for column in kept_columns() {
        sql.push(&format!(", t.{column}"));
    }
    sql.push(" FROM obs_producer_window t JOIN producer p ON p.id = t.producer_id WHERE t.atoms > 0 AND t.span = ")
        .bind(window.name());
    push_producer_conditions(&mut sql, scope);
    let rows = db.query_all_raw(sql.build()).await?;
    let mut sums = HashMap::with_capacity(rows.len());
    for row in rows {
        sums.insert(row.try_get_by_index::<Uuid>(0)?, Sums::from_row(&row, 1)?);
    }
    Ok(sums)
}

/// The kept facts (campaigns, answers, commitments) of the producers in
/// scope: over all time, or over the scope's kept window.
pub async fn kept_facts_by_producer(
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

/// Released sums per period (summed over the scope's producers).
pub async fn sums_by_period(
    db: &DatabaseConnection,
    k: u32,
    scope: &Scope,
) -> Result<Vec<(String, Sums)>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT a.period_start, ")
        .push(SUM_COLUMNS)
        .push(" FROM obs_atom a JOIN producer p ON p.id = a.producer_id WHERE a.members >= ")
        .bind(i64::from(k));
    push_producer_conditions(&mut sql, scope);
    push_period_conditions(&mut sql, scope);
    sql.push(" GROUP BY a.period_start ORDER BY a.period_start");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index::<String>(0)?, Sums::from_row(row, 1)?)))
        .collect()
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

/// The overall trust index of a kept total, in SQL, for ordering: the
/// Bayesian `(w·m + 25·(Σ scores − n)) / (w + n)` of
/// [`trust_index`] over all four dimensions. Columns are
/// unqualified so that an index on the same text serves it (SQLite matches
/// indexed expressions as written).
pub fn trust_expression(prior: Prior) -> String {
    format!(
        "CAST(({weighted:?} + 25.0 * ({SCORES_SUM} - {RATINGS_SUM})) / ({weight:?} + {RATINGS_SUM}) AS DOUBLE PRECISION)",
        weighted = prior.weight * prior.mean,
        weight = prior.weight,
    )
}

/// A kept total's ratings, over the four dimensions.
pub const RATINGS_SUM: &str =
    "(ratings_transparency + ratings_fairness + ratings_commitment_keeping + ratings_quality)";

const SCORES_SUM: &str =
    "(score_transparency + score_fairness + score_commitment_keeping + score_quality)";

/// A ranking key read from the kept totals.
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
/// kept sums (`None` without a released atom) and facts, read with it.
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
/// or over a kept window, read from the kept totals through their indexes;
/// over any other range (or closed periods only), from each producer's
/// released atoms of the range, summed in the same statement, and without
/// the facts (the caller counts them for the page: [`ranged`]).
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
    let (key, keyed) = match by {
        RankBy::Signatures => ("signatures".to_owned(), "atoms > 0".to_owned()),
        _ => (
            trust_expression(prior),
            format!("atoms > 0 AND {RATINGS_SUM} > 0"),
        ),
    };
    // The page's figures come with it: the total's (or the window's, or the
    // range's) sums, and the kept facts (the window's row holds them too).
    let ranged = ranged(scope);
    let (facts_of, facts_join) = match (scope.window, ranged) {
        (Some(_), _) => (Some("t"), ""),
        (None, true) => (None, ""),
        (None, false) => (
            Some("f"),
            " LEFT JOIN obs_producer_fact f ON f.producer_id = p.id",
        ),
    };
    let push_source = |sql: &mut Sql| {
        match (scope.window, ranged) {
            (Some(_), _) => sql.push("obs_producer_window"),
            (None, false) => sql.push("obs_producer_total"),
            (None, true) => {
                let sums: Vec<String> = kept_columns()
                    .map(|column| match column {
                        "atoms" => "COUNT(*) AS atoms".to_owned(),
                        _ => format!("CAST(SUM(a.{column}) AS BIGINT) AS {column}"),
                    })
                    .collect();
                sql.push(&format!(
                    "(SELECT a.producer_id, {} FROM obs_atom a WHERE a.members >= ",
                    sums.join(", ")
                ))
                .bind(i64::from(k));
                push_period_conditions(sql, scope);
                sql.push(" GROUP BY a.producer_id)")
            }
        };
    };
    let figures: Vec<String> = kept_columns()
        .map(|column| format!("COALESCE(t.{column}, 0)"))
        .chain(facts::columns().map(|column| match facts_of {
            Some(of) => format!("COALESCE({of}.{column}, 0)"),
            None => "CAST(0 AS BIGINT)".to_owned(),
        }))
        .collect();
    let figures = figures.join(", ");
    let read = |row: &QueryResult, first: usize| -> Result<(Option<Sums>, Facts)> {
        let sums = Sums::from_row(row, first)?;
        let facts = Facts::from_row(row, first + kept_columns().count())?;
        Ok(((sums.atoms > 0).then_some(sums), facts))
    };
    let mut out = Vec::new();
    if !matches!(after, Some(RankAfter::Rest(_))) {
        let mut sql = Sql::new(backend);
        sql.push(&format!("SELECT p.id, p.name, {key}, {figures} FROM "));
        push_source(&mut sql);
        sql.push(&format!(
            " t JOIN producer p ON p.id = t.producer_id{facts_join} WHERE {keyed}"
        ));
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
            sql.push(" OR t.producer_id > ").bind(id).push(")");
        }
        push_producer_conditions(&mut sql, scope);
        sql.push(&format!(" ORDER BY {key} DESC, t.producer_id LIMIT "))
            .bind(limit as i64);
        for row in db.query_all_raw(sql.build()).await? {
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
        for row in db.query_all_raw(sql.build()).await? {
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

/// Whether the scope's sums are a range's (or the closed periods'), counted
/// from its atoms, rather than all time's or a kept window's.
pub fn ranged(scope: &Scope) -> bool {
    scope.window.is_none()
        && (scope.from.is_some() || scope.to.is_some() || scope.open_from.is_some())
}

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

/// The memberships' query: `producer_id, group_key, group_label`.
pub(super) fn push_memberships(sql: &mut Sql, by: GroupBy, scope: &Scope) {
    match by {
        GroupBy::Sector => sql.push(
            "SELECT p.id AS producer_id, p.sector AS group_key, p.sector AS group_label \
             FROM producer p WHERE 1 = 1",
        ),
        GroupBy::Territory => sql.push(
            "SELECT p.id AS producer_id, p.territory AS group_key, p.territory AS group_label \
             FROM producer p WHERE p.territory IS NOT NULL",
        ),
        GroupBy::Community => sql
            .push(
                "SELECT DISTINCT p.id AS producer_id, co.slug AS group_key, co.name AS group_label \
                 FROM campaign c JOIN community co ON co.id = c.community_id \
                 JOIN producer p ON p.id = c.producer_id WHERE ",
            )
            .push(VISIBLE_CAMPAIGN),
        GroupBy::ValueTag => sql
            .push(
                "SELECT DISTINCT p.id AS producer_id, v.slug AS group_key, v.name AS group_label \
                 FROM campaign c JOIN campaign_value_tag cv ON cv.campaign_id = c.id \
                 JOIN value_tag v ON v.id = cv.value_tag_id \
                 JOIN producer p ON p.id = c.producer_id WHERE ",
            )
            .push(VISIBLE_CAMPAIGN),
    };
    push_producer_conditions(sql, scope);
}

/// One group's kept totals.
#[derive(Clone, Debug)]
pub struct GroupTotals {
    pub key: String,
    pub label: String,
    pub producers: i64,
    pub sums: Sums,
    pub facts: Facts,
}

impl GroupTotals {
    /// Reads `key, label, producers`, then the kept totals' columns in
    /// [`kept_columns`]' order, then the facts' in [`facts::columns`]'.
    fn from_row(row: &QueryResult) -> Result<Self> {
        Ok(Self {
            key: row.try_get_by_index(0)?,
            label: row.try_get_by_index(1)?,
            producers: row.try_get_by_index(2)?,
            sums: Sums::from_row(row, 3)?,
            facts: Facts::from_row(row, 3 + kept_columns().count())?,
        })
    }
}

/// Every group's totals over all time (or the scope's kept window), summed
/// in the database from its producers' kept totals and facts (one row
/// each): for groups of a filtered set of producers, which the kept group
/// totals do not hold.
pub async fn group_totals(
    db: &DatabaseConnection,
    by: GroupBy,
    scope: &Scope,
) -> Result<Vec<GroupTotals>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT m.group_key, MIN(m.group_label), CAST(COUNT(*) AS BIGINT)");
    for column in kept_columns() {
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
pub async fn kept_groups(db: &DatabaseConnection, by: GroupBy) -> Result<Vec<GroupTotals>> {
    let (label, join) = group_label(by);
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!("SELECT g.group_key, {label}, g.producers"));
    for column in kept_columns() {
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

/// What the kept period sums can answer a question about: one producer,
/// every producer (the sectors' sums, as each producer has one sector), or
/// the producers of one group.
#[derive(Clone, Debug, PartialEq)]
pub enum Kept {
    Producer(Uuid),
    All,
    Group(GroupBy, String),
}

impl Kept {
    /// The kept sums that answer `scope`'s producers, if any (its periods
    /// aside).
    pub fn of(scope: &Scope) -> Option<Kept> {
        if scope.kind.is_some()
            || scope.ids.is_some()
            || scope.after.is_some()
            || scope.through.is_some()
        {
            return None;
        }
        let mut named = [
            scope.producer.map(Kept::Producer),
            scope
                .sector
                .clone()
                .map(|key| Kept::Group(GroupBy::Sector, key)),
            scope
                .territory
                .clone()
                .map(|key| Kept::Group(GroupBy::Territory, key)),
            scope
                .value_tag
                .clone()
                .map(|key| Kept::Group(GroupBy::ValueTag, key)),
            scope
                .community
                .clone()
                .map(|key| Kept::Group(GroupBy::Community, key)),
        ]
        .into_iter()
        .flatten();
        match (named.next(), named.next()) {
            (None, _) => Some(Kept::All),
            (Some(kept), None) => Some(kept),
            _ => None,
        }
    }
}

/// Released sums and facts per period over the scope's periods, read from
/// the kept period sums of `kept` (the scope's producers): a producer's
/// atoms and period facts, or its groups' period rows. Periods the scope
/// leaves open keep their facts but no member sums, as when counted from
/// the atoms.
pub async fn kept_periods(
    db: &DatabaseConnection,
    k: u32,
    kept: &Kept,
    scope: &Scope,
) -> Result<Vec<(String, Sums, Facts)>> {
    let backend = db.get_database_backend();
    let fact_columns: Vec<String> = facts::columns().collect();
    let mut periods: std::collections::BTreeMap<String, (Sums, Facts)> = Default::default();
    match kept {
        Kept::Producer(producer) => {
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
        Kept::All | Kept::Group(..) => {
            let mut sql = Sql::new(backend);
            sql.push("SELECT a.period_start");
            for column in kept_columns().map(str::to_owned).chain(fact_columns) {
                sql.push(&format!(", CAST(SUM(a.{column}) AS BIGINT)"));
            }
            sql.push(" FROM obs_group_period a WHERE a.dimension = ");
            match kept {
                Kept::Group(by, key) => {
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
                let facts = Facts::from_row(&row, 1 + kept_columns().count())?;
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

/// The scope's `from`/`to` on the periods aliased `a` (not its open
/// periods: their facts still count).
fn push_range(sql: &mut Sql, scope: &Scope) {
    let range = Scope {
        from: scope.from.clone(),
        to: scope.to.clone(),
        ..Scope::default()
    };
    push_period_conditions(sql, &range);
}

/// Every group of a dimension over the scope's periods, read from the kept
/// group rows (no filter on producers): member sums from the groups' period
/// rows in range (open periods left out), facts from those in range (or
/// all time, as the groups' all-time rows hold them).
pub async fn kept_groups_over(
    db: &DatabaseConnection,
    by: GroupBy,
    scope: &Scope,
) -> Result<Vec<GroupTotals>> {
    let (label, join) = group_label(by);
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT g.group_key, MIN({label}), MIN(g.producers)"
    ));
    for column in kept_columns() {
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
fn group_label(by: GroupBy) -> (&'static str, &'static str) {
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

/// Published campaigns aimed at producers in scope, published in
/// `[from, to)`, with their first response; what site moderators hid left
/// out (a community moderator's hide counts once a site moderator confirms
/// it).
pub async fn campaigns(
    db: &impl ConnectionTrait,
    scope: &Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<CampaignFact>> {
    let mut sql = Sql::new(db.get_database_backend());
    let bounded = scope.ids.is_some()
        || scope.producer.is_some()
        || scope.through.is_some()
        || from.is_some()
        || to.is_some();
    if bounded {
        // A few producers (a page, one, an export's chunk) or a range of
        // time: each campaign's first answer through the response index,
        // instead of grouping every response there is.
        sql.push(
            "SELECT c.producer_id, c.published_at, (SELECT MIN(r.created_at) FROM producer_response r \
             WHERE r.campaign_id = c.id AND (r.hidden_at IS NULL OR r.hidden_scope = 'COMMUNITY')) \
             FROM campaign c JOIN producer p ON p.id = c.producer_id \
             WHERE c.published_at IS NOT NULL \
             AND (c.hidden_at IS NULL OR c.hidden_scope = 'COMMUNITY')",
        );
    } else {
        sql.push(
            "SELECT c.producer_id, c.published_at, fr.first_at FROM campaign c \
             JOIN producer p ON p.id = c.producer_id \
             LEFT JOIN (SELECT campaign_id, MIN(created_at) AS first_at FROM producer_response \
                        WHERE hidden_at IS NULL OR hidden_scope = 'COMMUNITY' \
                        GROUP BY campaign_id) fr ON fr.campaign_id = c.id \
             WHERE c.published_at IS NOT NULL \
             AND (c.hidden_at IS NULL OR c.hidden_scope = 'COMMUNITY')",
        );
    }
    push_producer_conditions(&mut sql, scope);
    if let Some(from) = from {
        sql.push(" AND c.published_at >= ").bind(from);
    }
    if let Some(to) = to {
        sql.push(" AND c.published_at < ").bind(to);
    }
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(CampaignFact {
                producer: row.try_get_by_index(0)?,
                published_at: row.try_get_by_index(1)?,
                first_response_at: row.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// Commitments made by producers in scope (in visible responses).
pub async fn commitments(
    db: &impl ConnectionTrait,
    scope: &Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<CommitmentFact>> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT r.producer_id, r.created_at, r.commitment_status, r.commitment_closed_at \
         FROM producer_response r JOIN producer p ON p.id = r.producer_id \
         WHERE r.commitment IS NOT NULL \
         AND (r.hidden_at IS NULL OR r.hidden_scope = 'COMMUNITY')",
    );
    push_producer_conditions(&mut sql, scope);
    if let Some(from) = from {
        sql.push(" AND r.created_at >= ").bind(from);
    }
    if let Some(to) = to {
        sql.push(" AND r.created_at < ").bind(to);
    }
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            let status: Option<String> = row.try_get_by_index(2)?;
            Ok(CommitmentFact {
                producer: row.try_get_by_index(0)?,
                made_at: row.try_get_by_index(1)?,
                kept: match status.as_deref() {
                    Some("KEPT") => Some(true),
                    Some("BROKEN") => Some(false),
                    _ => None,
                },
                closed_at: row.try_get_by_index(3)?,
            })
        })
        .collect()
}

/// Whether `table` (`value_tag` or `community`) has a row with this slug.
pub async fn slug_exists(db: &DatabaseConnection, table: &str, slug: &str) -> Result<bool> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT 1 FROM ")
        .push(table)
        .push(" WHERE slug = ")
        .bind(slug.to_owned());
    Ok(db.query_one_raw(sql.build()).await?.is_some())
}
