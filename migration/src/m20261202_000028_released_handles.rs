//! Handles given up by erased accounts, held back from new accounts for a
//! while.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReleasedHandle {
    Table,
    HandleKey,
    ReleasedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleasedHandle::Table)
                    .if_not_exists()
                    // As long as `member.handle_key`.
                    .col(string_len(ReleasedHandle::HandleKey, 32).primary_key())
                    .col(timestamp_with_time_zone(ReleasedHandle::ReleasedAt))
                    .to_owned(),
            )
            .await
    }
}
