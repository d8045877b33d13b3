//! The catalogue written by many hands: a confirmed member proposes a
//! product, a brand or an ownership edge (with evidence for an edge), a
//! producer's approved representative disputes an edge naming their
//! producer; each stays pending until a moderator accepts it (the entry is
//! written as if the moderator wrote it, an edge with the source `MEMBER`
//! or `PRODUCER`; a disputed edge is ended) or rejects it. Decisions are
//! audit-logged; a member may file `CONSUMACT_CATALOGUE_PROPOSALS_PER_DAY`.

use chrono::Duration;
use entities::catalogue_proposal::{self, ProposalKind, ProposalStatus};
use entities::ownership::{self, OwnershipSource};
use entities::producer_representative::{self, ClaimStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
    Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{gtin, ownership as graph, product};
use crate::error::{AppError, Result};
use crate::service::oversight::audit;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// What a proposal asks for; stored as its payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Proposed {
    Product(product::NewProduct),
    Brand {
        name: String,
        owner_id: Option<Uuid>,
    },
    Ownership {
        child_id: Uuid,
        parent_id: Uuid,
        /// Proposed by a representative of one of the two producers: the
        /// edge's source is then `PRODUCER`, else `MEMBER`.
        #[serde(default)]
        from_producer: bool,
    },
    /// The edge said to be wrong.
    Dispute {
        ownership_id: Uuid,
    },
}

impl Proposed {
    fn kind(&self) -> ProposalKind {
        match self {
            Proposed::Product(_) => ProposalKind::Product,
            Proposed::Brand { .. } => ProposalKind::Brand,
            Proposed::Ownership { .. } => ProposalKind::Ownership,
            Proposed::Dispute { .. } => ProposalKind::Dispute,
        }
    }
}

/// What a proposal's payload asks for.
pub fn proposed(found: &catalogue_proposal::Model) -> Result<Proposed> {
    serde_json::from_str(&found.payload)
        .map_err(|err| AppError::Internal(format!("catalogue proposal {}: {err}", found.id)))
}

/// The producers whose approved representative `actor` is.
async fn represented(state: &AppState, actor: Viewer) -> Result<Vec<Uuid>> {
    Ok(producer_representative::Entity::find()
        .filter(producer_representative::Column::MemberId.eq(actor.id))
        .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|claim| claim.producer_id)
        .collect())
}

/// Files a proposal (or, for [`Proposed::Dispute`], a representative's
/// dispute): checked now as far as it can be without writing, pending
/// until a moderator decides.
pub async fn propose(
    state: &AppState,
    actor: Viewer,
    what: Proposed,
    reason: &str,
    evidence_url: Option<String>,
) -> Result<catalogue_proposal::Model> {
    actor.require_confirmed()?;
    let reason = validate::text("input.reason", reason, 10, 2_000)?;
    let evidence_url = graph::evidence(evidence_url)?;
    let db = &state.db;
    let since = validate::now() - Duration::days(1);
    let filed = catalogue_proposal::Entity::find()
        .filter(catalogue_proposal::Column::ProposerId.eq(actor.id))
        .filter(catalogue_proposal::Column::CreatedAt.gt(since))
        .count(db)
        .await?;
    if filed >= u64::from(state.config.limits.catalogue_proposals_per_day) {
        return Err(AppError::RateLimited {
            retry_after_ms: 3_600_000,
        });
    }
    let what = match what {
        Proposed::Product(mut new) => {
            new.gtin = gtin::normalise("input.gtin", &new.gtin)?;
            new.name = validate::text("input.name", &new.name, 1, 300)?;
            if product::by_gtin(db, &new.gtin).await?.is_some() {
                return Err(AppError::Conflict(format!(
                    "a product with the barcode {} is in the catalogue already",
                    new.gtin
                )));
            }
            Proposed::Product(new)
        }
        Proposed::Brand { name, owner_id } => Proposed::Brand {
            name: validate::text("input.name", &name, 1, 200)?,
            owner_id,
        },
        Proposed::Ownership {
            child_id,
            parent_id,
            ..
        } => {
            if evidence_url.is_none() {
                return Err(AppError::invalid(
                    "input.evidenceUrl",
                    "input.evidenceUrl is required: link to where the ownership is stated",
                ));
            }
            let mine = represented(state, actor).await?;
            Proposed::Ownership {
                child_id,
                parent_id,
                from_producer: mine.contains(&child_id) || mine.contains(&parent_id),
            }
        }
        Proposed::Dispute { ownership_id } => {
            let edge = ownership::Entity::find_by_id(ownership_id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("ownership"))?;
            let mine = represented(state, actor).await?;
            if !mine.contains(&edge.child_id) && !mine.contains(&edge.parent_id) {
                return Err(AppError::Forbidden(
                    "only an approved representative of one of the two producers disputes an ownership"
                        .into(),
                ));
            }
            if edge.valid_to.is_some() {
                return Err(AppError::Conflict(
                    "this ownership has ended already".into(),
                ));
            }
            if evidence_url.is_none() {
                return Err(AppError::invalid(
                    "input.evidenceUrl",
                    "input.evidenceUrl is required: link to the evidence",
                ));
            }
            Proposed::Dispute { ownership_id }
        }
    };
    let (writer, txn) = state.begin_write().await?;
    let created = catalogue_proposal::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(what.kind()),
        payload: Set(
            serde_json::to_string(&what).map_err(|err| AppError::Internal(err.to_string()))?
        ),
        proposer_id: Set(Some(actor.id)),
        reason: Set(reason),
        evidence_url: Set(evidence_url),
        status: Set(ProposalStatus::Pending),
        decision_reason: Set(None),
        decided_at: Set(None),
        result_id: Set(None),
        created_at: Set(validate::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// Proposals of `status` (all when `None`), oldest first: what moderators
/// work through.
pub fn listed(status: Option<ProposalStatus>) -> Select<catalogue_proposal::Entity> {
    let mut query = catalogue_proposal::Entity::find().order_by_asc(catalogue_proposal::Column::Id);
    if let Some(status) = status {
        query = query.filter(catalogue_proposal::Column::Status.eq(status));
    }
    query
}

/// `actor`'s own proposals.
pub fn mine(actor: Viewer) -> Select<catalogue_proposal::Entity> {
    catalogue_proposal::Entity::find().filter(catalogue_proposal::Column::ProposerId.eq(actor.id))
}

fn require_moderator(actor: Viewer) -> Result<()> {
    if actor.moderates() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "moderators and admins decide on catalogue proposals".into(),
        ))
    }
}

