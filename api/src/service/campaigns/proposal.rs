//! Co-creation: members submit proposals in CO_CREATION campaigns (or in a
//! community they belong to) and vote them up or down, one changeable vote
//! each. A proposal whose score reaches the campaign's selection threshold
//! becomes SELECTED, once; the organiser marks it ADOPTED when the producer
//! takes the idea up. Vote counts are read from the vote rows themselves, so
//! they always equal them.

use std::collections::HashMap;
use std::net::IpAddr;

use entities::campaign::{CampaignKind, CampaignStatus};
use entities::community_member;
use entities::proposal::{self, ProposalStatus};
use entities::vote;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::ratelimit::Action;
use crate::service::observatory::sql::Sql;
use crate::service::viewer::Viewer;
use crate::service::{campaigns::campaign as campaigns, campaigns::community, validate};
use crate::state::AppState;

/// Where a proposal is made.
#[derive(Clone, Copy, Debug)]
pub enum Venue {
    Campaign(Uuid),
    Community(Uuid),
}

/// What `submit` needs.
pub struct NewProposal {
    pub title: String,
    pub body: String,
}

/// Submits a proposal to an open CO_CREATION campaign, or to a community
/// the author belongs to.
pub async fn submit(
    state: &AppState,
    actor: Viewer,
    venue: Venue,
    input: NewProposal,
) -> Result<proposal::Model> {
    actor.require_confirmed()?;
    let title = validate::text("input.title", &input.title, 5, 140)?;
    let body = validate::text("input.body", &input.body, 1, 10_000)?;
    let (campaign_id, community_id) = match venue {
        Venue::Campaign(id) => {
            let found = campaigns::get(&state.db, Some(actor), id)
                .await?
                .ok_or(AppError::NotFound("campaign"))?;
            if found.kind != CampaignKind::CoCreation {
                return Err(AppError::Conflict(
                    "proposals belong to CO_CREATION campaigns".into(),
                ));
            }
            if found.status != CampaignStatus::Open {
                return Err(AppError::Conflict("this campaign is not open".into()));
            }
            (Some(found.id), None)
        }
        Venue::Community(id) => {
            let found = community::get(&state.db, id).await?;
            require_community_member(&state.db, actor, found.id).await?;
            (None, Some(found.id))
        }
    };
    let now = validate::now();
    Ok(proposal::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(campaign_id),
        community_id: Set(community_id),
        author_id: Set(Some(actor.id)),
        title: Set(title),
        body: Set(body),
        status: Set(ProposalStatus::Open),
        selected_at: Set(None),
        adopted_at: Set(None),
        hidden_at: Set(None),
        hidden_scope: Set(None),
        hidden_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await?)
}

async fn require_community_member(
    db: &impl ConnectionTrait,
    actor: Viewer,
    community_id: Uuid,
) -> Result<()> {
    let member = community_member::Entity::find_by_id((community_id, actor.id))
        .one(db)
        .await?;
    if member.is_none() {
        return Err(AppError::Forbidden(
            "join the community to take part in its proposals".into(),
        ));
    }
    Ok(())
}

/// A visible proposal: not hidden, in a campaign the viewer may see.
pub async fn get(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    id: Uuid,
) -> Result<proposal::Model> {
    let found = proposal::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|found| found.hidden_at.is_none())
        .ok_or(AppError::NotFound("proposal"))?;
    if let Some(campaign_id) = found.campaign_id {
        campaigns::get(db, viewer, campaign_id)
            .await?
            .ok_or(AppError::NotFound("proposal"))?;
    }
    Ok(found)
}

/// How a member votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    /// Clears the member's vote.
    None,
}

/// Casts, changes or clears `actor`'s vote, then selects the proposal if
/// its score reached the campaign's threshold.
pub async fn vote(
    state: &AppState,
    actor: Viewer,
    client: Option<IpAddr>,
    proposal_id: Uuid,
    direction: Direction,
) -> Result<proposal::Model> {
    actor.require_confirmed()?;
    state.limits.check_member(Action::Vote, actor.id)?;
    if let Some(ip) = client {
        state.limits.check_address(Action::Vote, ip)?;
    }
    let found = get(&state.db, Some(actor), proposal_id).await?;
    let threshold = match (found.campaign_id, found.community_id) {
        (Some(campaign_id), _) => {
            let campaign = campaigns::get(&state.db, Some(actor), campaign_id)
                .await?
                .ok_or(AppError::NotFound("proposal"))?;
            if campaign.status != CampaignStatus::Open {
                return Err(AppError::Conflict(
                    "voting on this campaign has ended".into(),
                ));
            }
            campaign.selection_threshold
        }
        (None, Some(community_id)) => {
            require_community_member(&state.db, actor, community_id).await?;
            None
        }
        (None, None) => None,
    };
    let now = validate::now();
    match direction {
        Direction::None => {
            vote::Entity::delete_by_id((found.id, actor.id))
                .exec(&state.db)
                .await?;
        }
        Direction::Up | Direction::Down => {
            let value: i16 = if direction == Direction::Up { 1 } else { -1 };
            vote::Entity::insert(vote::ActiveModel {
                proposal_id: Set(found.id),
                member_id: Set(actor.id),
                direction: Set(value),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([vote::Column::ProposalId, vote::Column::MemberId])
                    .update_columns([vote::Column::Direction, vote::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&state.db)
            .await?;
        }
    }
    if let Some(threshold) = threshold {
        let tally = tallies(&state.db, &[found.id]).await?;
        if tally
            .get(&found.id)
            .is_some_and(|t| t.score() >= i64::from(threshold))
        {
            // Guarded: only the first vote past the threshold selects it.
            proposal::Entity::update_many()
                .col_expr(
                    proposal::Column::Status,
                    Expr::value(ProposalStatus::Selected),
                )
                .col_expr(proposal::Column::SelectedAt, Expr::value(now))
                .col_expr(proposal::Column::UpdatedAt, Expr::value(now))
                .filter(proposal::Column::Id.eq(found.id))
                .filter(proposal::Column::Status.eq(ProposalStatus::Open))
                .exec(&state.db)
                .await?;
        }
    }
    get(&state.db, Some(actor), found.id).await
}

/// Marks a proposal ADOPTED: the producer took the idea up. The campaign's
/// organiser (or an admin) only.
pub async fn adopt(state: &AppState, actor: Viewer, proposal_id: Uuid) -> Result<proposal::Model> {
    let found = get(&state.db, Some(actor), proposal_id).await?;
    let Some(campaign_id) = found.campaign_id else {
        return Err(AppError::Conflict(
            "only campaign proposals can be adopted".into(),
        ));
    };
    let campaign = campaigns::get(&state.db, Some(actor), campaign_id)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    if campaign.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser or an admin may adopt a proposal".into(),
        ));
    }
    if found.status == ProposalStatus::Adopted {
        return Err(AppError::Conflict(
            "this proposal is adopted already".into(),
        ));
    }
    let now = validate::now();
    let mut adopted: proposal::ActiveModel = found.into();
    adopted.status = Set(ProposalStatus::Adopted);
    adopted.adopted_at = Set(Some(now));
    adopted.updated_at = Set(now);
    Ok(adopted.update(&state.db).await?)
}

