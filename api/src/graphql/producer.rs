//! Producers: `producer`, `producers`, `createProducer`.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::{producer, producer_response};

use crate::error::Result;
use crate::graphql::campaign::{Campaign, CampaignFilterInput, campaign_page};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_creator, state};
use crate::graphql::loaders::{DbLoader, ProducerById};
use crate::graphql::producer_voice::ProducerResponse;
use crate::service::catalogue::ownership;
use crate::service::{self, validate};

/// What sort of organisation a producer is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProducerKind", remote = "entities::producer::ProducerKind")]
pub enum ProducerKind {
    Cooperative,
    SoleTrader,
    /// Small or medium-sized enterprise.
    Sme,
    LargeGroup,
    PublicBody,
    NonProfit,
}

/// Whom campaigns address: a brand, company or cooperative.
pub struct Producer(pub producer::Model);

impl Producer {
    /// The producer with this id, through the request's loader: for the
    /// many types that point at one.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Producer> {
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        loader
            .load_one(ProducerById(id))
            .await?
            .map(Producer)
            .ok_or(crate::error::AppError::NotFound("producer"))
    }
}

#[Object]
impl Producer {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> ProducerKind {
        self.0.kind.into()
    }
    /// Sector slug, e.g. `food` or `cosmetics`.
    async fn sector(&self) -> &str {
        &self.0.sector
    }
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    /// Labels and certifications, e.g. `organic`.
    async fn labels(&self) -> Vec<String> {
        service::producers::producer::labels(&self.0)
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The viewer's ratings of this producer this month (empty when
    /// signed out or not rated yet).
    async fn viewer_ratings(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::rating::TrustRating>> {
        crate::graphql::rating::viewer_ratings(ctx, self.0.id).await
    }
    /// Campaigns aimed at this producer, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CampaignFilterInput>,
    ) -> Result<Page<Campaign>> {
        let mut filter = filter.unwrap_or_default().into_service()?;
        filter.producer_id = Some(self.0.id);
        campaign_page(ctx, filter, first, after).await
    }
    /// Responses in which the producer made a commitment, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn commitments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ProducerResponse>> {
        let select = service::producers::producer_voice::commitments_of(self.0.id);
        connection::paginate(
            ctx,
            select,
            producer_response::Column::Id,
            first,
            after,
            ProducerResponse,
        )
        .await
    }
    /// Its identifiers in public registers.
    async fn identifiers(&self) -> crate::graphql::ownership::ProducerIdentifiers {
        crate::graphql::ownership::ProducerIdentifiers {
            lei: self.0.lei.clone(),
            wikidata: self.0.wikidata.clone(),
            open_corporates: self.0.open_corporates.clone(),
            website: self.0.website.clone(),
        }
    }
    /// Its owner now.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Producer>> {
        match ownership::parent_edge(&state(ctx).db, self.0.id).await? {
            Some(edge) => Producer::load(ctx, edge.parent_id).await.map(Some),
            None => Ok(None),
        }
    }
    /// The top of its ownership chain (itself when nobody owns it).
    async fn ultimate_parent(&self, ctx: &Context<'_>) -> Result<Producer> {
        let chain = ownership::ancestors(&state(ctx).db, self.0.id).await?;
        match chain.last() {
            Some(&top) => Producer::load(ctx, top).await,
            None => Ok(Producer(self.0.clone())),
        }
    }
    /// The producers it owns now.
    async fn subsidiaries(&self, ctx: &Context<'_>) -> Result<Vec<Producer>> {
        let mut out = Vec::new();
        for id in ownership::subsidiaries(&state(ctx).db, self.0.id).await? {
            out.push(Producer::load(ctx, id).await?);
        }
        Ok(out)
    }
    /// Every ownership of it, current and past, latest first.
    async fn ownership_history(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::ownership::Ownership>> {
        Ok(ownership::history(&state(ctx).db, self.0.id)
            .await?
            .into_iter()
            .map(crate::graphql::ownership::Ownership)
            .collect())
    }
    /// The brands it owns.
    async fn brands(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::catalogue::Brand>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        Ok(entities::brand::Entity::find()
            .filter(entities::brand::Column::OwnerId.eq(self.0.id))
            .order_by_asc(entities::brand::Column::NameKey)
            .all(&state(ctx).db)
            .await?
            .into_iter()
            .map(crate::graphql::catalogue::Brand)
            .collect())
    }
    /// How it answers the campaigns that asked it to: requests, answers
    /// (on time), overdue ones, the median days to answer and the longest
    /// silence. Public.
    async fn accountability(
        &self,
        ctx: &Context<'_>,
    ) -> Result<crate::graphql::response::Accountability> {
        crate::graphql::response::accountability(ctx, self.0.id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
pub struct ProducerFilter {
    pub sector: Option<String>,
    pub kind: Option<ProducerKind>,
    /// ISO 3166 code; a country also matches its regions.
    pub territory: Option<String>,
}

#[derive(InputObject)]
pub struct CreateProducerInput {
    /// 2-120 characters; unique regardless of case and spacing.
    pub name: String,
    pub kind: ProducerKind,
    /// Sector slug, e.g. `food`.
    pub sector: String,
    pub territory: Option<String>,
    /// Up to 20 labels of up to 60 characters.
    #[graphql(default)]
    pub labels: Vec<String>,
    pub website: Option<String>,
    pub description: Option<String>,
}

#[derive(Default)]
pub struct ProducerQuery;

#[Object]
impl ProducerQuery {
    async fn producer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Producer>> {
        let id = validate::id("id", &id)?;
        match service::producers::producer::get(&state(ctx).db, id).await {
            Ok(found) => Ok(Some(Producer(found))),
            Err(crate::error::AppError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Producers, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn producers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProducerFilter>,
    ) -> Result<Page<Producer>> {
        let filter = filter.unwrap_or_default();
        let select =
            service::producers::producer::list(service::producers::producer::ProducerFilter {
                sector: filter.sector,
                kind: filter.kind.map(Into::into),
                territory: filter.territory,
            })?;
        connection::paginate(ctx, select, producer::Column::Id, first, after, Producer).await
    }
}

#[derive(Default)]
pub struct ProducerMutation;

#[Object]
impl ProducerMutation {
    /// Registers a producer so campaigns can address it; any member may.
    async fn create_producer(
        &self,
        ctx: &Context<'_>,
        input: CreateProducerInput,
    ) -> Result<Producer> {
        let actor = require_creator(ctx).await?;
        let new = service::producers::producer::NewProducer {
            name: input.name,
            kind: input.kind.into(),
            sector: input.sector,
            territory: input.territory,
            labels: input.labels,
            website: input.website,
            description: input.description,
        };
        service::producers::producer::create(state(ctx), actor, new)
            .await
            .map(Producer)
    }
}
