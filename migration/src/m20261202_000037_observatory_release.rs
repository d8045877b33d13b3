//! The observatory's differentially private release: each closed period
//! released once, with the noise budget it spent (the ledger) and its
//! published producer cells, frozen from then on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261125_000004_create_producers::Producer;
use crate::m20261125_000011_create_observatory_rollups::ATOM_SUMS;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One released period and the parameters it was released with.
#[derive(DeriveIden)]
enum ObsRelease {
    Table,
    /// `YYYY-MM-01`.
    PeriodStart,
    ReleasedAt,
    CodeVersion,
    Mechanism,
    /// ρ of the period, as the exact decimal configured.
    Rho,
    MaxProducers,
    PledgeCapCents,
    Threshold,
    /// Producers the release covered (each got noise, published or not).
    Producers,
    /// Cells that cleared the threshold.
    Published,
}

/// What one period spent on one measure.
#[derive(DeriveIden)]
enum ObsReleaseSpend {
    Table,
    PeriodStart,
    Measure,
    Rho,
    Sensitivity,
    /// The discrete Gaussian's σ².
    Variance,
}

#[derive(DeriveIden)]
enum ObsReleaseCell {
    Table,
    PeriodStart,
    ProducerId,
}

/// A foreign key to the release of the period.
fn to_release(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(ObsRelease::Table, ObsRelease::PeriodStart)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObsRelease::Table)
                    .if_not_exists()
                    .col(string_len(ObsRelease::PeriodStart, 10).primary_key())
                    .col(timestamp_with_time_zone(ObsRelease::ReleasedAt))
                    .col(string_len(ObsRelease::CodeVersion, 32))
                    .col(string_len(ObsRelease::Mechanism, 64))
                    .col(string_len(ObsRelease::Rho, 32))
                    .col(integer(ObsRelease::MaxProducers))
                    .col(big_integer(ObsRelease::PledgeCapCents))
                    .col(big_integer(ObsRelease::Threshold))
                    .col(big_integer(ObsRelease::Producers))
                    .col(big_integer(ObsRelease::Published))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ObsReleaseSpend::Table)
                    .if_not_exists()
                    .col(string_len(ObsReleaseSpend::PeriodStart, 10))
                    .col(string_len(ObsReleaseSpend::Measure, 32))
                    .col(double(ObsReleaseSpend::Rho))
                    .col(big_integer(ObsReleaseSpend::Sensitivity))
                    .col(double(ObsReleaseSpend::Variance))
                    .primary_key(
                        Index::create()
                            .col(ObsReleaseSpend::PeriodStart)
                            .col(ObsReleaseSpend::Measure),
                    )
                    .foreign_key(&mut to_release(
                        ObsReleaseSpend::Table,
                        ObsReleaseSpend::PeriodStart,
                    ))
                    .to_owned(),
            )
            .await?;
        let sums = ATOM_SUMS;
        let mut table = Table::create();
        table
            .table(ObsReleaseCell::Table)
            .if_not_exists()
            .col(string_len(ObsReleaseCell::PeriodStart, 10))
            .col(uuid(ObsReleaseCell::ProducerId))
            .primary_key(
                Index::create()
                    .col(ObsReleaseCell::PeriodStart)
                    .col(ObsReleaseCell::ProducerId),
            )
            .foreign_key(&mut to_release(
                ObsReleaseCell::Table,
                ObsReleaseCell::PeriodStart,
            ))
            .foreign_key(&mut fk(
                ObsReleaseCell::Table,
                ObsReleaseCell::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in sums {
            table.col(big_integer(column).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await?;
        manager
            .create_index(index(
                "idx_obs_release_cell_producer",
                ObsReleaseCell::Table,
                vec![ObsReleaseCell::ProducerId, ObsReleaseCell::PeriodStart],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ObsReleaseCell::Table.into_iden(),
            ObsReleaseSpend::Table.into_iden(),
            ObsRelease::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
