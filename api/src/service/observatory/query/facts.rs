//! The producer's side: published campaigns and their first answers,
//! commitments, and whether a slug exists.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::error::Result;
use crate::service::observatory::facts::{CampaignFact, CommitmentFact};
use crate::service::observatory::sql::Sql;

use super::Scope;
use super::conditions::*;

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
             WHERE r.campaign_id = c.id AND (r.hidden_at IS NULL OR r.hidden_scope = 'COMMUNITY')), \
             c.response_due_at, c.answered_at \
             FROM campaign c JOIN producer p ON p.id = c.producer_id \
             WHERE c.published_at IS NOT NULL \
             AND (c.hidden_at IS NULL OR c.hidden_scope = 'COMMUNITY')",
        );
    } else {
        sql.push(
            "SELECT c.producer_id, c.published_at, fr.first_at, c.response_due_at, c.answered_at \
             FROM campaign c \
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
                response_due_at: row.try_get_by_index(3)?,
                answered_at: row.try_get_by_index(4)?,
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
