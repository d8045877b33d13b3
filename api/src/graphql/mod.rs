//! The GraphQL schema: one module per domain, merged here, with the limits
//! that keep hostile queries cheap.

pub mod account;
pub mod block;
pub mod campaign;
pub mod campaign_edit;
pub mod campaign_target;
pub mod catalogue;
pub mod catalogue_proposal;
pub mod community;
pub mod conflicts;
pub mod connection;
pub mod discovery;
pub mod error_codes;
pub mod guards;
pub mod invalidation;
pub mod loaders;
pub mod member;
pub mod moderation;
pub mod node;
pub mod notification;
pub mod observatory;
pub mod observatory_figures;
pub mod observatory_privacy;
pub mod offline_tally;
pub mod ownership;
pub mod pledge;
pub mod producer;
pub mod producer_voice;
pub mod proposal;
pub mod query_limits;
pub mod rating;
pub mod response;
pub mod signing;
pub mod sponsorship;
pub mod surge;
pub mod value_tag;
pub mod webhook;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::state::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    member::MemberQuery,
    value_tag::ValueTagQuery,
    community::CommunityQuery,
    producer::ProducerQuery,
    catalogue::CatalogueQuery,
    catalogue_proposal::CatalogueProposalQuery,
    conflicts::ConflictsQuery,
    campaign::CampaignQuery,
    producer_voice::ProducerVoiceQuery,
    moderation::ModerationQuery,
    observatory::ObservatoryQuery,
    sponsorship::SponsorshipQuery,
    block::BlockQuery,
    invalidation::InvalidationQuery,
    surge::SurgeQuery,
    webhook::WebhookQuery,
    notification::NotificationQuery,
    offline_tally::OfflineTallyQuery,
    discovery::DiscoveryQuery,
    node::NodeQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    member::MemberMutation,
    account::AccountMutation,
    value_tag::ValueTagMutation,
    community::CommunityMutation,
    producer::ProducerMutation,
    catalogue::CatalogueMutation,
    catalogue_proposal::CatalogueProposalMutation,
    ownership::OwnershipMutation,
    campaign_edit::CampaignMutation,
    campaign_target::CampaignTargetMutation,
    signing::SigningMutation,
    pledge::PledgeMutation,
    proposal::ProposalMutation,
    rating::RatingMutation,
    producer_voice::ProducerVoiceMutation,
    response::ResponseMutation,
    moderation::ModerationMutation,
    sponsorship::SponsorshipMutation,
    block::BlockMutation,
    invalidation::InvalidationMutation,
    surge::SurgeMutation,
    webhook::WebhookMutation,
    notification::NotificationMutation,
    offline_tally::OfflineTallyMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    signing::CounterSubscription,
    notification::NotificationSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schema the server executes, with the configured limits.
pub fn build(state: AppState) -> AppSchema {
    build_validating(state, async_graphql::ValidationMode::Strict)
}

/// The schema, validating documents in `mode`: `Fast` only for documents
/// that passed `Strict` before with variables of the same shape (see
/// `http::documents`).
pub fn build_validating(state: AppState, mode: async_graphql::ValidationMode) -> AppSchema {
    let config = state.config.clone();
    let mut schema = builder()
        .validation_mode(mode)
        .limit_depth(config.graphql_max_depth)
        .limit_complexity(config.graphql_max_complexity)
        .limit_recursive_depth(config.graphql_max_recursion)
        .limit_directives(config.graphql_max_directives)
        .extension(error_codes::ErrorCodes)
        .extension(query_limits::QueryLimits {
            max_aliases: config.graphql_max_aliases,
            max_root_fields: config.graphql_max_root_fields,
        })
        .data(state);
    if !config.introspection {
        schema = schema.disable_introspection();
    }
    schema.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
