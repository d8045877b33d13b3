//! Values kept beside campaigns and communities so that every ordering a
//! list offers walks an index instead of counting: a campaign's signature
//! total, a community's member count, and the momentum of both. Signature
//! changes move them through the fold (`service::fold`, in its pass's
//! transaction); joins and offline tallies in the transaction of their own
//! change.
//!
//! Momentum is the sum of `exp(-age / 1 day)` over a campaign's counted
//! signatures (for a community: over its joins and the signatures on its
//! campaigns): a steady 100 signatures a day gives a momentum near 100, a
//! burst an hour ago counts almost fully, one a week ago hardly at all. It
//! is stored as `ln(Σ exp((t - EPOCH) / 1 day))`, which never needs
//! updating as time passes: every row decays by the same factor, so the
//! stored values keep their order and an index on them serves `TRENDING`.
//! Its value now is `exp(stored - (now - EPOCH) / 1 day)`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use entities::{campaign, community};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::response_request::{self, ResponseRule};

use crate::error::Result;

/// Momentum of something nobody has acted on yet (`exp` of it is zero).
pub const NO_MOMENTUM: f64 = -1.0e9;

/// Seconds in the time constant of momentum (one day).
const TAU_SECS: f64 = 86_400.0;

/// The fixed origin of stored momentum.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// The logarithm one action at `at` adds.
pub fn log_weight(at: DateTime<Utc>) -> f64 {
    (at - epoch()).num_milliseconds() as f64 / 1_000.0 / TAU_SECS
}

/// `ln(Σ exp(x))` over a stream of `x`, without overflow.
#[derive(Clone, Copy, Debug)]
pub struct LogSum {
    max: f64,
    /// `Σ exp(x - max)`.
    sum: f64,
}

impl Default for LogSum {
    fn default() -> Self {
        Self {
            max: NO_MOMENTUM,
            sum: 0.0,
        }
    }
}

impl LogSum {
    pub fn add(&mut self, x: f64) {
        if x <= NO_MOMENTUM {
            return;
        }
        if x > self.max {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        } else {
            self.sum += (x - self.max).exp();
        }
    }

    /// The logarithm of the sum; [`NO_MOMENTUM`] when nothing was added.
    pub fn value(&self) -> f64 {
        if self.sum > 0.0 {
            self.max + self.sum.ln()
        } else {
            NO_MOMENTUM
        }
    }
}

/// `ln(Σ exp(x))` without overflow.
pub fn log_sum(logs: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = LogSum::default();
    for x in logs {
        sum.add(x);
    }
    sum.value()
}

/// Stored momentum after adding (`sign` > 0) or taking away the actions
/// whose weights sum to `exp(change)`.
pub fn combine(stored: f64, change: f64, sign: i64) -> f64 {
    if sign > 0 {
        log_sum([stored, change])
    } else if stored > change + 1e-9 && stored > NO_MOMENTUM {
        // ln(exp(s) - exp(c)) = s + ln(1 - exp(c - s))
        let rest = stored + (-(change - stored).exp()).ln_1p();
        if rest.is_finite() { rest } else { NO_MOMENTUM }
    } else {
        NO_MOMENTUM
    }
}

/// Momentum as of `now`: about the number of actions of the last day.
pub fn momentum_now(stored: f64, now: DateTime<Utc>) -> f64 {
    if stored <= NO_MOMENTUM {
        0.0
    } else {
        (stored - log_weight(now)).exp()
    }
}

/// Signatures of one campaign that started (`sign` 1) or stopped (-1)
/// counting, made at `at`.
pub struct SignatureChange {
    pub campaign_id: Uuid,
    pub community_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub sign: i64,
}

/// Changes per key: count and momentum logarithm, separately for additions
/// and removals. A `BTreeMap` so rows are locked in key order.
#[derive(Default)]
struct Moves {
    count: i64,
    added: Vec<f64>,
    removed: Vec<f64>,
}

fn group(changes: impl Iterator<Item = (Uuid, DateTime<Utc>, i64)>) -> BTreeMap<Uuid, Moves> {
    let mut grouped: BTreeMap<Uuid, Moves> = BTreeMap::new();
    for (key, at, sign) in changes {
        let moves = grouped.entry(key).or_default();
        moves.count += sign;
        if sign > 0 {
            moves.added.push(log_weight(at));
        } else {
            moves.removed.push(log_weight(at));
        }
    }
    grouped
}

