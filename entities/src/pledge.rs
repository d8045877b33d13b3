//! A member's commitment about buying, possibly conditional on enough pledgers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum PledgeKind {
    Buy,
    Avoid,
    Switch,
    Reduce,
}

/// `PENDING → ACTIVE → (KEPT | WITHDRAWN)`, or `PENDING → EXPIRED` when a
/// conditional pledge's threshold is never met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum PledgeStatus {
    Pending,
    Active,
    Kept,
    Withdrawn,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pledge")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The producer the campaign aimed at when the pledge was made: the
    /// observatory counts it there, even after an escalation.
    pub producer_id: Uuid,
    pub member_id: Option<Uuid>,
    pub kind: PledgeKind,
    pub monthly_amount_cents: Option<i64>,
    pub activation_threshold: Option<i32>,
    pub status: PledgeStatus,
    pub activated_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
