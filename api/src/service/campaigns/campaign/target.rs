//! Whom a campaign aims at: a producer, or a brand (aimed at through its
//! owner), and, once it is open, an owner above its target when the
//! organiser escalates it (for instance after the target left the response
//! request unanswered). Each escalation is kept, so the campaign's targets
//! over time can be told; signatures and pledges keep the producer aimed at
//! when they were made, and the observatory counts them there.

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::{brand, campaign_escalation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::event;
use crate::service::catalogue::ownership;
use crate::service::observatory::rollup::AtomRule;
use crate::service::oversight::audit;
use crate::service::producers::producer;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;
use crate::vocabulary::EventType;

/// The producer a new campaign aims at, from the producer and the brand
/// its organiser named: a brand alone is aimed at through its owner; with
/// both, the producer must own the brand (directly or above).
pub async fn resolve(
    db: &impl ConnectionTrait,
    producer_id: Option<Uuid>,
    brand_id: Option<Uuid>,
) -> Result<Uuid> {
    let brand = match brand_id {
        Some(id) => Some(
            brand::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("brand"))?,
        ),
        None => None,
    };
    match (producer_id, brand) {
        (None, None) => Err(AppError::invalid(
            "input.producerId",
            "name the producer (input.producerId) or the brand (input.brandId) the campaign aims at",
        )),
        (Some(id), None) => Ok(producer::get(db, id).await?.id),
        (None, Some(brand)) => brand.owner_id.ok_or_else(|| {
            AppError::invalid(
                "input.brandId",
                "this brand has no known owner: name the producer the campaign aims at",
            )
        }),
        (Some(id), Some(brand)) => {
            producer::get(db, id).await?;
            let owner = brand.owner_id;
            let owns = match owner {
                Some(owner) if owner == id => true,
                Some(owner) => ownership::ancestors(db, owner).await?.contains(&id),
                None => false,
            };
            if owns {
                Ok(id)
            } else {
                Err(AppError::invalid(
                    "input.producerId",
                    "input.producerId must own the brand (directly or through its subsidiaries)",
                ))
            }
        }
    }
}

/// One of a campaign's targets over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub producer_id: Uuid,
    pub since: DateTime<Utc>,
    /// `None` for the target now.
    pub until: Option<DateTime<Utc>>,
    /// Why the organiser escalated to it (`None` for the first target).
    pub reason: Option<String>,
}

/// The targets `found` had, first to now.
pub async fn history(db: &impl ConnectionTrait, found: &campaign::Model) -> Result<Vec<Target>> {
    let escalations = campaign_escalation::Entity::find()
        .filter(campaign_escalation::Column::CampaignId.eq(found.id))
        .order_by_asc(campaign_escalation::Column::CreatedAt)
        .order_by_asc(campaign_escalation::Column::Id)
        .all(db)
        .await?;
    Ok(targets(found.producer_id, found.created_at, &escalations))
}

/// The targets of a campaign created at `created_at`, aimed at `current`
/// now after `escalations` (oldest first).
fn targets(
    current: Uuid,
    created_at: DateTime<Utc>,
    escalations: &[campaign_escalation::Model],
) -> Vec<Target> {
    let first = escalations
        .first()
        .map_or(current, |first| first.from_producer_id);
    let mut out = vec![Target {
        producer_id: first,
        since: created_at,
        until: None,
        reason: None,
    }];
    for step in escalations {
        if let Some(last) = out.last_mut() {
            last.until = Some(step.created_at);
        }
        out.push(Target {
            producer_id: step.to_producer_id,
            since: step.created_at,
            until: None,
            reason: Some(step.reason.clone()),
        });
    }
    out
}

/// What `escalate` needs.
pub struct Escalation {
    pub campaign_id: Uuid,
    /// An owner above the target; by default its direct parent.
    pub to_producer_id: Option<Uuid>,
    pub reason: String,
}

/// Moves an open campaign from its target to an owner of it; the
/// organiser or an admin. Signatures and pledges made before stay counted
/// for the former target; the response request stays with the producer it
/// asked.
pub async fn escalate(
    state: &AppState,
    actor: Viewer,
    input: Escalation,
) -> Result<campaign::Model> {
    let db = &state.db;
    let reason = validate::text("input.reason", &input.reason, 10, 2_000)?;
    let found = super::get(db, Some(actor), input.campaign_id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser or an admin may escalate it".into(),
        ));
    }
    if found.status != CampaignStatus::Open {
        return Err(AppError::Conflict(
            "only an open campaign is escalated".into(),
        ));
    }
    let owners = ownership::ancestors(db, found.producer_id).await?;
    let to = match input.to_producer_id {
        None => *owners.first().ok_or_else(|| {
            AppError::Conflict("the campaign's target has no known owner to escalate to".into())
        })?,
        Some(id) if owners.contains(&id) => id,
        Some(_) => {
            return Err(AppError::invalid(
                "input.toProducerId",
                "input.toProducerId must own the campaign's target (directly or above)",
            ));
        }
    };
    let rule = AtomRule::of(&state.config);
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let moved = campaign::Entity::update_many()
        .col_expr(campaign::Column::ProducerId, Expr::value(to))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(found.id))
        .filter(campaign::Column::ProducerId.eq(found.producer_id))
        .filter(campaign::Column::Status.eq(CampaignStatus::Open))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict(
            "the campaign changed meanwhile; reload it".into(),
        ));
    }
    campaign_escalation::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(found.id),
        from_producer_id: Set(found.producer_id),
        to_producer_id: Set(to),
        reason: Set(reason.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // The campaign's own facts (counted campaigns, answers) and its values
    // move to the new target; its signatures stay where they were counted.
    for producer_id in [found.producer_id, to] {
        crate::service::observatory::write_facts::refresh(&txn, rule, producer_id).await?;
        crate::service::observatory::groups::regroup(&txn, rule, producer_id).await?;
    }
    audit::record(
        &txn,
        actor,
        "campaign.escalated",
        "campaign",
        Some(found.id),
        Some(reason.clone()),
    )
    .await?;
    event::emit(
        &txn,
        EventType::CampaignEscalated,
        found.id,
        json!({ "escalation": {
            "fromProducerId": found.producer_id,
            "toProducerId": to,
            "reason": reason,
        }}),
    )
    .await?;
    let escalated = campaign::Entity::find_by_id(found.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    state
        .caches
        .campaign_changed(state.bus.as_ref(), escalated.id)
        .await;
    Ok(escalated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn targets_follow_escalations_in_order() {
        let (child, parent, group) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let campaign_id = Uuid::now_v7();
        let step = |from, to, day| campaign_escalation::Model {
            id: Uuid::now_v7(),
            campaign_id,
            from_producer_id: from,
            to_producer_id: to,
            reason: format!("step on day {day}"),
            created_at: at(day),
        };
        let got = targets(
            group,
            at(1),
            &[step(child, parent, 5), step(parent, group, 9)],
        );
        let ids: Vec<Uuid> = got.iter().map(|t| t.producer_id).collect();
        assert_eq!(ids, vec![child, parent, group]);
        assert_eq!(got[0].since, at(1));
        assert_eq!(got[0].until, Some(at(5)));
        assert_eq!(got[1].until, Some(at(9)));
        assert_eq!(got[2].until, None);
        assert_eq!(got[2].reason.as_deref(), Some("step on day 9"));
        let alone = targets(group, at(1), &[]);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].producer_id, group);
    }
}
