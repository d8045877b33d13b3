//! The catalogue written by many hands, over GraphQL: `proposeProduct`,
//! `proposeBrand`, `proposeOwnership` (confirmed members),
//! `disputeOwnership` (producers' representatives), and the moderators'
//! `catalogueProposals`, `acceptCatalogueProposal` and
//! `rejectCatalogueProposal` (see `service::catalogue::proposals`).

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::catalogue_proposal;

use crate::error::{AppError, Result};
use crate::graphql::catalogue::{CreateBrandInput, CreateProductInput};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state, viewer};
use crate::service::catalogue::proposals::{self as service, Proposed};
use crate::service::validate;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::catalogue_proposal::ProposalKind")]
pub enum CatalogueProposalKind {
    Product,
    Brand,
    Ownership,
    /// An ownership edge a producer's representative says is wrong.
    Dispute,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::catalogue_proposal::ProposalStatus")]
pub enum CatalogueProposalStatus {
    Pending,
    Accepted,
    Rejected,
}

/// A proposed catalogue entry, or a disputed ownership edge.
pub struct CatalogueProposal(pub catalogue_proposal::Model);

#[Object]
impl CatalogueProposal {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> CatalogueProposalKind {
        self.0.kind.into()
    }
    async fn status(&self) -> CatalogueProposalStatus {
        self.0.status.into()
    }
    /// What is proposed, as JSON: `kind` and the fields of the matching
    /// mutation's input in snake_case (`gtin`, `brand_id` …), or the
    /// disputed edge's `ownership_id`.
    async fn details(&self) -> &str {
        &self.0.payload
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn evidence_url(&self) -> Option<&str> {
        self.0.evidence_url.as_deref()
    }
    /// Who proposed it: shown to moderators and to the proposer; null once
    /// they deleted their account.
    async fn proposer_id(&self, ctx: &Context<'_>) -> Result<Option<ID>> {
        let reader = viewer(ctx).await?;
        let shown = reader
            .is_some_and(|reader| reader.moderates() || self.0.proposer_id == Some(reader.id));
        Ok(self
            .0
            .proposer_id
            .filter(|_| shown)
            .map(|id| ID(id.to_string())))
    }
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// What accepting it wrote: the product, brand or ownership edge
    /// created, or the disputed edge that was ended.
    async fn result_id(&self) -> Option<ID> {
        self.0.result_id.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct CatalogueProposalQuery;

#[Object]
impl CatalogueProposalQuery {
    /// Proposals and disputes, oldest first; moderators and admins.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn catalogue_proposals(
        &self,
        ctx: &Context<'_>,
        status: Option<CatalogueProposalStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<CatalogueProposal>> {
        let actor = require_member(ctx).await?;
        if !actor.moderates() {
            return Err(AppError::Forbidden(
                "moderators and admins read catalogue proposals".into(),
            ));
        }
        connection::paginate(
            ctx,
            service::listed(status.map(Into::into)),
            catalogue_proposal::Column::Id,
            first,
            after,
            CatalogueProposal,
        )
        .await
    }

    /// The caller's own proposals and disputes, oldest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn my_catalogue_proposals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<CatalogueProposal>> {
        let actor = require_member(ctx).await?;
        connection::paginate(
            ctx,
            service::mine(actor),
            catalogue_proposal::Column::Id,
            first,
            after,
            CatalogueProposal,
        )
        .await
    }
}

#[derive(InputObject)]
pub struct ProposeOwnershipInput {
    pub child_id: ID,
    pub parent_id: ID,
    /// Where the ownership is stated (required).
    pub evidence_url: String,
}

#[derive(Default)]
pub struct CatalogueProposalMutation;

fn optional_id(field: &str, value: Option<ID>) -> Result<Option<uuid::Uuid>> {
    value.map(|value| validate::id(field, &value)).transpose()
}

#[Object]
impl CatalogueProposalMutation {
    /// Proposes a product; confirmed members. Pending until a moderator
    /// accepts it. `reason`: 10-2 000 characters.
    async fn propose_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
        reason: String,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let what = Proposed::Product(input.into_new()?);
        service::propose(state(ctx), actor, what, &reason, None)
            .await
            .map(CatalogueProposal)
    }

    /// Proposes a brand; confirmed members.
    async fn propose_brand(
        &self,
        ctx: &Context<'_>,
        input: CreateBrandInput,
        reason: String,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let what = Proposed::Brand {
            name: input.name,
            owner_id: optional_id("input.ownerId", input.owner_id)?,
        };
        service::propose(state(ctx), actor, what, &reason, None)
            .await
            .map(CatalogueProposal)
    }

    /// Proposes that one producer owns another, with evidence; confirmed
    /// members. Accepted, the edge's source is `MEMBER` (`PRODUCER` when a
    /// representative of either producer proposed it).
    async fn propose_ownership(
        &self,
        ctx: &Context<'_>,
        input: ProposeOwnershipInput,
        reason: String,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let what = Proposed::Ownership {
            child_id: validate::id("input.childId", &input.child_id)?,
            parent_id: validate::id("input.parentId", &input.parent_id)?,
            from_producer: false,
        };
        service::propose(state(ctx), actor, what, &reason, Some(input.evidence_url))
            .await
            .map(CatalogueProposal)
    }

    /// Disputes a current ownership edge naming the caller's producer (as
    /// owned or owner), with evidence; approved representatives. Accepted,
    /// the edge ends.
    async fn dispute_ownership(
        &self,
        ctx: &Context<'_>,
        ownership_id: ID,
        reason: String,
        evidence_url: String,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let what = Proposed::Dispute {
            ownership_id: validate::id("ownershipId", &ownership_id)?,
        };
        service::propose(state(ctx), actor, what, &reason, Some(evidence_url))
            .await
            .map(CatalogueProposal)
    }

    /// Accepts a pending proposal (writing it) or dispute (ending the
    /// edge); moderators and admins. `CONFLICT` once decided.
    async fn accept_catalogue_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::accept(state(ctx), actor, id, reason)
            .await
            .map(CatalogueProposal)
    }

    /// Rejects a pending proposal or dispute, with a reason; moderators and
    /// admins.
    async fn reject_catalogue_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<CatalogueProposal> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        service::reject(state(ctx), actor, id, &reason)
            .await
            .map(CatalogueProposal)
    }
}
