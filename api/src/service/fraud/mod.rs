//! Fraud defence: block-lists, surge detection, invalidations and retention.

pub mod block;
pub mod invalidation;
pub mod retention;
pub mod surge;
