//! Telling people: notifications and digests, live notices, webhooks, and what the outbox delivers.

pub mod delivery;
pub mod notice_hub;
pub mod notification;
pub mod webhook;
