//! A member's 1–5 rating of a producer on one dimension for one calendar month.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(24))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Dimension {
    Transparency,
    Fairness,
    CommitmentKeeping,
    Quality,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trust_rating")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub member_id: Option<Uuid>,
    pub producer_id: Uuid,
    pub dimension: Dimension,
    pub score: i16,
    /// `YYYY-MM`.
    pub period: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
