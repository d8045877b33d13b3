//! The taxonomy of values people organise around (vegan, local, fair trade…).

use sea_orm_migration::{prelude::*, schema::*};

use crate::Common;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum ValueTag {
    Table,
    Slug,
    Name,
    Category,
    Description,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ValueTag::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len_uniq(ValueTag::Slug, 64))
                    .col(string_len(ValueTag::Name, 80))
                    .col(string_len(ValueTag::Category, 16))
                    .col(string_len(ValueTag::Description, 500))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .to_owned(),
            )
            .await
    }
}
