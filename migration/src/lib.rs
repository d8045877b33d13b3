//! Consumact's schema, as an ordered list of sea-orm migrations.
//!
//! Every migration runs unchanged on SQLite and PostgreSQL: only portable
//! column types, inline foreign keys (SQLite cannot add them later) and
//! plain indexes; full-text search alone is engine-specific SQL, kept in two
//! migrations (`m20261126_000020_discovery`, `m20261126_000021_search_tables`). The server applies them at start-up unless told not to.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_members;
mod m20261125_000002_create_value_tags;
mod m20261125_000003_create_communities;
mod m20261125_000004_create_producers;
mod m20261125_000005_create_campaigns;
mod m20261125_000006_create_signatures_and_pledges;
mod m20261125_000007_create_co_creation;
mod m20261125_000008_create_producer_voice;
mod m20261125_000009_create_moderation;
mod m20261125_000010_seed_value_tags;
mod m20261125_000011_create_observatory_rollups;
mod m20261126_000012_verified_participation;
mod m20261126_000013_signature_sources;
mod m20261126_000014_block_rules;
mod m20261126_000015_invalidations;
mod m20261126_000016_fraud_signals;
mod m20261126_000017_closing_the_loop;
mod m20261126_000018_member_values;
mod m20261126_000019_campaign_place_and_language;
mod m20261126_000020_discovery;
mod m20261126_000021_search_tables;
mod m20261126_000022_kept_producer_totals;
mod m20261126_000023_kept_producer_facts;
mod m20261126_000024_kept_group_totals;
mod m20261126_000025_kept_periods;
mod m20261126_000026_kept_windows;
mod m20261127_000027_lean_signature_indexes;
mod m20261202_000028_released_handles;
mod m20261202_000029_scoped_moderation;
mod m20261202_000030_response_requests;
mod m20261202_000031_products;
mod m20261202_000032_ownership;
mod m20261202_000033_campaign_targets;
mod m20261202_000034_product_search;
mod m20261202_000035_catalogue_proposals;
mod m20261202_000036_product_category;
mod m20261202_000037_observatory_release;
mod m20261202_000038_fold_queue;
mod m20261202_000039_cumulative_sums;

/// The migrator the server and the `migrate` subcommand run.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_members::Migration),
            Box::new(m20261125_000002_create_value_tags::Migration),
            Box::new(m20261125_000003_create_communities::Migration),
            Box::new(m20261125_000004_create_producers::Migration),
            Box::new(m20261125_000005_create_campaigns::Migration),
            Box::new(m20261125_000006_create_signatures_and_pledges::Migration),
            Box::new(m20261125_000007_create_co_creation::Migration),
            Box::new(m20261125_000008_create_producer_voice::Migration),
            Box::new(m20261125_000009_create_moderation::Migration),
            Box::new(m20261125_000010_seed_value_tags::Migration),
            Box::new(m20261125_000011_create_observatory_rollups::Migration),
            Box::new(m20261126_000012_verified_participation::Migration),
            Box::new(m20261126_000013_signature_sources::Migration),
            Box::new(m20261126_000014_block_rules::Migration),
            Box::new(m20261126_000015_invalidations::Migration),
            Box::new(m20261126_000016_fraud_signals::Migration),
            Box::new(m20261126_000017_closing_the_loop::Migration),
            Box::new(m20261126_000018_member_values::Migration),
            Box::new(m20261126_000019_campaign_place_and_language::Migration),
            Box::new(m20261126_000020_discovery::Migration),
            Box::new(m20261126_000021_search_tables::Migration),
            Box::new(m20261126_000022_kept_producer_totals::Migration),
            Box::new(m20261126_000023_kept_producer_facts::Migration),
            Box::new(m20261126_000024_kept_group_totals::Migration),
            Box::new(m20261126_000025_kept_periods::Migration),
            Box::new(m20261126_000026_kept_windows::Migration),
            Box::new(m20261127_000027_lean_signature_indexes::Migration),
            Box::new(m20261202_000028_released_handles::Migration),
            Box::new(m20261202_000029_scoped_moderation::Migration),
            Box::new(m20261202_000030_response_requests::Migration),
            Box::new(m20261202_000031_products::Migration),
            Box::new(m20261202_000032_ownership::Migration),
            Box::new(m20261202_000033_campaign_targets::Migration),
            Box::new(m20261202_000034_product_search::Migration),
            Box::new(m20261202_000035_catalogue_proposals::Migration),
            Box::new(m20261202_000036_product_category::Migration),
            Box::new(m20261202_000037_observatory_release::Migration),
            Box::new(m20261202_000038_fold_queue::Migration),
            Box::new(m20261202_000039_cumulative_sums::Migration),
        ]
    }
}

/// Column names shared by many tables, so migrations spell them once.
#[derive(DeriveIden)]
pub(crate) enum Common {
    Id,
    CreatedAt,
    UpdatedAt,
}

/// A foreign key from `table.column` to `target.id`.
pub(crate) fn fk(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
    target: impl IntoIden + 'static,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(target, Common::Id)
        .on_delete(on_delete)
        .to_owned()
}

/// A (possibly unique) index named `name` over `columns` of `table`.
pub(crate) fn index<T: IntoIden + 'static, C: IntoIden + 'static>(
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(column);
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}
