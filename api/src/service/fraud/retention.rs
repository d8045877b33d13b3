//! Retention: `CONSUMACT_RETENTION_DAYS` after a campaign ends, its
//! signatures lose what ties them to a person (the member, the comment, the
//! source and e-mail domain) and show as anonymous; their status, territory
//! and dates stay, so counts, the campaign's history and the observatory's
//! kept rollups are unchanged. The upkeep pass runs it on every instance:
//! each pass is one bounded, idempotent update, so instances running it
//! together only share the work.

use chrono::Duration;
use entities::campaign::{self, CampaignStatus};
use entities::signature;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::Result;
use crate::service::validate;
use crate::state::AppState;

/// Signatures anonymised per transaction.
const BATCH: u64 = 5_000;

/// Anonymises the signatures of campaigns ended more than the retention
/// period ago, a batch at a time; returns how many it changed.
pub async fn anonymise_ended(state: &AppState) -> Result<u64> {
    let before = validate::now() - Duration::days(i64::from(state.config.retention_days));
    let ended = Query::select()
        .column(campaign::Column::Id)
        .from(campaign::Entity)
        .and_where(campaign::Column::Status.is_in([
            CampaignStatus::Victory,
            CampaignStatus::Closed,
            CampaignStatus::Rejected,
        ]))
        .and_where(campaign::Column::ClosedAt.lt(before))
        .to_owned();
    let personal = Condition::any()
        .add(signature::Column::MemberId.is_not_null())
        .add(signature::Column::Comment.is_not_null())
        .add(signature::Column::SourceKey.is_not_null())
        .add(signature::Column::EmailDomain.is_not_null());
    let mut total = 0;
    loop {
        let ids: Vec<Uuid> = signature::Entity::find()
            .select_only()
            .column(signature::Column::Id)
            .filter(signature::Column::CampaignId.in_subquery(ended.clone()))
            .filter(personal.clone())
            .limit(BATCH)
            .into_tuple()
            .all(&state.db)
            .await?;
        if ids.is_empty() {
            return Ok(total);
        }
        let (writer, txn) = state.begin_write().await?;
        let changed = signature::Entity::update_many()
            .col_expr(signature::Column::MemberId, Expr::value(None::<Uuid>))
            .col_expr(signature::Column::Comment, Expr::value(None::<String>))
            .col_expr(signature::Column::SourceKey, Expr::value(None::<String>))
            .col_expr(signature::Column::EmailDomain, Expr::value(None::<String>))
            .col_expr(signature::Column::Anonymous, Expr::value(true))
            .filter(signature::Column::Id.is_in(ids.iter().copied()))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        drop(writer);
        total += changed;
        if (ids.len() as u64) < BATCH {
            return Ok(total);
        }
    }
}
