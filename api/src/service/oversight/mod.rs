//! Moderation in its two scopes, and the audit log.

pub mod audit;
pub mod moderation;