fn apply_moves(stored: f64, moves: &Moves) -> f64 {
    let mut momentum = stored;
    if !moves.added.is_empty() {
        momentum = combine(momentum, log_sum(moves.added.iter().copied()), 1);
    }
    if !moves.removed.is_empty() {
        momentum = combine(momentum, log_sum(moves.removed.iter().copied()), -1);
    }
    momentum
}

/// Keeps signature totals and momentum of the campaigns (and their
/// communities) that `changes` touch, inside the caller's transaction.
/// Rows are read and written in key order, so concurrent batches lock them
/// alike.
pub async fn signatures(
    db: &impl ConnectionTrait,
    rule: ResponseRule,
    changes: &[SignatureChange],
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let campaigns = group(
        changes
            .iter()
            .map(|change| (change.campaign_id, change.at, change.sign)),
    );
    let stored = locked_momentum::<campaign::Entity>(
        db,
        campaign::Column::Id,
        campaign::Column::Momentum,
        campaigns.keys(),
    )
    .await?;
    let rows: Vec<(Uuid, i64, f64)> = campaigns
        .iter()
        .map(|(id, moves)| {
            let stored = stored.get(id).copied().unwrap_or(NO_MOMENTUM);
            (*id, moves.count, apply_moves(stored, moves))
        })
        .collect();
    write_rows(db, "campaign", "signature_total", &rows).await?;
    let ids: Vec<Uuid> = campaigns.keys().copied().collect();
    let fell = changes.iter().any(|change| change.sign < 0);
    response_request::follow(db, rule, &ids, fell).await?;
    let communities = group(
        changes
            .iter()
            .filter_map(|change| Some((change.community_id?, change.at, change.sign))),
    );
    community_momentum(db, &communities).await
}

/// Adds verified offline signatures to a campaign's total.
pub async fn offline_signatures(
    db: &impl ConnectionTrait,
    rule: ResponseRule,
    campaign_id: Uuid,
    count: i64,
) -> Result<()> {
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::SignatureTotal,
            Expr::col(campaign::Column::SignatureTotal).add(count),
        )
        .filter(campaign::Column::Id.eq(campaign_id))
        .exec(db)
        .await?;
    response_request::follow(db, rule, &[campaign_id], count < 0).await?;
    Ok(())
}

/// A member joined (`sign` 1) or left (-1) a community at `at`. Leaving
/// takes the member out of the count, not out of past activity.
pub async fn membership(
    db: &impl ConnectionTrait,
    community_id: Uuid,
    at: DateTime<Utc>,
    sign: i64,
) -> Result<()> {
    community::Entity::update_many()
        .col_expr(
            community::Column::MemberCount,
            Expr::col(community::Column::MemberCount).add(sign),
        )
        .filter(community::Column::Id.eq(community_id))
        .exec(db)
        .await?;
    if sign > 0 {
        let joined = group(std::iter::once((community_id, at, 1)));
        community_momentum(db, &joined).await?;
    }
    Ok(())
}

async fn community_momentum(
    db: &impl ConnectionTrait,
    communities: &BTreeMap<Uuid, Moves>,
) -> Result<()> {
    if communities.is_empty() {
        return Ok(());
    }
    let stored = locked_momentum::<community::Entity>(
        db,
        community::Column::Id,
        community::Column::Momentum,
        communities.keys(),
    )
    .await?;
    // Signatures and joins move momentum only; `membership` counts members.
    let rows: Vec<(Uuid, i64, f64)> = communities
        .iter()
        .map(|(id, moves)| {
            let stored = stored.get(id).copied().unwrap_or(NO_MOMENTUM);
            (*id, 0, apply_moves(stored, moves))
        })
        .collect();
    write_rows(db, "community", "member_count", &rows).await
}

/// Stored momentum of the rows with these ids, locked against other
/// writers of them until the caller's transaction ends (PostgreSQL; SQLite
/// has one writer at a time).
async fn locked_momentum<'a, E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    momentum: E::Column,
    ids: impl Iterator<Item = &'a Uuid>,
) -> Result<BTreeMap<Uuid, f64>> {
    let mut query = E::find()
        .select_only()
        .column(id)
        .column(momentum)
        .filter(id.is_in(ids.copied()));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Not `FOR UPDATE`: every signature inserted meanwhile holds a
        // `FOR KEY SHARE` lock on its campaign (the foreign key), which
        // `FOR UPDATE` would wait for, and two batches would deadlock.
        query = query.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    let rows: Vec<(Uuid, f64)> = query.order_by_asc(id).into_tuple().all(db).await?;
    Ok(rows.into_iter().collect())
}

