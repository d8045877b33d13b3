//! The SQL the questions share: the sums' columns, which campaigns count,
//! the conditions of a scope and a period range, the trust index as SQL.

use entities::producer::ProducerKind;

use crate::service::observatory::atoms::{COUNT_COLUMNS, Prior};
use crate::service::observatory::sql::Sql;

use super::{GroupBy, Scope};

pub(super) const SUM_COLUMNS: &str = "CAST(SUM(a.members) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
    CAST(SUM(a.signatures) AS BIGINT), \
    CAST(SUM(a.ratings_transparency) AS BIGINT), CAST(SUM(a.ratings_fairness) AS BIGINT), \
    CAST(SUM(a.ratings_commitment_keeping) AS BIGINT), CAST(SUM(a.ratings_quality) AS BIGINT), \
    CAST(SUM(a.score_transparency) AS BIGINT), CAST(SUM(a.score_fairness) AS BIGINT), \
    CAST(SUM(a.score_commitment_keeping) AS BIGINT), CAST(SUM(a.score_quality) AS BIGINT), \
    CAST(SUM(a.pledges_buy) AS BIGINT), CAST(SUM(a.pledges_avoid) AS BIGINT), \
    CAST(SUM(a.pledges_switch) AS BIGINT), CAST(SUM(a.pledges_reduce) AS BIGINT), \
    CAST(SUM(a.pledged_cents) AS BIGINT)";

/// The cells a question sums, aliased `a` (joined to their producer `p`
/// when asked), with their first condition: the k-rule's released atoms,
/// or the differentially private release's published cells.
pub(super) fn push_atoms(sql: &mut Sql, scope: &Scope, k: u32, join_producer: bool) {
    let table = if scope.released {
        "obs_release_cell"
    } else {
        "obs_atom"
    };
    sql.push(&format!(" FROM {table} a"));
    if join_producer {
        sql.push(" JOIN producer p ON p.id = a.producer_id");
    }
    if scope.released {
        // Every stored cell cleared the release's threshold.
        sql.push(" WHERE 1 = 1");
    } else {
        sql.push(" WHERE a.members >= ").bind(i64::from(k));
    }
}

/// Campaigns that count for a producer's groups: public (open or ended;
/// neither a draft nor still gathering sponsors or in review) and not
/// hidden by site moderators. A community moderator's hide moves nothing
/// here until a site moderator confirms it (see `service::oversight::moderation`).
pub(super) const VISIBLE_CAMPAIGN: &str = "c.status IN ('OPEN', 'VICTORY', 'CLOSED') \
    AND (c.hidden_at IS NULL OR c.hidden_scope = 'COMMUNITY')";

/// Appends the conditions of `scope` on the producer aliased `p`.
pub(super) fn push_producer_conditions(sql: &mut Sql, scope: &Scope) {
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

pub(super) fn push_period_conditions(sql: &mut Sql, scope: &Scope) {
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

pub(super) fn kind_name(kind: ProducerKind) -> String {
    use sea_orm::ActiveEnum;
    kind.to_value()
}

/// The stored totals' columns, in the order `SUM_COLUMNS` gives them.
pub(super) fn stored_columns() -> impl Iterator<Item = &'static str> {
    ["members", "atoms"].into_iter().chain(COUNT_COLUMNS)
}

/// The overall trust index of a stored total, in SQL, for ordering: the
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

/// The same trust index in floating point throughout, for ordering sums a
/// query computes (which no index holds): cheaper than the numerics of
/// [`trust_expression`], and equal to it but for the last bits.
pub fn trust_expression_float(prior: Prior) -> String {
    format!(
        "((CAST({weighted:?} AS DOUBLE PRECISION) + 25.0 * CAST({SCORES_SUM} - {RATINGS_SUM} AS DOUBLE PRECISION)) \
         / (CAST({weight:?} AS DOUBLE PRECISION) + CAST({RATINGS_SUM} AS DOUBLE PRECISION)))",
        weighted = prior.weight * prior.mean,
        weight = prior.weight,
    )
}

/// A stored total's ratings, over the four dimensions.
pub const RATINGS_SUM: &str =
    "(ratings_transparency + ratings_fairness + ratings_commitment_keeping + ratings_quality)";

pub(super) const SCORES_SUM: &str =
    "(score_transparency + score_fairness + score_commitment_keeping + score_quality)";

/// Whether the scope's sums are a range's (or the closed periods'), counted
/// from its atoms, rather than all time's or a kept window's.
pub fn ranged(scope: &Scope) -> bool {
    scope.released
        || scope.window.is_none()
            && (scope.from.is_some() || scope.to.is_some() || scope.open_from.is_some())
}

/// The memberships' query: `producer_id, group_key, group_label`.
pub fn push_memberships(sql: &mut Sql, by: GroupBy, scope: &Scope) {
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

/// The scope's `from`/`to` on the periods aliased `a` (not its open
/// periods: their facts still count).
pub(super) fn push_range(sql: &mut Sql, scope: &Scope) {
    let range = Scope {
        from: scope.from.clone(),
        to: scope.to.clone(),
        ..Scope::default()
    };
    push_period_conditions(sql, &range);
}
