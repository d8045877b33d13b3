//! The starting taxonomy of values: personal, societal and humanist.
//! Admins extend it through the API; this list is only the seed.

use sea_orm_migration::prelude::*;

use crate::Common;
use crate::m20261125_000002_create_value_tags::ValueTag;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (slug, name, category, description)
const SEED: &[(&str, &str, &str, &str)] = &[
    (
        "vegan",
        "Vegan",
        "PERSONAL",
        "No animal products or animal testing.",
    ),
    ("vegetarian", "Vegetarian", "PERSONAL", "No meat or fish."),
    (
        "halal",
        "Halal",
        "PERSONAL",
        "Permissible under Islamic dietary law.",
    ),
    (
        "kosher",
        "Kosher",
        "PERSONAL",
        "Conforms to Jewish dietary law.",
    ),
    (
        "gluten-free",
        "Gluten-free",
        "PERSONAL",
        "Safe for coeliacs and gluten intolerance.",
    ),
    (
        "peanut-free",
        "Peanut-free",
        "PERSONAL",
        "No peanuts and no cross-contamination.",
    ),
    ("lactose-free", "Lactose-free", "PERSONAL", "No lactose."),
    (
        "allergen-labelling",
        "Clear allergen labelling",
        "PERSONAL",
        "All allergens listed plainly on the pack.",
    ),
    (
        "local",
        "Local",
        "SOCIETAL",
        "Made and sourced close to where it is sold.",
    ),
    (
        "fair-trade",
        "Fair trade",
        "SOCIETAL",
        "Fair prices and terms for producers.",
    ),
    (
        "organic",
        "Organic",
        "SOCIETAL",
        "Grown without synthetic pesticides or fertilisers.",
    ),
    (
        "seasonal",
        "Seasonal",
        "SOCIETAL",
        "Sold in its natural season.",
    ),
    (
        "zero-waste",
        "Zero waste",
        "SOCIETAL",
        "No needless packaging; refill and reuse.",
    ),
    (
        "repairable",
        "Repairable",
        "SOCIETAL",
        "Built to be repaired, with parts available.",
    ),
    (
        "palm-oil-free",
        "Palm-oil-free",
        "SOCIETAL",
        "No palm oil from deforestation.",
    ),
    (
        "animal-welfare",
        "Animal welfare",
        "SOCIETAL",
        "High standards for farmed animals.",
    ),
    (
        "low-carbon",
        "Low carbon",
        "SOCIETAL",
        "A small and declining carbon footprint.",
    ),
    (
        "living-wage",
        "Living wage",
        "HUMANIST",
        "Everyone in the chain earns a living wage.",
    ),
    (
        "no-child-labour",
        "No child labour",
        "HUMANIST",
        "No child labour anywhere in the supply chain.",
    ),
    (
        "workers-rights",
        "Workers' rights",
        "HUMANIST",
        "Freedom of association and safe workplaces.",
    ),
    (
        "gender-equality",
        "Gender equality",
        "HUMANIST",
        "Equal pay and treatment across genders.",
    ),
    (
        "disability-inclusion",
        "Disability inclusion",
        "HUMANIST",
        "Accessible products and inclusive employment.",
    ),
    (
        "data-privacy",
        "Data privacy",
        "HUMANIST",
        "Customers' personal data respected and minimised.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let now = chrono::Utc::now();
        let mut insert = Query::insert();
        insert.into_table(ValueTag::Table).columns([
            Common::Id.into_iden(),
            ValueTag::Slug.into_iden(),
            ValueTag::Name.into_iden(),
            ValueTag::Category.into_iden(),
            ValueTag::Description.into_iden(),
            Common::CreatedAt.into_iden(),
        ]);
        for (slug, name, category, description) in SEED {
            insert.values_panic([
                uuid::Uuid::now_v7().into(),
                (*slug).into(),
                (*name).into(),
                (*category).into(),
                (*description).into(),
                now.into(),
            ]);
        }
        manager.exec_stmt(insert).await
    }
}