/// Rows per statement when values are written in bulk.
const BULK: usize = 500;

/// One `UPDATE … FROM (SELECT … UNION ALL …)` per [`BULK`] rows of
/// `(id, count, momentum)`: `momentum` is set, `count` added to
/// `count_column`.
async fn write_rows(
    db: &impl ConnectionTrait,
    table: &str,
    count_column: &str,
    rows: &[(Uuid, i64, f64)],
) -> Result<()> {
    let backend = db.get_database_backend();
    for chunk in rows.chunks(BULK) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 3);
        let mut selects = Vec::with_capacity(chunk.len());
        for (id, count, momentum) in chunk {
            let n = values.len();
            let placeholder = |i: usize| match backend {
                sea_orm::DbBackend::Postgres => format!("${}", n + i),
                _ => "?".to_owned(),
            };
            selects.push(format!(
                "SELECT {} AS id, {} AS n, {} AS m",
                placeholder(1),
                placeholder(2),
                placeholder(3)
            ));
            values.extend([(*id).into(), (*count).into(), (*momentum).into()]);
        }
        let sql = format!(
            "UPDATE {table} SET {count_column} = {table}.{count_column} + v.n, momentum = v.m FROM ({}) AS v WHERE {table}.id = v.id",
            selects.join(" UNION ALL ")
        );
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn a_steady_day_of_signatures_is_worth_about_its_count() {
        let now = epoch() + Duration::days(400);
        let logs = (0..1_440).map(|minute| log_weight(now - Duration::minutes(minute)));
        let momentum = momentum_now(log_sum(logs), now);
        // ∫₀¹ e^{-t} dt × 1 440 signatures ≈ 0.632 × 1 440.
        assert!((880.0..940.0).contains(&momentum), "{momentum}");
    }

    #[test]
    fn old_bursts_weigh_less_than_new_ones_and_order_is_kept() {
        let now = epoch() + Duration::days(300);
        let old = log_sum((0..100).map(|_| log_weight(now - Duration::days(10))));
        let new = log_weight(now - Duration::minutes(5));
        assert!(new > old);
        assert!(momentum_now(old, now) < 0.01);
        assert!(close(momentum_now(new, now), (-5.0f64 / 1_440.0).exp()));
    }

    #[test]
    fn removing_what_was_added_gives_back_the_start() {
        let at = epoch() + Duration::days(42);
        let base = log_sum([log_weight(at), log_weight(at + Duration::hours(3))]);
        let added = combine(base, log_weight(at + Duration::hours(5)), 1);
        let back = combine(added, log_weight(at + Duration::hours(5)), -1);
        assert!(close(back, base), "{back} vs {base}");
        assert_eq!(combine(log_weight(at), log_weight(at), -1), NO_MOMENTUM);
        assert_eq!(combine(NO_MOMENTUM, log_weight(at), -1), NO_MOMENTUM);
        assert_eq!(log_sum([]), NO_MOMENTUM);
        assert_eq!(momentum_now(NO_MOMENTUM, at), 0.0);
    }

    #[test]
    fn a_streamed_sum_equals_the_sum_in_any_order() {
        let xs = [3.0, 700.0, -5.0, 701.5, 699.0];
        let mut forward = LogSum::default();
        xs.iter().for_each(|&x| forward.add(x));
        let mut backward = LogSum::default();
        xs.iter().rev().for_each(|&x| backward.add(x));
        let direct = 701.5 + xs.iter().map(|x| (x - 701.5f64).exp()).sum::<f64>().ln();
        assert!(close(forward.value(), direct));
        assert!(close(backward.value(), direct));
        assert_eq!(LogSum::default().value(), NO_MOMENTUM);
    }

    #[test]
    fn grouping_counts_and_orders_by_key() {
        let at = epoch();
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let grouped = group([(a, at, 1), (b, at, 1), (a, at, -1), (a, at, 1)].into_iter());
        let keys: Vec<_> = grouped.keys().copied().collect();
        assert_eq!(keys, vec![b, a]);
        assert_eq!(grouped[&a].count, 1);
        assert_eq!(grouped[&a].added.len(), 2);
        assert_eq!(grouped[&a].removed.len(), 1);
    }
}
