//! Moderation: any member flags a campaign, proposal, signature (its
//! comment) or producer response; moderators hide or restore it with a
//! reason. Hidden content leaves public lists but stays in the database, and
//! every decision is written to the audit log with the scope it was taken in.
//!
//! Two scopes, because anyone who creates a community moderates it:
//! - `SITE`: the MODERATOR role and admins, everywhere. Only they close
//!   flags (upheld by a hide, or dismissed) and undo a site decision.
//! - `COMMUNITY`: a moderator of the community the content belongs to. Their
//!   hides take effect in public lists at once, but leave the flags open for
//!   site moderators, cannot undo a site moderator's hide, and do not move
//!   the observatory (a producer's answers and campaigns count there until a
//!   site moderator confirms the hide by hiding it again). They escalate a
//!   flag instead of closing it.

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
use crate::service::observatory::rollup::AtomRule;
use crate::service::viewer::Viewer;
use crate::service::{oversight::audit, validate};
use crate::state::AppState;

/// What can be flagged and hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationTarget {
    Campaign,
    Proposal,
    Signature,
    Response,
}

impl ModerationTarget {
    pub fn name(self) -> &'static str {
        match self {
            ModerationTarget::Campaign => "CAMPAIGN",
            ModerationTarget::Proposal => "PROPOSAL",
            ModerationTarget::Signature => "SIGNATURE",
            ModerationTarget::Response => "RESPONSE",
        }
    }
}

/// Who takes a moderation decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationScope {
    /// Site moderators and admins.
    Site,
    /// A moderator of the community the content belongs to.
    Community,
}

impl ModerationScope {
    pub fn name(self) -> &'static str {
        match self {
            ModerationScope::Site => "SITE",
            ModerationScope::Community => "COMMUNITY",
        }
    }

    /// The scope a hidden row records; rows hidden before scopes were
    /// recorded count as site decisions.
    fn of_hidden(recorded: Option<&str>) -> ModerationScope {
        match recorded {
            Some("COMMUNITY") => ModerationScope::Community,
            _ => ModerationScope::Site,
        }
    }
}

/// Whether the target is hidden now (and in which scope), and the
/// community it belongs to.
struct Found {
    hidden: Option<ModerationScope>,
    community: Option<Uuid>,
}

fn hidden(
    at: Option<chrono::DateTime<chrono::Utc>>,
    scope: Option<&str>,
) -> Option<ModerationScope> {
    at.map(|_| ModerationScope::of_hidden(scope))
}

