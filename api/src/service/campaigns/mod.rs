//! Campaigns and what gathers around them: their life (drafts, sponsors, review, opening, closing), communities, values, proposals and votes, pledges.

pub mod campaign;
pub mod community;
pub mod pledge;
pub mod proposal;
pub mod sponsorship;
pub mod value_tag;