/// Up and down votes of a proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub up: i64,
    pub down: i64,
}

impl Tally {
    pub fn score(&self) -> i64 {
        self.up - self.down
    }
}

#[derive(FromQueryResult)]
struct TallyRow {
    proposal_id: Uuid,
    direction: i16,
    n: i64,
}

/// The tallies of `ids`, from the vote rows.
pub async fn tallies(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, Tally>> {
    let rows = vote::Entity::find()
        .select_only()
        .column(vote::Column::ProposalId)
        .column(vote::Column::Direction)
        .column_as(vote::Column::MemberId.count(), "n")
        .filter(vote::Column::ProposalId.is_in(ids.iter().copied()))
        .group_by(vote::Column::ProposalId)
        .group_by(vote::Column::Direction)
        .into_model::<TallyRow>()
        .all(db)
        .await?;
    let mut tallies: HashMap<Uuid, Tally> = ids.iter().map(|id| (*id, Tally::default())).collect();
    for row in rows {
        let tally = tallies.entry(row.proposal_id).or_default();
        if row.direction > 0 {
            tally.up += row.n;
        } else {
            tally.down += row.n;
        }
    }
    Ok(tallies)
}

/// One page of a venue's visible proposals, best score first (newest first
/// among equals), with their tallies, and how many there are: ranked by the
/// database, which returns only the page (`limit` rows after `offset`).
pub async fn ranked(
    db: &impl ConnectionTrait,
    venue: Venue,
    offset: u64,
    limit: u64,
) -> Result<(Vec<(proposal::Model, Tally)>, u64)> {
    let (column, id) = match venue {
        Venue::Campaign(id) => ("campaign_id", id),
        Venue::Community(id) => ("community_id", id),
    };
    // A vote's direction counts +1 when positive, -1 otherwise, as `tallies` does.
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT p.id FROM proposal p LEFT JOIN vote v ON v.proposal_id = p.id \
         WHERE p.hidden_at IS NULL AND p.",
    )
    .push(column)
    .push(" = ")
    .bind(id)
    .push(
        " GROUP BY p.id ORDER BY COALESCE(SUM(CASE WHEN v.direction IS NULL THEN 0 \
         WHEN v.direction > 0 THEN 1 ELSE -1 END), 0) DESC, p.id DESC LIMIT ",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .push(" OFFSET ")
    .bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let mut ids: Vec<Uuid> = Vec::new();
    for row in db.query_all_raw(sql.build()).await? {
        ids.push(row.try_get_by_index(0)?);
    }
    let query = proposal::Entity::find().filter(proposal::Column::HiddenAt.is_null());
    let query = match venue {
        Venue::Campaign(id) => query.filter(proposal::Column::CampaignId.eq(id)),
        Venue::Community(id) => query.filter(proposal::Column::CommunityId.eq(id)),
    };
    let total = query.clone().count(db).await?;
    let mut rows: HashMap<Uuid, proposal::Model> = query
        .filter(proposal::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|found| (found.id, found))
        .collect();
    let tallies = tallies(db, &ids).await?;
    let page = ids
        .iter()
        .filter_map(|id| {
            let found = rows.remove(id)?;
            Some((found, tallies.get(id).copied().unwrap_or_default()))
        })
        .collect();
    Ok((page, total))
}

/// Proposals `author` wrote that were adopted, in public view: visible, on
/// a public campaign or in a community. Each credits its author.
pub fn adopted_by(author: Uuid) -> sea_orm::Select<proposal::Entity> {
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
    proposal::Entity::find()
        .filter(proposal::Column::AuthorId.eq(author))
        .filter(proposal::Column::Status.eq(ProposalStatus::Adopted))
        .filter(proposal::Column::HiddenAt.is_null())
        .filter(
            Condition::any()
                .add(proposal::Column::CampaignId.is_null())
                .add(proposal::Column::CampaignId.in_subquery(campaigns::public_ids())),
        )
}
