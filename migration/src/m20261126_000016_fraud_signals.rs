//! Surge detection: signals raised when one source or e-mail domain signs a
//! campaign far more than usual, and the signatures held while one is open.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FraudSignal {
    Table,
    CampaignId,
    Kind,
    Key,
    Count,
    FirstSeen,
    LastSeen,
    Status,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Signature {
    Table,
    /// The open signal that holds it `PENDING`.
    HeldBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FraudSignal::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(FraudSignal::CampaignId))
                    .col(string_len(FraudSignal::Kind, 16))
                    .col(string_len(FraudSignal::Key, 254))
                    .col(big_integer(FraudSignal::Count))
                    .col(timestamp_with_time_zone(FraudSignal::FirstSeen))
                    .col(timestamp_with_time_zone(FraudSignal::LastSeen))
                    .col(string_len(FraudSignal::Status, 16))
                    .col(uuid_null(FraudSignal::DecidedBy))
                    .col(timestamp_with_time_zone_null(FraudSignal::DecidedAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        FraudSignal::Table,
                        FraudSignal::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_fraud_signal_campaign_key",
                FraudSignal::Table,
                [FraudSignal::CampaignId, FraudSignal::Kind, FraudSignal::Key],
                false,
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Signature::Table)
                    .add_column(uuid_null(Signature::HeldBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_signature_held_by",
                Signature::Table,
                [Signature::HeldBy],
                false,
            ))
            .await
    }
}
