//! What follows a committed change in a campaign's counted signatures,
//! whoever made it (signing, withdrawing, confirming, a surge released, an
//! invalidation or its undoing): what it moves in the observatory's
//! rollups and the kept totals is queued in the change's transaction (and
//! folded after it, `service::fold`), then the live counter, milestones and
//! their announcements follow its commit.

use entities::campaign;
use entities::signature;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::bus::CounterChange;
use crate::counters::{Announced, BatchAdd, Counter};
use crate::error::Result;
use crate::outbox::event;
use crate::service::fold;
use crate::service::signing::sign_batch::CountedIn;
use crate::service::{signing::milestone, validate};
use crate::state::AppState;
use crate::vocabulary::EventType;

/// What the counter step needs of a campaign.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CountedCampaign {
    pub id: Uuid,
    pub goal: Option<i32>,
    pub offline_signatures: i64,
}

impl From<&campaign::Model> for CountedCampaign {
    fn from(found: &campaign::Model) -> Self {
        Self {
            id: found.id,
            goal: found.goal,
            offline_signatures: found.offline_signatures,
        }
    }
}

/// Counter, milestones and live update after a committed change; the new
/// count. Failures are logged, never returned (`None`): the change itself
/// is already safe, and reconciliation repairs the counter. Run right after
/// the commit: reconciliation leaves a counter alone only once this moved
/// it. The caller settles the fold afterwards (`Folder::settle`), once for
/// all its campaigns, so that its author reads the change in the kept
/// figures.
pub(crate) async fn after_change(
    state: &AppState,
    found: &campaign::Model,
    delta: i64,
) -> Option<i64> {
    after_change_of(state, found.into(), delta).await
}

async fn after_change_of(state: &AppState, campaign: CountedCampaign, delta: i64) -> Option<i64> {
    let (count, seq) = match state
        .counters
        .add(&state.db, campaign.id, Counter::Signatures, delta)
        .await
    {
        Ok(counted) => counted,
        Err(err) => {
            tracing::warn!(campaign = %campaign.id, ?err, "signature counter not updated");
            return None;
        }
    };
    announce_count(state, campaign, delta, count, seq).await;
    Some(count)
}

/// The counter step of a committed signing batch: every campaign's counter
/// is bumped, and its new value announced, in one pipelined round trip
/// (`Counters::add_batch`); only a campaign that crossed a milestone, or
/// whose counter had to be rebuilt, takes further steps.
pub(crate) async fn after_batch(state: &AppState, counted: &[CountedIn]) {
    if counted.is_empty() {
        return;
    }
    let at = validate::now();
    let adds = counted
        .iter()
        .map(|c| BatchAdd {
            campaign: c.campaign_id,
            delta: c.added,
            at,
            // Milestones count verified offline signatures too.
            milestones: milestone::thresholds(c.goal)
                .into_iter()
                .map(|threshold| threshold - c.offline_signatures)
                .filter(|online| *online > 0)
                .collect(),
        })
        .collect();
    let results = state.counters.add_batch(adds).await;
    for (c, result) in counted.iter().zip(results) {
        let campaign = CountedCampaign {
            id: c.campaign_id,
            goal: c.goal,
            offline_signatures: c.offline_signatures,
        };
        match result {
            // Heard by every instance's listener, this one's included.
            Some(Announced {
                heard_by: Some(heard),
                ..
            }) if heard > 0 => {}
            Some(Announced { value, change, .. }) => {
                announce_count(state, campaign, c.added, value, Some(change)).await;
            }
            None => {
                after_change_of(state, campaign, c.added).await;
            }
        }
    }
}

/// Records the milestones a counter now at `count` crossed (when it grew)
/// and tells every instance's subscribers.
async fn announce_count(
    state: &AppState,
    campaign: CountedCampaign,
    delta: i64,
    count: i64,
    seq: Option<i64>,
) {
    // Goal progress counts verified offline signatures too.
    let reached = if delta > 0 {
        let total = count + campaign.offline_signatures;
        milestone::record_reached(
            &state.db,
            &state.milestones,
            campaign.id,
            campaign.goal,
            total,
        )
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(campaign = %campaign.id, ?err, "milestones not recorded");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    let at = validate::now();
    let event = |milestone: Option<i64>| CounterChange {
        campaign_id: campaign.id,
        counter: Counter::Signatures.into(),
        value: count,
        at,
        milestone,
        goal_reached: milestone.is_some() && milestone == campaign.goal.map(i64::from),
        seq,
    };
    if reached.is_empty() {
        state.bus.publish(event(None)).await;
    }
    for &threshold in &reached {
        tracing::info!(campaign = %campaign.id, threshold, "milestone reached");
        state.bus.publish(event(Some(threshold))).await;
    }
    if !reached.is_empty() {
        announce_milestones(state, campaign, count, &reached).await;
    }
}

/// Emits `campaign.milestone` (and `campaign.goal_reached`) for milestones
/// just recorded. Logged, never returned: the milestone row is kept, and
/// only its announcement would be missing.
pub(crate) async fn announce_milestones(
    state: &AppState,
    campaign: CountedCampaign,
    online: i64,
    reached: &[i64],
) {
    let goal = campaign.goal.map(i64::from);
    let writer = crate::db::writer_turn(state.sqlite_writer.as_ref()).await;
    for &threshold in reached {
        let data = serde_json::json!({
            "threshold": threshold,
            "signatures": online,
            "offlineSignatures": campaign.offline_signatures,
        });
        let mut kinds = Vec::with_capacity(2);
        if milestone::THRESHOLDS.contains(&threshold) {
            kinds.push(EventType::CampaignMilestone);
        }
        if goal == Some(threshold) {
            kinds.push(EventType::CampaignGoalReached);
        }
        for kind in kinds {
            if let Err(err) = event::emit(&state.db, kind, campaign.id, data.clone()).await {
                tracing::warn!(campaign = %campaign.id, code = err.code(), "milestone not announced");
            }
        }
    }
    drop(writer);
    state.outbox.wake();
}

/// Queues, in the caller's transaction, what the signatures of `found`
/// that just became (`sign` 1) or stopped being (-1) counted move: the
/// observatory's atoms and the campaign's kept total and momentum. The
/// caller settles the fold after committing.
pub(crate) async fn rollup_moved(
    txn: &impl ConnectionTrait,
    found: &campaign::Model,
    moved: &[signature::Model],
    sign: i64,
) -> Result<()> {
    let mut changes = fold::Changes::default();
    for row in moved {
        changes.signature(
            row.producer_id,
            row.member_id,
            found.id,
            found.community_id,
            row.created_at,
            sign,
        );
    }
    fold::record(txn, &changes).await
}
