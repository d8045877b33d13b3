//! Who owns whom over GraphQL: ownership edges with their sources, the
//! producers' register identifiers, and the writes moderators make
//! (`setOwnership`, `endOwnership`, `setProducerIdentifiers`). The
//! producer's side (`parent`, `subsidiaries`, `ultimateParent`, `brands`,
//! `ownershipHistory`, `identifiers`) is in `graphql::producer`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::ownership;

use crate::error::Result;
use crate::graphql::guards::{require_member, state};
use crate::graphql::producer::Producer;
use crate::service::catalogue::ownership as service;
use crate::service::validate;

/// Where an ownership edge comes from.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::ownership::OwnershipSource")]
pub enum OwnershipSource {
    Wikidata,
    Gleif,
    OpenFoodFacts,
    /// Proposed by a member and accepted by a moderator.
    Member,
    /// Stated by the producer's representative.
    Producer,
}

/// One producer owning another, from when to when, on what evidence.
pub struct Ownership(pub ownership::Model);

#[Object]
impl Ownership {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The producer owned.
    async fn child(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.child_id).await
    }
    /// Its owner.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.parent_id).await
    }
    async fn source(&self) -> OwnershipSource {
        self.0.source.into()
    }
    async fn evidence_url(&self) -> Option<&str> {
        self.0.evidence_url.as_deref()
    }
    async fn valid_from(&self) -> DateTime<Utc> {
        self.0.valid_from
    }
    /// Null while it holds.
    async fn valid_to(&self) -> Option<DateTime<Utc>> {
        self.0.valid_to
    }
}

/// A producer's identifiers in public registers.
#[derive(SimpleObject)]
pub struct ProducerIdentifiers {
    /// Legal Entity Identifier (GLEIF).
    pub lei: Option<String>,
    /// Wikidata item (`Q…`).
    pub wikidata: Option<String>,
    /// OpenCorporates identifier (`fr/552032534`).
    pub open_corporates: Option<String>,
    pub website: Option<String>,
}

/// A new owner for a producer.
#[derive(InputObject)]
pub struct SetOwnershipInput {
    pub child_id: ID,
    pub parent_id: ID,
    pub source: OwnershipSource,
    /// An http(s) URL backing it.
    pub evidence_url: Option<String>,
    /// By default now; after the current owner's start, not in the future.
    pub valid_from: Option<DateTime<Utc>>,
}

/// Register identifiers; an empty text clears one, a missing one stays.
#[derive(InputObject)]
pub struct ProducerIdentifiersInput {
    pub lei: Option<String>,
    pub wikidata: Option<String>,
    pub open_corporates: Option<String>,
}

#[derive(Default)]
pub struct OwnershipMutation;

#[Object]
impl OwnershipMutation {
    /// Makes `parentId` the owner of `childId` from `validFrom`, ending the
    /// current ownership there (the history stays); moderators and admins.
    /// `CONFLICT` for an edge that would make a producer own itself.
    async fn set_ownership(
        &self,
        ctx: &Context<'_>,
        input: SetOwnershipInput,
    ) -> Result<Ownership> {
        let actor = require_member(ctx).await?;
        let new = service::NewOwnership {
            child_id: validate::id("input.childId", &input.child_id)?,
            parent_id: validate::id("input.parentId", &input.parent_id)?,
            source: input.source.into(),
            evidence_url: input.evidence_url,
            valid_from: input.valid_from,
        };
        service::set(state(ctx), actor, new).await.map(Ownership)
    }

    /// Ends an ownership at `validTo` (by default now); moderators and
    /// admins.
    async fn end_ownership(
        &self,
        ctx: &Context<'_>,
        id: ID,
        valid_to: Option<DateTime<Utc>>,
    ) -> Result<Ownership> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::end(state(ctx), actor, id, valid_to)
            .await
            .map(Ownership)
    }

    /// Sets a producer's register identifiers; moderators and admins.
    async fn set_producer_identifiers(
        &self,
        ctx: &Context<'_>,
        producer_id: ID,
        input: ProducerIdentifiersInput,
    ) -> Result<Producer> {
        let actor = require_member(ctx).await?;
        let id = validate::id("producerId", &producer_id)?;
        let given = service::Identifiers {
            lei: input.lei,
            wikidata: input.wikidata,
            open_corporates: input.open_corporates,
        };
        service::set_identifiers(state(ctx), actor, id, given)
            .await
            .map(Producer)
    }
}
