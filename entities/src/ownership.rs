//! One producer owning another, from when to when, on what evidence.

use sea_orm::entity::prelude::*;

/// Where an ownership edge comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum OwnershipSource {
    Wikidata,
    Gleif,
    OpenFoodFacts,
    Member,
    Producer,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ownership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The producer owned.
    pub child_id: Uuid,
    /// Its owner.
    pub parent_id: Uuid,
    pub source: OwnershipSource,
    pub evidence_url: Option<String>,
    pub valid_from: DateTimeUtc,
    /// Null while it holds.
    pub valid_to: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