async fn campaign_community(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<Option<Uuid>> {
    Ok(campaign::Entity::find_by_id(campaign_id)
        .one(db)
        .await?
        .and_then(|found| found.community_id))
}

async fn find(db: &impl ConnectionTrait, target: ModerationTarget, id: Uuid) -> Result<Found> {
    let missing = AppError::NotFound("content");
    match target {
        ModerationTarget::Campaign => {
            let found = campaign::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            Ok(Found {
                hidden: hidden(found.hidden_at, found.hidden_scope.as_deref()),
                community: found.community_id,
            })
        }
        ModerationTarget::Proposal => {
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
                hidden: hidden(found.hidden_at, found.hidden_scope.as_deref()),
                community,
            })
        }
        ModerationTarget::Signature => {
            let found = signature::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            let community = campaign_community(db, found.campaign_id).await?;
            Ok(Found {
                hidden: hidden(found.hidden_at, found.hidden_scope.as_deref()),
                community,
            })
        }
        ModerationTarget::Response => {
            let found = producer_response::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(missing)?;
            let community = campaign_community(db, found.campaign_id).await?;
            Ok(Found {
                hidden: hidden(found.hidden_at, found.hidden_scope.as_deref()),
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
    Ok(scope_of(db, actor, community).await?.is_some())
}

/// The scope in which `actor` moderates content of `community`, if any.
pub(crate) async fn scope_of(
    db: &impl ConnectionTrait,
    actor: Viewer,
    community: Option<Uuid>,
) -> Result<Option<ModerationScope>> {
    if actor.moderates() {
        return Ok(Some(ModerationScope::Site));
    }
    let Some(community) = community else {
        return Ok(None);
    };
    let moderates = community_member::Entity::find_by_id((community, actor.id))
        .one(db)
        .await?
        .is_some_and(|membership| membership.role == MembershipRole::Moderator);
    Ok(moderates.then_some(ModerationScope::Community))
}

/// Reports content; one open report per member and target.
pub async fn flag(
    state: &AppState,
    actor: Viewer,
    target: ModerationTarget,
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
        escalated_by: Set(None),
        escalated_at: Set(None),
    }
    .insert(&state.db)
    .await
    .map_err(AppError::on_unique("you have already flagged this"))
}

/// Hides (or, with `hidden = false`, restores) content, with a reason.
/// A site moderator hiding what a community moderator hid confirms that
/// hide: it becomes a site decision.
pub async fn set_hidden(
    state: &AppState,
    actor: Viewer,
    target: ModerationTarget,
    target_id: Uuid,
    hidden: bool,
    reason: &str,
) -> Result<()> {
    let reason = validate::text("reason", reason, 3, 1_000)?;
    let found = find(&state.db, target, target_id).await?;
    let Some(scope) = scope_of(&state.db, actor, found.community).await? else {
        return Err(AppError::Forbidden(
            "only moderators may hide or restore content".into(),
        ));
    };
    let action = match (hidden, found.hidden) {
        (true, None) => "HIDE",
        (true, Some(ModerationScope::Community)) if scope == ModerationScope::Site => {
            "CONFIRM_HIDE"
        }
        (true, Some(_)) => return Err(AppError::Conflict("this is hidden already".into())),
        (false, None) => return Err(AppError::Conflict("this is not hidden".into())),
        (false, Some(ModerationScope::Site)) if scope == ModerationScope::Community => {
            return Err(AppError::Forbidden(
                "site moderators hid this; only they may restore it".into(),
            ));
        }
        (false, Some(_)) => "RESTORE",
    };
    let at = hidden.then(validate::now);
    let why = hidden.then(|| reason.clone());
    let recorded = hidden.then(|| scope.name().to_owned());
    let marks = Marks {
        at,
        why,
        scope: recorded,
    };
    let db = &state.db;
    match target {
        ModerationTarget::Campaign => {
            use campaign::Column as C;
            let (writer, txn) = state.begin_write().await?;
            hide_row::<campaign::Entity>(
                &txn,
                (C::Id, C::HiddenAt, C::HiddenScope, Some(C::HiddenReason)),
                target_id,
                marks,
            )
            .await?;
            refresh_facts::<campaign::Entity>(&txn, state, C::Id, C::ProducerId, target_id, true)
                .await?;
            txn.commit().await?;
            drop(writer);
            state
                .caches
                .campaign_changed(state.bus.as_ref(), target_id)
                .await;
        }
        ModerationTarget::Proposal => {
            use proposal::Column as C;
            hide_row::<proposal::Entity>(
                db,
                (C::Id, C::HiddenAt, C::HiddenScope, Some(C::HiddenReason)),
                target_id,
                marks,
            )
            .await?
        }
        // The signature still counts; only its public display goes.
        ModerationTarget::Signature => {
            use signature::Column as C;
            hide_row::<signature::Entity>(
                db,
                (C::Id, C::HiddenAt, C::HiddenScope, None),
                target_id,
                marks,
            )
            .await?
        }
        ModerationTarget::Response => {
            use producer_response::Column as C;
            let (writer, txn) = state.begin_write().await?;
            hide_row::<producer_response::Entity>(
                &txn,
                (C::Id, C::HiddenAt, C::HiddenScope, Some(C::HiddenReason)),
                target_id,
                marks,
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
    // Only site moderators close flags: a community hide leaves them open.
    if hidden && scope == ModerationScope::Site {
        resolve_flags(db, actor, target_id, FlagStatus::Upheld).await?;
    }
    audit::record_scoped(
        db,
        actor,
        action,
        target.name(),
        Some(target_id),
        Some(reason),
        Some(scope.name()),
    )
    .await
}

/// What [`hide_row`] writes: all `None` to restore.
struct Marks {
    at: Option<chrono::DateTime<chrono::Utc>>,
    why: Option<String>,
    scope: Option<String>,
}

/// Sets (or clears) the hidden columns of one row: (id, hidden_at,
/// hidden_scope, hidden_reason).
async fn hide_row<E: EntityTrait>(
    db: &impl ConnectionTrait,
    (id, hidden_at, scope, reason): (E::Column, E::Column, E::Column, Option<E::Column>),
    target_id: Uuid,
    marks: Marks,
) -> Result<()> {
    let mut update = E::update_many()
        .col_expr(hidden_at, Expr::value(marks.at))
        .col_expr(scope, Expr::value(marks.scope))
        .filter(id.eq(target_id));
    if let Some(reason) = reason {
        update = update.col_expr(reason, Expr::value(marks.why));
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
        let rule = AtomRule::of(&state.config);
        crate::service::observatory::write_facts::refresh(db, rule, producer).await?;
        if regroup {
            crate::service::observatory::groups::regroup(db, rule, producer).await?;
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

/// A flag, the kind of its target and the community that target belongs
/// to (none once the target is gone).
async fn flag_in_scope(state: &AppState, flag_id: Uuid) -> Result<(flag::Model, Option<Uuid>)> {
    let found = flag::Entity::find_by_id(flag_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("flag"))?;
    let target = match found.target_type.as_str() {
        "CAMPAIGN" => ModerationTarget::Campaign,
        "PROPOSAL" => ModerationTarget::Proposal,
        "SIGNATURE" => ModerationTarget::Signature,
        _ => ModerationTarget::Response,
    };
    let community = find(&state.db, target, found.target_id)
        .await
        .ok()
        .and_then(|f| f.community);
    Ok((found, community))
}

/// Dismisses an open flag: nothing to act on. Site moderators only: a
/// community moderator escalates instead.
pub async fn dismiss(state: &AppState, actor: Viewer, flag_id: Uuid) -> Result<flag::Model> {
    let (found, community) = flag_in_scope(state, flag_id).await?;
    match scope_of(&state.db, actor, community).await? {
        Some(ModerationScope::Site) => {}
        Some(ModerationScope::Community) => {
            return Err(AppError::Forbidden(
                "site moderators close flags; a community moderator escalates one or acts on its content"
                    .into(),
            ));
        }
        None => {
            return Err(AppError::Forbidden(
                "only moderators may dismiss flags".into(),
            ));
        }
    }
    if found.status != FlagStatus::Open {
        return Err(AppError::Conflict("this flag is resolved already".into()));
    }
    let mut dismissed: flag::ActiveModel = found.into();
    dismissed.status = Set(FlagStatus::Dismissed);
    dismissed.resolved_by = Set(Some(actor.id));
    dismissed.resolved_at = Set(Some(validate::now()));
    let dismissed = dismissed.update(&state.db).await?;
    audit::record_scoped(
        &state.db,
        actor,
        "DISMISS_FLAG",
        "FLAG",
        Some(dismissed.id),
        None,
        Some(ModerationScope::Site.name()),
    )
    .await?;
    Ok(dismissed)
}

/// A community moderator passes an open flag on to site moderators, with
/// a note; it stays open, marked as escalated. Doing it twice changes
/// nothing more.
pub async fn escalate(
    state: &AppState,
    actor: Viewer,
    flag_id: Uuid,
    note: &str,
) -> Result<flag::Model> {
    let note = validate::text("note", note, 3, 1_000)?;
    let (found, community) = flag_in_scope(state, flag_id).await?;
    match scope_of(&state.db, actor, community).await? {
        Some(ModerationScope::Community) => {}
        Some(ModerationScope::Site) => {
            return Err(AppError::Conflict(
                "site moderators close flags themselves; there is no one to escalate to".into(),
            ));
        }
        None => {
            return Err(AppError::Forbidden(
                "only a moderator of the content's community escalates its flags".into(),
            ));
        }
    }
    if found.status != FlagStatus::Open {
        return Err(AppError::Conflict("this flag is resolved already".into()));
    }
    if found.escalated_at.is_some() {
        return Ok(found);
    }
    let mut escalated: flag::ActiveModel = found.into();
    escalated.escalated_by = Set(Some(actor.id));
    escalated.escalated_at = Set(Some(validate::now()));
    let escalated = escalated.update(&state.db).await?;
    audit::record_scoped(
        &state.db,
        actor,
        "ESCALATE_FLAG",
        "FLAG",
        Some(escalated.id),
        Some(note),
        Some(ModerationScope::Community.name()),
    )
    .await?;
    Ok(escalated)
}

/// Open flags on content of `community`, for its moderators (site
/// moderators see them too).
pub async fn community_flags(
    state: &AppState,
    actor: Viewer,
    community: Uuid,
    status: FlagStatus,
) -> Result<Select<flag::Entity>> {
    if !may_moderate(&state.db, actor, Some(community)).await? {
        return Err(AppError::Forbidden(
            "only moderators of this community see its flags".into(),
        ));
    }
    use sea_orm::sea_query::Query;
    let campaigns = Query::select()
        .column(campaign::Column::Id)
        .from(campaign::Entity)
        .and_where(campaign::Column::CommunityId.eq(community))
        .to_owned();
    let proposals = Query::select()
        .column(proposal::Column::Id)
        .from(proposal::Entity)
        .cond_where(
            sea_orm::Condition::any()
                .add(proposal::Column::CommunityId.eq(community))
                .add(proposal::Column::CampaignId.in_subquery(campaigns.clone())),
        )
        .to_owned();
    let signatures = Query::select()
        .column(signature::Column::Id)
        .from(signature::Entity)
        .and_where(signature::Column::CampaignId.in_subquery(campaigns.clone()))
        .to_owned();
    let responses = Query::select()
        .column(producer_response::Column::Id)
        .from(producer_response::Entity)
        .and_where(producer_response::Column::CampaignId.in_subquery(campaigns.clone()))
        .to_owned();
    let on = |kind: ModerationTarget, ids| {
        sea_orm::Condition::all()
            .add(flag::Column::TargetType.eq(kind.name()))
            .add(flag::Column::TargetId.in_subquery(ids))
    };
    Ok(flags(status).filter(
        sea_orm::Condition::any()
            .add(on(ModerationTarget::Campaign, campaigns))
            .add(on(ModerationTarget::Proposal, proposals))
            .add(on(ModerationTarget::Signature, signatures))
            .add(on(ModerationTarget::Response, responses)),
    ))
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
