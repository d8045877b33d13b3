//! Relay's Global Object Identification: the `Node` interface and
//! `Query.node` / `Query.nodes`, so that normalised client caches can
//! refetch any object with an id, as far as the caller may see it.

use async_graphql::{Context, ID, Interface, Object};

use crate::error::{AppError, Result};
use crate::graphql::block::BlockRule;
use crate::graphql::campaign::Campaign;
use crate::graphql::community::Community;
use crate::graphql::guards::{state, viewer};
use crate::graphql::invalidation::Invalidation;
use crate::graphql::member::Member;
use crate::graphql::moderation::{AuditEntry, Flag};
use crate::graphql::notification::Notification;
use crate::graphql::offline_tally::OfflineTally;
use crate::graphql::pledge::Pledge;
use crate::graphql::producer::Producer;
use crate::graphql::producer_voice::{CampaignUpdate, ProducerClaim, ProducerResponse};
use crate::graphql::proposal::Proposal;
use crate::graphql::rating::TrustRating;
use crate::graphql::signing::Signature;
use crate::graphql::surge::FraudSignal;
use crate::graphql::value_tag::ValueTag;
use crate::graphql::webhook::{Webhook, WebhookDelivery};
use crate::service::node::{self, Found};
use crate::service::validate;

/// An object with a global id: `node(id:)` refetches it.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Unique across every type."))]
pub enum Node {
    Campaign(Campaign),
    Community(Community),
    Producer(Producer),
    Member(Member),
    ValueTag(ValueTag),
    Signature(Signature),
    Proposal(Proposal),
    ProducerResponse(ProducerResponse),
    CampaignUpdate(CampaignUpdate),
    AuditEntry(AuditEntry),
    BlockRule(BlockRule),
    Flag(Flag),
    FraudSignal(FraudSignal),
    Invalidation(Invalidation),
    Notification(Notification),
    OfflineTally(OfflineTally),
    Pledge(Pledge),
    ProducerClaim(ProducerClaim),
    TrustRating(TrustRating),
    Webhook(Webhook),
    WebhookDelivery(WebhookDelivery),
}

impl From<Found> for Node {
    fn from(found: Found) -> Self {
        match found {
            Found::Campaign(model) => Node::Campaign(Campaign(model)),
            Found::Community(model) => Node::Community(Community(model)),
            Found::Producer(model) => Node::Producer(Producer(model)),
            Found::Member(model) => Node::Member(Member(model)),
            Found::ValueTag(model) => Node::ValueTag(ValueTag(model)),
            Found::Signature(model) => Node::Signature(Signature(model)),
            Found::Proposal(model) => Node::Proposal(Proposal(model)),
            Found::ProducerResponse(model) => Node::ProducerResponse(ProducerResponse(model)),
            Found::CampaignUpdate(model) => Node::CampaignUpdate(CampaignUpdate(model)),
            Found::AuditEntry(model) => Node::AuditEntry(AuditEntry(model)),
            Found::BlockRule(model) => Node::BlockRule(BlockRule(model)),
            Found::Flag(model) => Node::Flag(Flag(model)),
            Found::FraudSignal(model) => Node::FraudSignal(FraudSignal(model)),
            Found::Invalidation(model) => Node::Invalidation(Invalidation(model)),
            Found::Notification(notice) => Node::Notification(notice.into()),
            Found::OfflineTally(model) => Node::OfflineTally(OfflineTally(model)),
            Found::Pledge(model) => Node::Pledge(Pledge(model)),
            Found::ProducerClaim(model) => Node::ProducerClaim(ProducerClaim(model)),
            Found::TrustRating(model) => Node::TrustRating(TrustRating(model)),
            Found::Webhook(model) => Node::Webhook(Webhook(model)),
            Found::WebhookDelivery(model) => Node::WebhookDelivery(WebhookDelivery(model)),
        }
    }
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its id; null when there is none, or when the caller
    /// may not see it (the same rules as everywhere else).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let id = validate::id("id", &id)?;
        Ok(node::find(state(ctx), viewer(ctx).await?, id)
            .await?
            .map(Node::from))
    }

    /// Several objects by their ids, in the order asked (null for each one
    /// there is none of, or the caller may not see); at most as many as a
    /// page holds (`CONSUMACT_PAGE_SIZE_MAX`).
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        let state = state(ctx);
        let max = state.config.page_size_max as usize;
        if ids.len() > max {
            return Err(AppError::invalid(
                "ids",
                format!("ask for at most {max} ids at once"),
            ));
        }
        let ids = ids
            .iter()
            .map(|id| validate::id("ids", id))
            .collect::<Result<Vec<_>>>()?;
        let viewer = viewer(ctx).await?;
        let found = node::find_many(state, viewer, &ids).await?;
        Ok(found
            .into_iter()
            .map(|found| found.map(Node::from))
            .collect())
    }
}
