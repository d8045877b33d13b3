//! Trust ratings: a member rates a producer 1–5 on one or more dimensions.
//! One rating per (member, producer, dimension) per calendar month;
//! re-rating within the month replaces it. Every change reaches the
//! observatory's rollups in the same transaction.

use std::net::IpAddr;

use entities::producer;
use entities::producer_representative::{self, ClaimStatus};
use entities::trust_rating::{self, Dimension};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::ratelimit::Action;
use crate::service::fold;
use crate::service::observatory::rollup::Delta;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// One dimension's score.
#[derive(Clone, Copy, Debug)]
pub struct Score {
    pub dimension: Dimension,
    pub score: i32,
}

/// The calendar month a rating made now belongs to.
pub fn current_period() -> String {
    validate::now().format("%Y-%m").to_string()
}

fn check_scores(scores: &[Score]) -> Result<()> {
    if scores.is_empty() || scores.len() > 4 {
        return Err(AppError::invalid(
            "input.scores",
            "input.scores must rate between 1 and 4 dimensions",
        ));
    }
    for (i, score) in scores.iter().enumerate() {
        if !(1..=5).contains(&score.score) {
            return Err(AppError::invalid(
                "input.scores",
                format!("input.scores[{i}].score must be between 1 and 5"),
            ));
        }
        if scores[..i].iter().any(|s| s.dimension == score.dimension) {
            return Err(AppError::invalid(
                "input.scores",
                format!("input.scores rates {:?} twice", score.dimension),
            ));
        }
    }
    Ok(())
}

/// Rates `producer_id` as `actor`; returns the actor's ratings of it for
/// this month.
pub async fn rate(
    state: &AppState,
    actor: Viewer,
    client: Option<IpAddr>,
    producer_id: Uuid,
    scores: Vec<Score>,
) -> Result<Vec<trust_rating::Model>> {
    actor.require_confirmed()?;
    check_scores(&scores)?;
    state.limits.check_member(Action::Rate, actor.id)?;
    if let Some(ip) = client {
        state.limits.check_address(Action::Rate, ip)?;
    }
    producer::Entity::find_by_id(producer_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("producer"))?;
    let represents = producer_representative::Entity::find()
        .filter(producer_representative::Column::ProducerId.eq(producer_id))
        .filter(producer_representative::Column::MemberId.eq(actor.id))
        .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
        .one(&state.db)
        .await?
        .is_some();
    if represents {
        return Err(AppError::Forbidden(
            "a producer's representatives cannot rate it".into(),
        ));
    }
    let period = current_period();
    let now = validate::now();
    let mut changes = fold::Changes::default();
    let (writer, txn) = state.begin_write().await?;
    for Score { dimension, score } in scores {
        let score = score as i16;
        let existing = trust_rating::Entity::find()
            .filter(trust_rating::Column::MemberId.eq(actor.id))
            .filter(trust_rating::Column::ProducerId.eq(producer_id))
            .filter(trust_rating::Column::Dimension.eq(dimension))
            .filter(trust_rating::Column::Period.eq(period.as_str()))
            .one(&txn)
            .await?;
        match existing {
            Some(old) => {
                let (old_score, created_at) = (old.score, old.created_at);
                let mut changed: trust_rating::ActiveModel = old.into();
                changed.score = Set(score);
                changed.updated_at = Set(now);
                changed.update(&txn).await?;
                let delta = Delta::rating(dimension, Some(old_score), score);
                changes.rollup(producer_id, created_at, actor.id, &delta);
            }
            None => {
                trust_rating::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    member_id: Set(Some(actor.id)),
                    producer_id: Set(producer_id),
                    dimension: Set(dimension),
                    score: Set(score),
                    period: Set(period.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await
                .map_err(AppError::on_unique(
                    "this rating changed meanwhile; send it again",
                ))?;
                let delta = Delta::rating(dimension, None, score);
                changes.rollup(producer_id, now, actor.id, &delta);
            }
        }
    }
    fold::record(&txn, &changes).await?;
    txn.commit().await?;
    drop(writer);
    state.folder.settle().await;
    of_member(&state.db, actor.id, producer_id, &period).await
}

/// `member`'s ratings of `producer_id` for `period` (`YYYY-MM`).
pub async fn of_member(
    db: &impl ConnectionTrait,
    member: Uuid,
    producer_id: Uuid,
    period: &str,
) -> Result<Vec<trust_rating::Model>> {
    Ok(trust_rating::Entity::find()
        .filter(trust_rating::Column::MemberId.eq(member))
        .filter(trust_rating::Column::ProducerId.eq(producer_id))
        .filter(trust_rating::Column::Period.eq(period))
        .order_by_asc(trust_rating::Column::Dimension)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(dimension: Dimension, score: i32) -> Score {
        Score { dimension, score }
    }

    #[test]
    fn scores_are_checked() {
        assert!(check_scores(&[]).is_err());
        assert!(check_scores(&[score(Dimension::Quality, 0)]).is_err());
        assert!(check_scores(&[score(Dimension::Quality, 6)]).is_err());
        assert!(
            check_scores(&[score(Dimension::Quality, 3), score(Dimension::Quality, 4)]).is_err()
        );
        assert!(
            check_scores(&[score(Dimension::Quality, 1), score(Dimension::Fairness, 5)]).is_ok()
        );
    }
}
