//! Finding campaigns and communities: `discover` (explained
//! recommendations) and `search` (full text).

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Union};
use entities::{campaign, community, producer, product};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::graphql::campaign::{Campaign, CampaignKind, CampaignStatus};
use crate::graphql::catalogue::Product;
use crate::graphql::community::Community;
use crate::graphql::connection::{
    self, ConnectionTotals, Page, complexity, decode_position, encode_position,
};
use crate::graphql::guards::{state, viewer};
use crate::graphql::producer::Producer;
use crate::service::discovery::discover::{self, Target, Weights};
use crate::service::discovery::search::{self, Kind, SearchFilter};

/// What `discover` recommends.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DiscoverKind {
    Campaigns,
    Communities,
}

/// Why something was recommended.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::service::discovery::discover::ReasonKind")]
pub enum ReasonKind {
    /// It stands for a value you hold (`detail`: the value's slug).
    SharedValue,
    /// It is where you are: same place, or same country (`detail`: its territory).
    SameTerritory,
    /// It belongs to one of your communities (`detail`: the community's slug).
    InYourCommunity,
    /// Many acted on it in about the last day (`detail` says how many).
    Trending,
    /// Its deadline is near (`detail`: the deadline).
    ClosingSoon,
    /// It is recent (`detail`: when it was published or created).
    New,
}

/// One reason of a recommendation.
#[derive(SimpleObject)]
pub struct RecommendationReason {
    pub kind: ReasonKind,
    pub detail: Option<String>,
}

/// A recommended campaign or community (exactly one of the two is set).
pub struct Recommendation(discover::Recommendation);

#[Object]
impl Recommendation {
    /// The ranking score (see README, "Finding campaigns"): higher is better.
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Why it ranks here: one reason per term of the formula that counted.
    async fn reasons(&self) -> Vec<RecommendationReason> {
        self.0
            .reasons
            .iter()
            .map(|reason| RecommendationReason {
                kind: reason.kind.into(),
                detail: reason.detail.clone(),
            })
            .collect()
    }
    async fn campaign(&self) -> Option<Campaign> {
        self.0.campaign.clone().map(Campaign)
    }
    async fn community(&self) -> Option<Community> {
        self.0.community.clone().map(Community)
    }
}

/// What `search` may look for.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    Campaign,
    Community,
    Producer,
    /// Products of the catalogue, by name, barcode and category.
    Product,
}

impl From<SearchType> for Kind {
    fn from(value: SearchType) -> Self {
        match value {
            SearchType::Campaign => Kind::Campaign,
            SearchType::Community => Kind::Community,
            SearchType::Producer => Kind::Producer,
            SearchType::Product => Kind::Product,
        }
    }
}

/// Public filters combined with a search. `kind` and `status` concern
/// campaigns only and `valueTag` campaigns and communities: a type that
/// cannot meet a filter given is left out of the hits.
#[derive(InputObject, Default)]
#[graphql(name = "SearchFilter")]
pub struct SearchFilterInput {
    pub kind: Option<CampaignKind>,
    pub status: Option<CampaignStatus>,
    /// ISO 3166; a country (`FR`) also finds its subdivisions (`FR-ARA`).
    pub territory: Option<String>,
    /// Slug of a value tag.
    pub value_tag: Option<String>,
}

/// Something search found.
// A page of hits lives for one answer; boxing the campaign would only add
// an allocation per hit.
#[allow(clippy::large_enum_variant)]
#[derive(Union)]
pub enum SearchResult {
    Campaign(Campaign),
    Community(Community),
    Producer(Producer),
    Product(Product),
}

/// One search hit.
#[derive(SimpleObject)]
pub struct SearchHit {
    pub node: SearchResult,
    /// Relevance: higher is better; compare within one answer only.
    pub score: f64,
    /// A short extract, HTML-escaped, with the matched words inside
    /// `<mark>…</mark>`.
    pub snippet: String,
}

/// Where a position-paged list starts, from its `after` cursor.
fn start_of(after: Option<&str>) -> Result<usize> {
    Ok(match after {
        Some(cursor) => decode_position(cursor)? + 1,
        None => 0,
    })
}

/// A connection over a computed, ranked list starting at `start`.
fn ranked<N: async_graphql::OutputType>(start: usize, mut nodes: Vec<N>, first: usize) -> Page<N> {
    let has_next = nodes.len() > first;
    nodes.truncate(first);
    let mut page = Connection::with_additional_fields(
        start > 0,
        has_next,
        ConnectionTotals { total_count: 0 },
    );
    for (i, node) in nodes.into_iter().enumerate() {
        page.edges.push(Edge::new(encode_position(start + i), node));
    }
    page
}