async fn pending(state: &AppState, id: Uuid) -> Result<catalogue_proposal::Model> {
    let found = catalogue_proposal::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("catalogue proposal"))?;
    if found.status != ProposalStatus::Pending {
        return Err(AppError::Conflict(
            "this proposal was decided already".into(),
        ));
    }
    Ok(found)
}

/// Marks `found` decided, once (`CONFLICT` when another decision came
/// first), and logs it.
async fn decide(
    state: &AppState,
    actor: Viewer,
    found: &catalogue_proposal::Model,
    status: ProposalStatus,
    reason: Option<String>,
    result: Option<Uuid>,
) -> Result<catalogue_proposal::Model> {
    let (writer, txn) = state.begin_write().await?;
    let moved = catalogue_proposal::Entity::update_many()
        .col_expr(catalogue_proposal::Column::Status, Expr::value(status))
        .col_expr(
            catalogue_proposal::Column::DecisionReason,
            Expr::value(reason.clone()),
        )
        .col_expr(
            catalogue_proposal::Column::DecidedAt,
            Expr::value(validate::now()),
        )
        .col_expr(catalogue_proposal::Column::ResultId, Expr::value(result))
        .filter(catalogue_proposal::Column::Id.eq(found.id))
        .filter(catalogue_proposal::Column::Status.eq(ProposalStatus::Pending))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(AppError::Conflict(
            "this proposal was decided already".into(),
        ));
    }
    let action = match status {
        ProposalStatus::Accepted => "catalogue_proposal.accepted",
        _ => "catalogue_proposal.rejected",
    };
    audit::record(
        &txn,
        actor,
        action,
        "catalogue_proposal",
        Some(found.id),
        reason,
    )
    .await?;
    let decided = catalogue_proposal::Entity::find_by_id(found.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("catalogue proposal"))?;
    txn.commit().await?;
    drop(writer);
    Ok(decided)
}

/// Accepts a pending proposal: writes what it proposes (or ends the
/// disputed edge) as `actor`, a moderator. A write refused (the barcode
/// taken meanwhile, a cycle) is returned and the proposal stays pending.
pub async fn accept(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    reason: Option<String>,
) -> Result<catalogue_proposal::Model> {
    require_moderator(actor)?;
    let reason = validate::optional_text("reason", reason.as_deref(), 2_000)?;
    let found = pending(state, id).await?;
    let written = match proposed(&found)? {
        Proposed::Product(new) => product::create(state, actor, new).await?.id,
        Proposed::Brand { name, owner_id } => {
            product::create_brand(state, actor, &name, owner_id)
                .await?
                .id
        }
        Proposed::Ownership {
            child_id,
            parent_id,
            from_producer,
        } => {
            let input = graph::NewOwnership {
                child_id,
                parent_id,
                source: if from_producer {
                    OwnershipSource::Producer
                } else {
                    OwnershipSource::Member
                },
                evidence_url: found.evidence_url.clone(),
                valid_from: None,
            };
            graph::set(state, actor, input).await?.id
        }
        Proposed::Dispute { ownership_id } => {
            graph::end(state, actor, ownership_id, None).await?.id
        }
    };
    decide(
        state,
        actor,
        &found,
        ProposalStatus::Accepted,
        reason,
        Some(written),
    )
    .await
}

/// Rejects a pending proposal, with the moderator's reason.
pub async fn reject(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    reason: &str,
) -> Result<catalogue_proposal::Model> {
    require_moderator(actor)?;
    let reason = validate::text("reason", reason, 3, 2_000)?;
    let found = pending(state, id).await?;
    decide(
        state,
        actor,
        &found,
        ProposalStatus::Rejected,
        Some(reason),
        None,
    )
    .await
}
