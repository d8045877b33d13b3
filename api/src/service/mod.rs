//! Domain rules, one module per concept. Each public function is one use
//! case: it validates its input, checks who may do it, and runs in one
//! transaction. Nothing here knows about GraphQL or HTTP.

pub mod audit;
pub mod auth;
pub mod block;
pub mod campaign;
pub mod community;
pub mod confirmation;
pub mod delivery;
pub mod discover;
pub mod email_token;
pub mod hashing;
pub mod invalidation;
pub mod kept;
pub mod milestone;
pub mod moderation;
pub mod node;
pub mod notice_hub;
pub mod notification;
pub mod observatory;
pub mod offline_tally;
pub mod password;
pub mod pledge;
pub mod privacy;
pub mod producer;
pub mod producer_voice;
pub mod profile;
pub mod proposal;
pub mod rating;
pub mod retention;
pub mod search;
pub mod secret;
pub mod sign_batch;
pub mod signature;
pub mod source;
pub mod sponsorship;
pub mod surge;
pub mod validate;
pub mod value_tag;
pub mod viewer;
pub mod webhook;