#[derive(Default)]
pub struct DiscoveryQuery;

#[Object]
impl DiscoveryQuery {
    /// Campaigns or communities for the viewer, not yet signed or joined,
    /// best first, each with its reasons: shared values, territory, the
    /// viewer's communities, momentum, deadline, freshness. Anonymous
    /// visitors get what is trending, near `territory` when given (which
    /// also overrides a member's own territory). `totalCount` is not
    /// computed (0); pages end when the candidates (at most six lists of
    /// `CONSUMACT_DISCOVER_CANDIDATES`) are used up.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn discover(
        &self,
        ctx: &Context<'_>,
        kind: DiscoverKind,
        territory: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Recommendation>> {
        let state = state(ctx);
        let first = connection::page_size(ctx, first)? as usize;
        let start = start_of(after.as_deref())?;
        let target = match kind {
            DiscoverKind::Campaigns => Target::Campaigns,
            DiscoverKind::Communities => Target::Communities,
        };
        let found = discover::discover(
            &state.db,
            Weights::of(&state.config),
            viewer(ctx).await?,
            target,
            territory.as_deref(),
            start,
            first + 1,
        )
        .await?;
        Ok(ranked(
            start,
            found.into_iter().map(Recommendation).collect(),
            first,
        ))
    }

    /// Full-text search over published campaigns, communities and
    /// producers (all three unless `types` says otherwise), best first.
    /// Words are matched whatever their accents and, on PostgreSQL, their
    /// endings (in the content's language); `"a phrase"`, `or` and `-word`
    /// work as on a web search engine. `totalCount` is not computed (0);
    /// pages end after 500 hits.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        types: Option<Vec<SearchType>>,
        filter: Option<SearchFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<SearchHit>> {
        let state = state(ctx);
        let first = connection::page_size(ctx, first)? as usize;
        let start = start_of(after.as_deref())?;
        let mut kinds: Vec<Kind> = Vec::with_capacity(4);
        for kind in types.unwrap_or_else(|| {
            vec![
                SearchType::Campaign,
                SearchType::Community,
                SearchType::Producer,
                SearchType::Product,
            ]
        }) {
            if !kinds.contains(&kind.into()) {
                kinds.push(kind.into());
            }
        }
        if kinds.is_empty() {
            return Err(AppError::invalid(
                "types",
                "types must name at least one type",
            ));
        }
        let filter = filter.unwrap_or_default();
        let filter = SearchFilter {
            kind: filter.kind.map(Into::into),
            status: filter.status.map(Into::into),
            territory: filter.territory,
            value_tag: filter.value_tag,
        };
        let hits = search::search(&state.db, &query, &kinds, &filter, start, first + 1).await?;
        let ids = |kind: Kind| -> Vec<Uuid> {
            hits.iter()
                .filter(|hit| hit.kind == kind)
                .map(|hit| hit.id)
                .collect()
        };
        let mut campaigns: HashMap<Uuid, campaign::Model> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(ids(Kind::Campaign)))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|model| (model.id, model))
            .collect();
        let mut communities: HashMap<Uuid, community::Model> = community::Entity::find()
            .filter(community::Column::Id.is_in(ids(Kind::Community)))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|model| (model.id, model))
            .collect();
        let mut producers: HashMap<Uuid, producer::Model> = producer::Entity::find()
            .filter(producer::Column::Id.is_in(ids(Kind::Producer)))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|model| (model.id, model))
            .collect();
        let mut products: HashMap<Uuid, product::Model> = product::Entity::find()
            .filter(product::Column::Id.is_in(ids(Kind::Product)))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|model| (model.id, model))
            .collect();
        let nodes = hits
            .into_iter()
            .filter_map(|hit| {
                let node = match hit.kind {
                    Kind::Campaign => SearchResult::Campaign(Campaign(campaigns.remove(&hit.id)?)),
                    Kind::Community => {
                        SearchResult::Community(Community(communities.remove(&hit.id)?))
                    }
                    Kind::Producer => SearchResult::Producer(Producer(producers.remove(&hit.id)?)),
                    Kind::Product => SearchResult::Product(Product(products.remove(&hit.id)?)),
                };
                Some(SearchHit {
                    node,
                    score: hit.score,
                    snippet: hit.snippet,
                })
            })
            .collect();
        Ok(ranked(start, nodes, first))
    }
}
