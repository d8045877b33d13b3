//! Block-lists: address ranges and e-mail domains refused at registration
//! and signing, and allow rules that override them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::Common;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlockRule {
    Table,
    Kind,
    Pattern,
    Allow,
    Reason,
    ExpiresAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BlockRule::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len(BlockRule::Kind, 16))
                    .col(string_len(BlockRule::Pattern, 255))
                    .col(boolean(BlockRule::Allow))
                    .col(text(BlockRule::Reason))
                    .col(timestamp_with_time_zone_null(BlockRule::ExpiresAt))
                    // Kept when the admin's account goes: rules outlive their authors.
                    .col(uuid_null(BlockRule::CreatedBy))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .to_owned(),
            )
            .await
    }
}
