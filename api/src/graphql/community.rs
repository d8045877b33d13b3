//! Communities: `community`, `communities`, `createCommunity`,
//! `joinCommunity`, `leaveCommunity`.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::community;

use crate::error::Result;
use crate::graphql::campaign::{Campaign, CampaignFilterInput, campaign_page};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_creator, require_member, state, viewer};
use crate::graphql::loaders::{CommunityTags, DbLoader, Membership};
use crate::graphql::proposal::{Proposal, ranked_page};
use crate::graphql::value_tag::ValueTag;
use crate::service::campaigns::proposal::Venue;
use crate::service::{self, validate};

/// A member's place in a community.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "CommunityRole",
    remote = "entities::community_member::MembershipRole"
)]
pub enum CommunityRole {
    Member,
    /// May hide content posted in the community.
    Moderator,
}

/// Members sharing values, optionally rooted in a territory.
pub struct Community(pub community::Model);

#[Object]
impl Community {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// ISO 3166 code, e.g. `FR` or `FR-IDF`.
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    /// The language it is written in (`en`, `fr`).
    async fn language(&self) -> &str {
        &self.0.language
    }
    async fn value_tags(&self, ctx: &Context<'_>) -> Result<Vec<ValueTag>> {
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        let tags = loader.load_one(CommunityTags(self.0.id)).await?;
        Ok(tags.unwrap_or_default().into_iter().map(ValueTag).collect())
    }
    /// Members, kept by every join and leave.
    async fn member_count(&self) -> i64 {
        self.0.member_count
    }
    /// The signed-in member's role here; null when they are not a member.
    async fn viewer_role(&self, ctx: &Context<'_>) -> Result<Option<CommunityRole>> {
        let Some(viewer) = viewer(ctx).await? else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        let key = Membership {
            community: self.0.id,
            member: viewer.id,
        };
        Ok(loader.load_one(key).await?.map(Into::into))
    }
    /// Campaigns run in this community, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CampaignFilterInput>,
    ) -> Result<Page<Campaign>> {
        let mut filter = filter.unwrap_or_default().into_service()?;
        filter.community_id = Some(self.0.id);
        campaign_page(ctx, filter, first, after).await
    }
    /// Proposals made in this community, best score first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Proposal>> {
        ranked_page(ctx, Venue::Community(self.0.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
pub struct CommunityFilter {
    /// Slug of a value tag the community shares.
    pub value_tag: Option<String>,
    /// ISO 3166 code; a country also matches its regions.
    pub territory: Option<String>,
}

#[derive(InputObject)]
pub struct CreateCommunityInput {
    /// 3-120 characters.
    pub name: String,
    /// 3-64 lower-case letters, digits and hyphens; unique.
    pub slug: String,
    pub description: Option<String>,
    /// Slugs of the values the community shares (at most 10).
    #[graphql(default)]
    pub value_tags: Vec<String>,
    pub territory: Option<String>,
    /// `en` or `fr`; by default your language.
    pub language: Option<String>,
}

/// How a community list is ordered; every order walks an index.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommunityOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Most members first.
    Largest,
    /// Most activity first: joins and signatures on its campaigns, weighted
    /// by age (a day's weighing about as much as the whole past).
    MostActive,
}

#[derive(Default)]
pub struct CommunityQuery;

#[Object]
impl CommunityQuery {
    async fn community(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Community>> {
        Ok(
            service::campaigns::community::by_slug(&state(ctx).db, &slug)
                .await?
                .map(Community),
        )
    }

    /// Communities, newest first unless `orderBy` says otherwise.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn communities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CommunityFilter>,
        #[graphql(default)] order_by: CommunityOrder,
    ) -> Result<Page<Community>> {
        let filter = filter.unwrap_or_default();
        let select =
            service::campaigns::community::list(service::campaigns::community::CommunityFilter {
                value_tag: filter.value_tag,
                territory: filter.territory,
            })?;
        let column = match order_by {
            CommunityOrder::Newest => {
                return connection::paginate(
                    ctx,
                    select,
                    community::Column::Id,
                    first,
                    after,
                    Community,
                )
                .await;
            }
            CommunityOrder::Largest => community::Column::MemberCount,
            CommunityOrder::MostActive => community::Column::Momentum,
        };
        let order = connection::KeyOrder {
            column,
            descending: true,
        };
        connection::paginate_by(
            ctx,
            select,
            community::Column::Id,
            order,
            first,
            after,
            Community,
        )
        .await
    }
}

#[derive(Default)]
pub struct CommunityMutation;

#[Object]
impl CommunityMutation {
    /// Creates a community; its creator becomes its first moderator.
    async fn create_community(
        &self,
        ctx: &Context<'_>,
        input: CreateCommunityInput,
    ) -> Result<Community> {
        let actor = require_creator(ctx).await?;
        let new = service::campaigns::community::NewCommunity {
            name: input.name,
            slug: input.slug,
            description: input.description,
            value_tags: input.value_tags,
            territory: input.territory,
            language: input.language,
        };
        service::campaigns::community::create(state(ctx), actor, new)
            .await
            .map(Community)
    }

    async fn join_community(&self, ctx: &Context<'_>, community_id: ID) -> Result<Community> {
        let actor = require_member(ctx).await?;
        let id = validate::id("communityId", &community_id)?;
        service::campaigns::community::join(state(ctx), actor, id)
            .await
            .map(Community)
    }

    async fn leave_community(&self, ctx: &Context<'_>, community_id: ID) -> Result<Community> {
        let actor = require_member(ctx).await?;
        let id = validate::id("communityId", &community_id)?;
        service::campaigns::community::leave(state(ctx), actor, id)
            .await
            .map(Community)
    }
}
