//! Moderation within its scope: the scope that hid each row, flags a
//! community moderator escalated, the scope of each audited decision, and
//! offline tallies recommended by a community moderator or revoked after
//! their verification.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaign {
    Table,
}

#[derive(DeriveIden)]
enum Proposal {
    Table,
}

#[derive(DeriveIden)]
enum Signature {
    Table,
}

#[derive(DeriveIden)]
enum ProducerResponse {
    Table,
}

#[derive(DeriveIden)]
enum Hidden {
    HiddenScope,
}

#[derive(DeriveIden)]
enum Flag {
    Table,
    EscalatedBy,
    EscalatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Scope,
}

#[derive(DeriveIden)]
enum OfflineTally {
    Table,
    RecommendedBy,
    RecommendedAt,
    RevokedBy,
    RevokedAt,
    RevocationReason,
}

/// One `ALTER TABLE … ADD COLUMN` (SQLite takes one column a statement).
async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Campaign::Table,
            string_len_null(Hidden::HiddenScope, 16),
        )
        .await?;
        add(
            manager,
            Proposal::Table,
            string_len_null(Hidden::HiddenScope, 16),
        )
        .await?;
        add(
            manager,
            Signature::Table,
            string_len_null(Hidden::HiddenScope, 16),
        )
        .await?;
        add(
            manager,
            ProducerResponse::Table,
            string_len_null(Hidden::HiddenScope, 16),
        )
        .await?;
        add(manager, Flag::Table, uuid_null(Flag::EscalatedBy)).await?;
        add(
            manager,
            Flag::Table,
            timestamp_with_time_zone_null(Flag::EscalatedAt),
        )
        .await?;
        add(
            manager,
            AuditLog::Table,
            string_len_null(AuditLog::Scope, 16),
        )
        .await?;
        add(
            manager,
            OfflineTally::Table,
            uuid_null(OfflineTally::RecommendedBy),
        )
        .await?;
        add(
            manager,
            OfflineTally::Table,
            timestamp_with_time_zone_null(OfflineTally::RecommendedAt),
        )
        .await?;
        add(
            manager,
            OfflineTally::Table,
            uuid_null(OfflineTally::RevokedBy),
        )
        .await?;
        add(
            manager,
            OfflineTally::Table,
            timestamp_with_time_zone_null(OfflineTally::RevokedAt),
        )
        .await?;
        add(
            manager,
            OfflineTally::Table,
            text_null(OfflineTally::RevocationReason),
        )
        .await
    }
}
