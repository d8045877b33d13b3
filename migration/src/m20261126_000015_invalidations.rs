//! Bulk invalidation: struck-out signatures keep the invalidation that
//! struck them (so it can be undone exactly), and milestones remember when
//! the count fell back below them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invalidation {
    Table,
    CampaignId,
    Reason,
    Filter,
    Count,
    DryRun,
    ActorId,
    RevalidatedAt,
}

#[derive(DeriveIden)]
enum Signature {
    Table,
    InvalidationId,
}

#[derive(DeriveIden)]
enum Milestone {
    Table,
    InvalidatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invalidation::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(Invalidation::CampaignId))
                    .col(text(Invalidation::Reason))
                    .col(text(Invalidation::Filter))
                    .col(big_integer(Invalidation::Count))
                    .col(boolean(Invalidation::DryRun))
                    .col(uuid_null(Invalidation::ActorId))
                    .col(timestamp_with_time_zone_null(Invalidation::RevalidatedAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        Invalidation::Table,
                        Invalidation::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_invalidation_campaign",
                Invalidation::Table,
                [Invalidation::CampaignId],
                false,
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Signature::Table)
                    .add_column(uuid_null(Signature::InvalidationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_signature_invalidation",
                Signature::Table,
                [Signature::InvalidationId],
                false,
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Milestone::Table)
                    .add_column(timestamp_with_time_zone_null(Milestone::InvalidatedAt))
                    .to_owned(),
            )
            .await
    }
}
