//! Pledges: commitments about buying, possibly conditional on enough
//! pledgers ("I will if 500 others will").
//!
//! A conditional pledge waits PENDING until the campaign has as many
//! pledgers as its threshold. Activation runs after each pledge commits, as
//! one guarded `UPDATE … WHERE status = 'PENDING' AND threshold <= (count)`:
//! the guard makes each pledge activate at most once, and because the last
//! pledger to commit runs it after every other pledge committed, no pledge
//! whose threshold is met stays pending. When the campaign closes (or its
//! deadline passes) first, its pending pledges expire.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::pledge::{self, PledgeKind, PledgeStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};
use uuid::Uuid;

use crate::bus::CounterChange;
use crate::counters::Counter;
use crate::error::{AppError, Result};
use crate::service::campaigns::campaign::read as campaigns;
use crate::service::fold;
use crate::service::observatory::rollup::Delta;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// Largest monthly amount a pledge may name: 10 000.00 in cents.
pub const MAX_MONTHLY_CENTS: i64 = 1_000_000;

/// Statuses that count as a pledger for activation thresholds.
const PLEDGERS: [PledgeStatus; 3] = [
    PledgeStatus::Pending,
    PledgeStatus::Active,
    PledgeStatus::Kept,
];

/// What `pledge` needs.
pub struct NewPledge {
    pub kind: PledgeKind,
    pub monthly_amount_cents: Option<i64>,
    pub activation_threshold: Option<i32>,
}

/// Pledges `actor` to an open campaign. A pledge withdrawn earlier is
/// renewed; a live one is a `CONFLICT`.
pub async fn pledge(
    state: &AppState,
    actor: Viewer,
    campaign_id: Uuid,
    input: NewPledge,
) -> Result<pledge::Model> {
    actor.require_confirmed()?;
    if let Some(amount) = input.monthly_amount_cents
        && !(0..=MAX_MONTHLY_CENTS).contains(&amount)
    {
        return Err(AppError::invalid(
            "input.monthlyAmountCents",
            format!("input.monthlyAmountCents must be between 0 and {MAX_MONTHLY_CENTS}"),
        ));
    }
    if let Some(threshold) = input.activation_threshold
        && !(1..=validate::MAX_GOAL).contains(&threshold)
    {
        return Err(AppError::invalid(
            "input.activationThreshold",
            format!(
                "input.activationThreshold must be between 1 and {}",
                validate::MAX_GOAL
            ),
        ));
    }
    let found = campaigns::get(&state.db, Some(actor), campaign_id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status != CampaignStatus::Open || found.deadline.is_some_and(|d| d <= validate::now())
    {
        return Err(AppError::Conflict(
            "this campaign is not open for pledges".into(),
        ));
    }
    let now = validate::now();
    let status = if input.activation_threshold.is_some() {
        PledgeStatus::Pending
    } else {
        PledgeStatus::Active
    };
    let existing = pledge::Entity::find()
        .filter(pledge::Column::CampaignId.eq(found.id))
        .filter(pledge::Column::MemberId.eq(actor.id))
        .one(&state.db)
        .await?;
    let (writer, txn) = state.begin_write().await?;
    let saved = match existing {
        Some(old) if old.status != PledgeStatus::Withdrawn => {
            return Err(AppError::Conflict(
                "you have already pledged to this campaign".into(),
            ));
        }
        Some(old) => {
            let mut renewed: pledge::ActiveModel = old.into();
            renewed.kind = Set(input.kind);
            renewed.monthly_amount_cents = Set(input.monthly_amount_cents);
            renewed.activation_threshold = Set(input.activation_threshold);
            renewed.status = Set(status);
            renewed.activated_at = Set((status == PledgeStatus::Active).then_some(now));
            renewed.closed_at = Set(None);
            renewed.producer_id = Set(found.producer_id);
            renewed.updated_at = Set(now);
            renewed.update(&txn).await?
        }
        None => pledge::ActiveModel {
            id: Set(Uuid::now_v7()),
            campaign_id: Set(found.id),
            producer_id: Set(found.producer_id),
            member_id: Set(Some(actor.id)),
            kind: Set(input.kind),
            monthly_amount_cents: Set(input.monthly_amount_cents),
            activation_threshold: Set(input.activation_threshold),
            status: Set(status),
            activated_at: Set((status == PledgeStatus::Active).then_some(now)),
            closed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(AppError::on_unique(
            "you have already pledged to this campaign",
        ))?,
    };
    let mut changes = fold::Changes::default();
    changes.rollup(
        found.producer_id,
        saved.created_at,
        actor.id,
        &Delta::pledge(1, saved.kind, saved.monthly_amount_cents),
    );
    fold::record(&txn, &changes).await?;
    txn.commit().await?;
    drop(writer);
    publish(state, found.id, Counter::Pledges, 1).await;
    if status == PledgeStatus::Active {
        publish(state, found.id, Counter::ActivePledges, 1).await;
    }
    // Counters first, right after the commit (reconciliation leaves a
    // counter alone only once it moved), then the fold.
    state.folder.settle().await;
    activate_reached(state, found.id).await?;
    Ok(pledge::Entity::find_by_id(saved.id)
        .one(&state.db)
        .await?
        .unwrap_or(saved))
}

/// Activates every pending pledge of the campaign whose threshold the
/// number of pledgers now meets; returns how many it activated.
pub async fn activate_reached(state: &AppState, campaign_id: Uuid) -> Result<u64> {
    let pledgers = Query::select()
        .expr(Expr::col(pledge::Column::Id).count())
        .from(pledge::Entity)
        .and_where(Expr::col(pledge::Column::CampaignId).eq(campaign_id))
        .and_where(Expr::col(pledge::Column::Status).is_in(PLEDGERS))
        .to_owned();
    let now = validate::now();
    let activated = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Active))
        .col_expr(pledge::Column::ActivatedAt, Expr::value(now))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::CampaignId.eq(campaign_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Pending))
        .filter(
            Expr::col(pledge::Column::ActivationThreshold)
                .lte(Expr::SubQuery(None, Box::new(pledgers.into()))),
        )
        .exec(&state.db)
        .await?
        .rows_affected;
    if activated > 0 {
        tracing::info!(campaign = %campaign_id, activated, "conditional pledges activated");
        publish(state, campaign_id, Counter::ActivePledges, activated as i64).await;
        let data = serde_json::json!({ "activated": activated });
        let _writer = crate::db::writer_turn(state.sqlite_writer.as_ref()).await;
        match crate::outbox::event::emit(
            &state.db,
            crate::vocabulary::EventType::PledgesActivated,
            campaign_id,
            data,
        )
        .await
        {
            Ok(_) => state.outbox.wake(),
            Err(err) => {
                tracing::warn!(campaign = %campaign_id, code = err.code(), "pledge activation not announced")
            }
        }
    }
    Ok(activated)
}

