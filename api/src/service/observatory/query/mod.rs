//! Reading the rollups and the producer-side facts (campaigns, responses,
//! commitments) that the observatory's cells are built from.
//!
//! Every member-contributed number comes from *released* atoms only: a
//! producer-period with fewer than k distinct members is left out of every
//! sum, so no answer, and no difference of answers, ever contains it.

mod conditions;
mod facts;
mod groups;
mod periods;
mod producers;

pub use super::atoms::{GroupBy, Scope, Sums};
pub use conditions::{RATINGS_SUM, push_memberships, ranged, trust_expression};
pub use facts::{campaigns, commitments, slug_exists};
pub use groups::{GroupTotals, group_totals, memberships, stored_groups, stored_groups_over};
pub use periods::{StoredSums, stored_periods, sums_by_period};
pub use producers::{
    ProducerRow, RankAfter, RankBy, RankKey, RankedRow, count_producers, producers,
    ranked_producers, stored_facts_by_producer, sums_by_producer,
};
