//! Moderation: any member flags a campaign, proposal, signature (its
//! comment) or producer response; moderators (the MODERATOR role, admins, or
//! a moderator of the community the content belongs to) hide or restore it
//! with a reason. Hidden content leaves public lists but stays in the
//! database, and every decision is written to the audit log.

use entities::community_member::{self, MembershipRole};
use entities::flag::{self, FlagStatus};
use entities::{campaign, producer_response, proposal, signature};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::auth::Viewer;
use crate::service::observatory::rollup::Keeping;
use crate::service::{audit, validate};
use crate::state::AppState;

/// What can be flagged and hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Campaign,
    Proposal,
    Signature,
    Response,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Campaign => "CAMPAIGN",
            Target::Proposal => "PROPOSAL",
            Target::Signature => "SIGNATURE",
            Target::Response => "RESPONSE",
        }
    }
}

/// Whether the target is hidden now, and the community it belongs to.
struct Found {
    hidden: bool,
    community: Option<Uuid>,
}

async fn campaign_community(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<Option<Uuid>> {
    Ok(campaign::Entity::find_by_id(campaign_id)
        .one(db)
        .await?
        .and_then(|found| found.community_id))
}

async fn find(db: &impl ConnectionTrait, target: Target, id: Uuid) -> Result<Found> {
    let missing = AppError::NotFound("content");
    match target {
        Target::Campaign => {
            let found = campaign::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            Ok(Found {
                hidden: found.hidden_at.is_some(),
                community: found.community_id,
            })
        }
        Target::Proposal => {
            let found = proposal::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            let community = match (found.community_id, found.campaign_id) {
                (Some(community), _) => Some(community),
                (None, Some(campaign_id)) => campaign_community(db, campaign_id).await?,
                (None, None) => None,
            };
            Ok(Found {
                hidden: found.hidden_at.is_some(),
                community,
            })
        }
        Target::Signature => {
            let found = signature::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            let community = campaign_community(db, found.campaign_id).await?;
            Ok(Found {
                hidden: found.hidden_at.is_some(),
                community,
            })
        }
        Target::Response => {
            let found = producer_response::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            let community = campaign_community(db, found.campaign_id).await?;
            Ok(Found {
                hidden: found.hidden_at.is_some(),
                community,
            })
        }
    }
}

/// Whether `actor` moderates content of `community`.
pub(crate) async fn may_moderate(
    db: &impl ConnectionTrait,
    actor: Viewer,
    community: Option<Uuid>,
) -> Result<bool> {
    if actor.moderates() {
        return Ok(true);
    }
    let Some(community) = community else {
        return Ok(false);
    };
    Ok(community_member::Entity::find_by_id((community, actor.id))
        .one(db)
        .await?
        .is_some_and(|membership| membership.role == MembershipRole::Moderator))
}

/// Reports content; one open report per member and target.
pub async fn flag(
    state: &AppState,
    actor: Viewer,
    target: Target,
    target_id: Uuid,
    reason: &str,
) -> Result<flag::Model> {
    let reason = validate::text("reason", reason, 3, 1_000)?;
    find(&state.db, target, target_id).await?;
    flag::ActiveModel {
        id: Set(Uuid::now_v7()),
        reporter_id: Set(Some(actor.id)),
        target_type: Set(target.name().to_owned()),
        target_id: Set(target_id),
        reason: Set(reason),
        status: Set(FlagStatus::Open),
        resolved_by: Set(None),
        resolved_at: Set(None),
        created_at: Set(validate::now()),
    }
    .insert(&state.db)
    .await
    .map_err(AppError::on_unique("you have already flagged this"))
}

/// Hides (or, with `hidden = false`, restores) content, with a reason.
pub async fn set_hidden(
    state: &AppState,
    actor: Viewer,
    target: Target,
    target_id: Uuid,
    hidden: bool,
    reason: &str,
) -> Result<()> {
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let found = find(&state.db, target, target_id).await?;
    if !may_moderate(&state.db, actor, found.community).await? {
        return Err(AppError::Forbidden(
            "only moderators may hide or restore content".into(),
        ));
    }
    if found.hidden == hidden {
        return Err(AppError::Conflict(
            if hidden {
                "this is hidden already"
            } else {
                "this is not hidden"
            }
            .into(),
        ));
    }
    let at = hidden.then(validate::now);
    let why = hidden.then(|| reason.clone());
    let db = &state.db;
    match target {
        Target::Campaign => {
            use campaign::Column as C;
            let (writer, txn) = state.begin_write().await?;
            hide_row::<campaign::Entity>(
                &txn,
                (C::Id, C::HiddenAt, Some(C::HiddenReason)),
                target_id,
                at,
                why,
            )
            .await?;
            refresh_facts::<campaign::Entity>(&txn, state, C::Id, C::ProducerId, target_id, true)
                .await?;
            txn.commit().await?;
            drop(writer);
            state
                .caches
                .campaign_changed(state.events.as_ref(), target_id)
                .await;
        }
        Target::Proposal => {
            use proposal::Column as C;
            hide_row::<proposal::Entity>(
                db,
                (C::Id, C::HiddenAt, Some(C::HiddenReason)),
                target_id,
                at,
                why,
            )
            .await?
        }
        // The signature still counts; only its public display goes.
        Target::Signature => {
            use signature::Column as C;
            hide_row::<signature::Entity>(db, (C::Id, C::HiddenAt, None), target_id, at, why)
                .await?
        }
        Target::Response => {
            use producer_response::Column as C;
            let (writer, txn) = state.begin_write().await?;
            hide_row::<producer_response::Entity>(
                &txn,
                (C::Id, C::HiddenAt, Some(C::HiddenReason)),
                target_id,
                at,
                why,
            )
            .await?;
            refresh_facts::<producer_response::Entity>(
                &txn,
                state,
                C::Id,
                C::ProducerId,
                target_id,
                false,
            )
            .await?;
            txn.commit().await?;
            drop(writer);
        }
    }
    if hidden {
        resolve_flags(db, actor, target_id, FlagStatus::Upheld).await?;
    }
    let action = if hidden { "HIDE" } else { "RESTORE" };
    audit::record(
        db,
        actor,
        action,
        target.name(),
        Some(target_id),
        Some(reason),
    )
    .await
}

/// Sets (or clears) the hidden columns of one row: (id, hidden_at, hidden_reason).
async fn hide_row<E: EntityTrait>(
    db: &impl ConnectionTrait,
    (id, hidden_at, reason): (E::Column, E::Column, Option<E::Column>),
    target_id: Uuid,
    at: Option<chrono::DateTime<chrono::Utc>>,
    why: Option<String>,
) -> Result<()> {
    let mut update = E::update_many()
        .col_expr(hidden_at, Expr::value(at))
        .filter(id.eq(target_id));
    if let Some(reason) = reason {
        update = update.col_expr(reason, Expr::value(why));
    }
    update.exec(db).await?;
    Ok(())
}

/// Recomputes the kept observatory facts of the producer a hidden or
/// restored campaign or response belongs to ((id, producer_id) columns),
/// and with `regroup` its groups (a campaign's community and values).
async fn refresh_facts<E: EntityTrait>(
    db: &impl ConnectionTrait,
    state: &AppState,
    id: E::Column,
    producer_id: E::Column,
    target_id: Uuid,
    regroup: bool,
) -> Result<()> {
    let producer: Option<Uuid> = E::find()
        .select_only()
        .column(producer_id)
        .filter(id.eq(target_id))
        .into_tuple()
        .one(db)
        .await?;
    if let Some(producer) = producer {
        let keeping = Keeping::of(&state.config);
        crate::service::observatory::facts::refresh(db, keeping, producer).await?;
        if regroup {
            crate::service::observatory::groups::regroup(db, keeping, producer).await?;
        }
    }
    Ok(())
}

async fn resolve_flags(
    db: &impl ConnectionTrait,
    actor: Viewer,
    target_id: Uuid,
    status: FlagStatus,
) -> Result<()> {
    flag::Entity::update_many()
        .col_expr(flag::Column::Status, Expr::value(status))
        .col_expr(flag::Column::ResolvedBy, Expr::value(Some(actor.id)))
        .col_expr(flag::Column::ResolvedAt, Expr::value(Some(validate::now())))
        .filter(flag::Column::TargetId.eq(target_id))
        .filter(flag::Column::Status.eq(FlagStatus::Open))
        .exec(db)
        .await?;
    Ok(())
}

/// Dismisses an open flag: nothing to act on.
pub async fn dismiss(state: &AppState, actor: Viewer, flag_id: Uuid) -> Result<flag::Model> {
    let found = flag::Entity::find_by_id(flag_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("flag"))?;
    let target = match found.target_type.as_str() {
        "CAMPAIGN" => Target::Campaign,
        "PROPOSAL" => Target::Proposal,
        "SIGNATURE" => Target::Signature,
        _ => Target::Response,
    };
    let community = find(&state.db, target, found.target_id)
        .await
        .ok()
        .and_then(|f| f.community);
    if !may_moderate(&state.db, actor, community).await? {
        return Err(AppError::Forbidden(
            "only moderators may dismiss flags".into(),
        ));
    }
    if found.status != FlagStatus::Open {
        return Err(AppError::Conflict("this flag is resolved already".into()));
    }
    let mut dismissed: flag::ActiveModel = found.into();
    dismissed.status = Set(FlagStatus::Dismissed);
    dismissed.resolved_by = Set(Some(actor.id));
    dismissed.resolved_at = Set(Some(validate::now()));
    let dismissed = dismissed.update(&state.db).await?;
    audit::record(
        &state.db,
        actor,
        "DISMISS_FLAG",
        "FLAG",
        Some(dismissed.id),
        None,
    )
    .await?;
    Ok(dismissed)
}

/// `FORBIDDEN` unless `actor` holds the MODERATOR or ADMIN role.
pub fn require_moderator(actor: Viewer) -> Result<()> {
    if actor.moderates() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only moderators and admins see this".into(),
        ))
    }
}

/// Flags of one status, for the caller to page through.
pub fn flags(status: FlagStatus) -> Select<flag::Entity> {
    flag::Entity::find().filter(flag::Column::Status.eq(status))
}
