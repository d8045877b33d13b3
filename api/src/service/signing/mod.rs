//! Signing: signatures and their batches, live counts and milestones, the stored totals, offline tallies.

pub mod milestone;
pub mod offline_tally;
pub mod response_request;
pub mod sign_batch;
pub mod signature;
pub mod standing;
