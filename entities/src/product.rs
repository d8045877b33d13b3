//! A product by its barcode (a GTIN as Open Food Facts normalises it).

use sea_orm::entity::prelude::*;

/// Where a product's data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(24))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ProductSource {
    /// Written by this instance's moderators.
    Catalogue,
    /// Imported from Open Food Facts (ODbL).
    OpenFoodFacts,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// 8, 13 or 14 digits, check digit verified.
    #[sea_orm(unique)]
    pub gtin: String,
    pub name: String,
    pub brand_id: Option<Uuid>,
    /// The producer that makes it (the brand's owner may be another).
    pub producer_id: Option<Uuid>,
    /// Open Food Facts category tags, general to specific (JSON array).
    pub categories: String,
    /// The last (deepest) of `categories`, indexed: what `alternatives`
    /// compares.
    pub category: Option<String>,
    /// Label tags as given: value-tag slugs or Open Food Facts tags (JSON).
    pub labels: String,
    /// Allergen tags as given (JSON).
    pub allergens: String,
    /// Where it is sold, ISO 3166 codes (JSON).
    pub territories: String,
    pub source: ProductSource,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
