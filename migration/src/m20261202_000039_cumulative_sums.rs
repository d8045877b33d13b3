//! Each producer's cumulative sums of released atoms, so that a ranking or
//! an export over any `from`/`to` reads two rows per producer instead of
//! summing the range's atoms.
//!
//! `obs_cumulative_period` lists the periods that hold at least one
//! released atom (of any producer); `obs_producer_cumulative` holds, for
//! each such period and each producer with a released atom at or before
//! it, the sums of that producer's released atoms up to and including the
//! period. A range's sums are then the row of the last listed period before
//! its end less the row of the last listed period before its start.
//! Derived data: the fold keeps it, `observatory-rebuild` recomputes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;
use crate::m20261126_000025_kept_periods::TOTAL_COLUMNS;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsCumulativePeriod {
    Table,
    /// `YYYY-MM-DD`, the first day of the period.
    PeriodStart,
}

#[derive(DeriveIden)]
enum ObsProducerCumulative {
    Table,
    PeriodStart,
    ProducerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObsCumulativePeriod::Table)
                    .if_not_exists()
                    .col(string_len(ObsCumulativePeriod::PeriodStart, 10).primary_key())
                    .to_owned(),
            )
            .await?;
        // Keyed by period first: a range reads two periods' rows.
        let mut table = Table::create();
        table
            .table(ObsProducerCumulative::Table)
            .if_not_exists()
            .col(string_len(ObsProducerCumulative::PeriodStart, 10))
            .col(uuid(ObsProducerCumulative::ProducerId))
            .primary_key(
                Index::create()
                    .col(ObsProducerCumulative::PeriodStart)
                    .col(ObsProducerCumulative::ProducerId),
            )
            .foreign_key(&mut fk(
                ObsProducerCumulative::Table,
                ObsProducerCumulative::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in TOTAL_COLUMNS {
            table.col(big_integer(Alias::new(column)).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["obs_producer_cumulative", "obs_cumulative_period"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