/// Moves one of `actor`'s pledges from one of `from` to `to`.
async fn move_own(
    state: &AppState,
    actor: Viewer,
    pledge_id: Uuid,
    from: &[PledgeStatus],
    to: PledgeStatus,
) -> Result<pledge::Model> {
    let found = pledge::Entity::find_by_id(pledge_id)
        .one(&state.db)
        .await?
        .filter(|found| found.member_id == Some(actor.id))
        .ok_or(AppError::NotFound("pledge"))?;
    if !from.contains(&found.status) {
        return Err(AppError::Conflict(format!(
            "this pledge is {:?}, it cannot become {:?}",
            found.status, to
        )));
    }
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let moved = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(to))
        .col_expr(pledge::Column::ClosedAt, Expr::value(now))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::Id.eq(found.id))
        .filter(pledge::Column::Status.eq(found.status))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict(
            "the pledge changed meanwhile; reload it".into(),
        ));
    }
    let mut changes = fold::Changes::default();
    if to == PledgeStatus::Withdrawn
        && let Some(member) = found.member_id
    {
        changes.rollup(
            found.producer_id,
            found.created_at,
            member,
            &Delta::pledge(-1, found.kind, found.monthly_amount_cents),
        );
    }
    fold::record(&txn, &changes).await?;
    txn.commit().await?;
    drop(writer);
    if found.status == PledgeStatus::Active {
        publish(state, found.campaign_id, Counter::ActivePledges, -1).await;
    }
    if to == PledgeStatus::Withdrawn {
        publish(state, found.campaign_id, Counter::Pledges, -1).await;
    }
    if !changes.is_empty() {
        state.folder.settle().await;
    }
    pledge::Entity::find_by_id(found.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("pledge"))
}

/// Withdraws a pending or active pledge.
pub async fn withdraw(state: &AppState, actor: Viewer, pledge_id: Uuid) -> Result<pledge::Model> {
    move_own(
        state,
        actor,
        pledge_id,
        &[PledgeStatus::Pending, PledgeStatus::Active],
        PledgeStatus::Withdrawn,
    )
    .await
}

