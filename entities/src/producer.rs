//! Whom campaigns address: a brand, company or cooperative.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(24))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ProducerKind {
    Cooperative,
    SoleTrader,
    Sme,
    LargeGroup,
    PublicBody,
    NonProfit,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "producer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Lower-cased, whitespace-folded name; unique so one producer is never split in two.
    #[sea_orm(unique)]
    pub name_key: String,
    pub kind: ProducerKind,
    /// Sector slug such as `food`, `cosmetics` or `energy`.
    pub sector: String,
    pub territory: Option<String>,
    /// JSON array of label strings.
    pub labels: String,
    pub website: Option<String>,
    /// Legal Entity Identifier (GLEIF), 20 characters.
    pub lei: Option<String>,
    /// Wikidata item (`Q…`).
    pub wikidata: Option<String>,
    /// OpenCorporates identifier (`fr/552032534`).
    pub open_corporates: Option<String>,
    pub description: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::campaign::Entity")]
    Campaign,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
