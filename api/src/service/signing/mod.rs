//! Signing: signatures and their batches, live counts and milestones, the kept totals, offline tallies.

pub mod kept;
pub mod milestone;
pub mod offline_tally;
pub mod sign_batch;
pub mod signature;
