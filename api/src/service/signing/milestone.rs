//! Milestones: 10, 100, 1 000, 10 000 and 100 000 signatures, and the
//! campaign's goal. Each is recorded once; the primary key (campaign,
//! threshold) settles races between signers crossing it together.

use chrono::{DateTime, Utc};
use entities::milestone;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::error::Result;
use crate::service::validate;

/// Signature counts worth celebrating, besides the goal.
pub const THRESHOLDS: [i64; 5] = [10, 100, 1_000, 10_000, 100_000];

/// Milestones this instance knows are recorded, so that signers do not ask
/// the database again and again. Bounded: past [`CACHE_LIMIT`] the least
/// used go first.
pub struct MilestoneCache {
    recorded: moka::sync::Cache<(Uuid, i64), ()>,
}

const CACHE_LIMIT: u64 = 100_000;

impl Default for MilestoneCache {
    fn default() -> Self {
        Self {
            recorded: moka::sync::Cache::new(CACHE_LIMIT),
        }
    }
}

impl MilestoneCache {
    fn known(&self, campaign: Uuid, threshold: i64) -> bool {
        self.recorded.contains_key(&(campaign, threshold))
    }

    fn remember(&self, campaign: Uuid, threshold: i64) {
        self.recorded.insert((campaign, threshold), ());
    }
}

/// The thresholds of a campaign with this goal, ascending.
pub fn thresholds(goal: Option<i32>) -> Vec<i64> {
    let mut all: Vec<i64> = THRESHOLDS.to_vec();
    if let Some(goal) = goal {
        all.push(i64::from(goal));
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// Records every milestone at or below `count` not recorded yet, and returns
/// those this call recorded (each is returned to exactly one caller).
pub async fn record_reached(
    db: &impl ConnectionTrait,
    cache: &MilestoneCache,
    campaign: Uuid,
    goal: Option<i32>,
    count: i64,
) -> Result<Vec<i64>> {
    let mut reached = Vec::new();
    for threshold in thresholds(goal).into_iter().filter(|t| *t <= count) {
        if cache.known(campaign, threshold) {
            continue;
        }
        let inserted = milestone::Entity::insert(milestone::ActiveModel {
            campaign_id: Set(campaign),
            threshold: Set(threshold),
            reached_at: Set(validate::now()),
            invalidated_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([milestone::Column::CampaignId, milestone::Column::Threshold])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        cache.remember(campaign, threshold);
        if inserted == 1 {
            reached.push(threshold);
        }
    }
    Ok(reached)
}

/// After a campaign's count moved to `count` (an invalidation, a revoked
/// offline tally, or their undoing): marks the milestones above it as
/// reached before that change, and clears the mark of those at or below it
/// again. Milestones are never recorded twice, so nothing is announced
/// again when the count climbs back.
pub async fn mark_against(db: &impl ConnectionTrait, campaign_id: Uuid, count: i64) {
    let now = validate::now();
    let above = milestone::Entity::update_many()
        .col_expr(milestone::Column::InvalidatedAt, Expr::value(now))
        .filter(milestone::Column::CampaignId.eq(campaign_id))
        .filter(milestone::Column::Threshold.gt(count))
        .filter(milestone::Column::InvalidatedAt.is_null())
        .exec(db)
        .await;
    let below = milestone::Entity::update_many()
        .col_expr(
            milestone::Column::InvalidatedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(milestone::Column::CampaignId.eq(campaign_id))
        .filter(milestone::Column::Threshold.lte(count))
        .exec(db)
        .await;
    if let Err(err) = above.and(below) {
        tracing::warn!(campaign = %campaign_id, %err, "milestones not marked");
    }
}

/// The milestones a campaign has reached, in order.
pub async fn of_campaign(
    db: &impl ConnectionTrait,
    campaign: Uuid,
) -> Result<Vec<milestone::Model>> {
    Ok(milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(campaign))
        .order_by_asc(milestone::Column::Threshold)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::thresholds;

    #[test]
    fn the_goal_joins_the_fixed_thresholds_once() {
        assert_eq!(
            thresholds(Some(500)),
            [10, 100, 500, 1_000, 10_000, 100_000]
        );
        assert_eq!(thresholds(Some(100)), [10, 100, 1_000, 10_000, 100_000]);
        assert_eq!(thresholds(None), [10, 100, 1_000, 10_000, 100_000]);
    }
}
