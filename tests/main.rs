//! Consumact's black-box tests, one binary: each module is one area of
//! the API, and every test starts the real server on a random port (see
//! [`common`]) and talks to it as a frontend would. One binary links the
//! server once instead of once per file; `cargo test auth::` runs one area.

mod common;

mod architecture;
mod auth;
mod cacheable;
mod caches;
mod campaign_places;
mod campaigns;
mod catalogue;
mod catalogue_proposals;
mod co_creation;
mod communities;
mod conflicts;
mod conformance;
mod dashboard;
mod database_faults;
mod delivery_pack;
mod discovery;
mod fraud;
mod fuzz;
mod hostile;
mod http;
mod live;
mod load_tool;
mod moderation;
mod node;
mod notifications;
mod observatory;
mod ownership_data;
mod pledges;
mod privacy;
mod producer_voice;
mod producers;
mod profile;
mod redis_faults;
mod responses;
mod schema;
mod signing;
mod telemetry;
mod verification;
mod webhooks;
mod websocket;
