//! Co-creation: `submitProposal`, `submitCommunityProposal`, `vote`,
//! `adoptProposal`, and proposals ranked by score.

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entities::proposal;

use crate::error::{AppError, Result};
use crate::graphql::connection::{ConnectionTotals, Page};
use crate::graphql::guards::{client_ip, require_creator, require_member, state, viewer};
use crate::graphql::loaders::{DbLoader, MemberById, ProposalTally, ViewerVote};
use crate::graphql::member::Member;
use crate::service::campaigns::proposal::{Direction, NewProposal, Venue};
use crate::service::{self, validate};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProposalStatus", remote = "entities::proposal::ProposalStatus")]
pub enum ProposalStatus {
    Open,
    /// Its score reached the campaign's selection threshold.
    Selected,
    /// The producer took the idea up.
    Adopted,
}

/// A vote, or its absence.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum VoteDirection {
    Up,
    Down,
    /// Clears your vote.
    None,
}

/// An idea co-created in a campaign or a community.
pub struct Proposal(pub proposal::Model);

#[Object]
impl Proposal {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn status(&self) -> ProposalStatus {
        self.0.status.into()
    }
    async fn up_votes(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(tally(ctx, &self.0).await?.up)
    }
    async fn down_votes(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(tally(ctx, &self.0).await?.down)
    }
    /// Up votes minus down votes.
    async fn score(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(tally(ctx, &self.0).await?.score())
    }
    /// The signed-in member's vote: UP, DOWN or NONE.
    async fn viewer_vote(&self, ctx: &Context<'_>) -> Result<VoteDirection> {
        let Some(viewer) = viewer(ctx).await? else {
            return Ok(VoteDirection::None);
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        let key = ViewerVote {
            proposal: self.0.id,
            member: viewer.id,
        };
        Ok(match loader.load_one(key).await? {
            Some(direction) if direction > 0 => VoteDirection::Up,
            Some(_) => VoteDirection::Down,
            None => VoteDirection::None,
        })
    }
    /// Null once the author deleted their account.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(author) = self.0.author_id else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        Ok(loader.load_one(MemberById(author)).await?.map(Member))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn selected_at(&self) -> Option<DateTime<Utc>> {
        self.0.selected_at
    }
    async fn adopted_at(&self) -> Option<DateTime<Utc>> {
        self.0.adopted_at
    }
}

async fn tally(
    ctx: &Context<'_>,
    proposal: &proposal::Model,
) -> Result<service::campaigns::proposal::Tally> {
    let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
    Ok(loader
        .load_one(ProposalTally(proposal.id))
        .await?
        .unwrap_or_default())
}

const RANK_PREFIX: &str = "r1:";

/// A page of a venue's proposals, best score first. Cursors are positions
/// in the ranking, which moves with votes: a page boundary may repeat or
/// skip a proposal whose score changed meanwhile.
pub async fn ranked_page(
    ctx: &Context<'_>,
    venue: Venue,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Page<Proposal>> {
    let config = &state(ctx).config;
    let max = config.page_size_max;
    let first = match first {
        None => config.page_size_default.min(max) as usize,
        Some(first) if first < 0 || first as u64 > max => {
            return Err(AppError::invalid(
                "first",
                format!("first must be between 0 and {max}"),
            ));
        }
        Some(first) => first as usize,
    };
    let start = match after {
        None => 0,
        Some(cursor) => URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.strip_prefix(RANK_PREFIX)
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .and_then(|position| position.checked_add(1))
            .ok_or_else(|| {
                AppError::invalid("after", "after is not a cursor this server issued")
            })?,
    };
    // One more than the page, to tell whether another follows.
    let (ranked, total_count) =
        service::campaigns::proposal::ranked(&state(ctx).db, venue, start as u64, first as u64 + 1)
            .await?;
    let has_next = ranked.len() > first;
    let mut connection =
        Connection::with_additional_fields(start > 0, has_next, ConnectionTotals { total_count });
    for (position, (model, _)) in ranked.into_iter().take(first).enumerate() {
        let position = start.saturating_add(position);
        let cursor = URL_SAFE_NO_PAD.encode(format!("{RANK_PREFIX}{position}"));
        connection.edges.push(Edge::new(cursor, Proposal(model)));
    }
    Ok(connection)
}

#[derive(InputObject)]
pub struct ProposalInput {
    /// 5-140 characters.
    pub title: String,
    /// Up to 10 000 characters.
    pub body: String,
}

impl From<ProposalInput> for NewProposal {
    fn from(input: ProposalInput) -> Self {
        NewProposal {
            title: input.title,
            body: input.body,
        }
    }
}

#[derive(Default)]
pub struct ProposalMutation;

#[Object]
impl ProposalMutation {
    /// Submits an idea to an open CO_CREATION campaign.
    async fn submit_proposal(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: ProposalInput,
    ) -> Result<Proposal> {
        let actor = require_creator(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        service::campaigns::proposal::submit(state(ctx), actor, Venue::Campaign(id), input.into())
            .await
            .map(Proposal)
    }

    /// Submits an idea to a community you belong to.
    async fn submit_community_proposal(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        input: ProposalInput,
    ) -> Result<Proposal> {
        let actor = require_creator(ctx).await?;
        let id = validate::id("communityId", &community_id)?;
        service::campaigns::proposal::submit(state(ctx), actor, Venue::Community(id), input.into())
            .await
            .map(Proposal)
    }

    /// Votes a proposal up or down, or clears your vote (NONE).
    async fn vote(
        &self,
        ctx: &Context<'_>,
        proposal_id: ID,
        direction: VoteDirection,
    ) -> Result<Proposal> {
        let actor = require_member(ctx).await?;
        let id = validate::id("proposalId", &proposal_id)?;
        let direction = match direction {
            VoteDirection::Up => Direction::Up,
            VoteDirection::Down => Direction::Down,
            VoteDirection::None => Direction::None,
        };
        service::campaigns::proposal::vote(state(ctx), actor, Some(client_ip(ctx)?), id, direction)
            .await
            .map(Proposal)
    }

    /// Marks a proposal as taken up by the producer; organiser or admin only.
    async fn adopt_proposal(&self, ctx: &Context<'_>, proposal_id: ID) -> Result<Proposal> {
        let actor = require_member(ctx).await?;
        let id = validate::id("proposalId", &proposal_id)?;
        service::campaigns::proposal::adopt(state(ctx), actor, id)
            .await
            .map(Proposal)
    }
}