/// Marks an active pledge as kept: the member did what they pledged.
pub async fn mark_kept(state: &AppState, actor: Viewer, pledge_id: Uuid) -> Result<pledge::Model> {
    move_own(
        state,
        actor,
        pledge_id,
        &[PledgeStatus::Active],
        PledgeStatus::Kept,
    )
    .await
}

/// Expires the pending pledges of a campaign that closed or whose deadline
/// passed before their threshold was met; returns how many.
pub async fn expire_pending(state: &AppState, campaign_id: Uuid) -> Result<u64> {
    let now = validate::now();
    let expired = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Expired))
        .col_expr(pledge::Column::ClosedAt, Expr::value(now))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::CampaignId.eq(campaign_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Pending))
        .exec(&state.db)
        .await?
        .rows_affected;
    if expired > 0 {
        tracing::info!(campaign = %campaign_id, expired, "conditional pledges expired");
        publish(state, campaign_id, Counter::Pledges, -(expired as i64)).await;
    }
    Ok(expired)
}

/// Expires pending pledges of open campaigns whose deadline has passed.
pub async fn expire_past_deadlines(state: &AppState, now: DateTime<Utc>) -> Result<u64> {
    let past: Vec<Uuid> = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Open))
        .filter(campaign::Column::Deadline.lte(now))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|found| found.id)
        .collect();
    let mut expired = 0;
    for campaign_id in past {
        expired += expire_pending(state, campaign_id).await?;
    }
    Ok(expired)
}

/// Adds to a pledge counter after a commit and tells subscribers.
async fn publish(state: &AppState, campaign_id: Uuid, counter: Counter, delta: i64) {
    match state
        .counters
        .add(&state.db, campaign_id, counter, delta)
        .await
    {
        Ok((value, seq)) => {
            state
                .bus
                .publish(CounterChange {
                    campaign_id,
                    counter: counter.into(),
                    value,
                    at: validate::now(),
                    milestone: None,
                    goal_reached: false,
                    seq,
                })
                .await
        }
        Err(err) => tracing::warn!(campaign = %campaign_id, ?err, "pledge counter not updated"),
    }
}

/// Totals of a campaign's pledges, for the public.
pub struct PledgeTotals {
    pub pledgers: i64,
    pub active: i64,
    /// `None` while fewer than k pledges sum into it.
    pub monthly_amount_cents: Option<i64>,
}

/// The public totals of `campaign_id`'s live pledges (pending, active,
/// kept), summed by the database: one row per status, whatever the count.
/// The amount (of active and kept pledges) is left out while fewer than
/// `k` pledges sum into it: with one pledger it would be theirs.
pub async fn totals(db: &impl ConnectionTrait, campaign_id: Uuid, k: i64) -> Result<PledgeTotals> {
    #[derive(sea_orm::FromQueryResult)]
    struct ByStatus {
        status: PledgeStatus,
        pledgers: i64,
        amount: i64,
    }
    let rows = pledge::Entity::find()
        .select_only()
        .column(pledge::Column::Status)
        .column_as(pledge::Column::Id.count(), "pledgers")
        // PostgreSQL sums BIGINTs as NUMERIC: back to BIGINT.
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(monthly_amount_cents), 0) AS BIGINT)"),
            "amount",
        )
        .filter(pledge::Column::CampaignId.eq(campaign_id))
        .filter(pledge::Column::Status.is_in(PLEDGERS))
        .group_by(pledge::Column::Status)
        .into_model::<ByStatus>()
        .all(db)
        .await?;
    Ok(PledgeTotals {
        pledgers: rows.iter().map(|row| row.pledgers).sum(),
        active: rows
            .iter()
            .filter(|row| row.status == PledgeStatus::Active)
            .map(|row| row.pledgers)
            .sum(),
        monthly_amount_cents: {
            let paying = rows
                .iter()
                .filter(|row| row.status != PledgeStatus::Pending);
            let (pledges, amount) =
                paying.fold((0, 0), |(n, sum), row| (n + row.pledgers, sum + row.amount));
            (pledges >= k).then_some(amount)
        },
    })
}

/// A member's own pledges.
pub fn of_member(member_id: Uuid) -> Select<pledge::Entity> {
    pledge::Entity::find().filter(pledge::Column::MemberId.eq(member_id))
}

/// `viewer`'s pledge on a campaign, if any.
pub async fn of_viewer(
    db: &impl ConnectionTrait,
    viewer: Viewer,
    campaign_id: Uuid,
) -> Result<Option<pledge::Model>> {
    Ok(pledge::Entity::find()
        .filter(pledge::Column::CampaignId.eq(campaign_id))
        .filter(pledge::Column::MemberId.eq(viewer.id))
        .one(db)
        .await?)
}
