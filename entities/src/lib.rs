//! sea-orm entities of Consumact: one module per table, each with the
//! enumerations stored in it. Enumerations are stored as their
//! SCREAMING_SNAKE_CASE names, the same spelling the GraphQL API uses.

pub mod audit_log;
pub mod auth_token;
pub mod block_rule;
pub mod brand;
pub mod campaign;
pub mod campaign_escalation;
pub mod campaign_sponsor;
pub mod campaign_update;
pub mod campaign_value_tag;
pub mod catalogue_proposal;
pub mod commitment_review;
pub mod community;
pub mod community_member;
pub mod community_value_tag;
pub mod email_token;
pub mod flag;
pub mod fraud_signal;
pub mod invalidation;
pub mod milestone;
pub mod notification_digest;
pub mod offline_tally;
pub mod outbox_message;
pub mod ownership;
pub mod pledge;
pub mod producer;
pub mod producer_representative;
pub mod producer_response;
pub mod product;
pub mod product_value;
pub mod proposal;
pub mod released_handle;
pub mod response_request;
pub mod signature;
pub mod trust_rating;
pub mod value_tag;
pub mod vote;
pub mod webhook;
pub mod webhook_delivery;

pub mod member;
pub mod member_value_tag;
