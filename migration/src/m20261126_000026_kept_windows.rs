//! Kept per-producer totals over the observatory's default windows (the
//! last 12 months, the last full month): `obs_window` holds each window's
//! span of periods as of the current month, and `obs_producer_window` each
//! producer's released atoms and facts of the periods in that span, so a
//! ranking over a window walks an index as the all-time ranking does.
//! Derived data: the server recomputes it when the month changes, and
//! `observatory-rebuild` with the rest.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;
use crate::m20261126_000025_kept_periods::{TOTAL_COLUMNS, fact_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsWindow {
    Table,
    /// `LAST_12_MONTHS` or `LAST_FULL_MONTH`.
    Span,
    /// First period start in the window.
    FirstPeriod,
    /// First period start after it; null while the window runs to now.
    EndPeriod,
}

#[derive(DeriveIden)]
enum ObsProducerWindow {
    Table,
    Span,
    ProducerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObsWindow::Table)
                    .if_not_exists()
                    .col(string_len(ObsWindow::Span, 16).primary_key())
                    .col(string_len(ObsWindow::FirstPeriod, 10))
                    .col(string_len_null(ObsWindow::EndPeriod, 10))
                    .to_owned(),
            )
            .await?;
        let mut table = Table::create();
        table
            .table(ObsProducerWindow::Table)
            .if_not_exists()
            .col(string_len(ObsProducerWindow::Span, 16))
            .col(uuid(ObsProducerWindow::ProducerId))
            .primary_key(
                Index::create()
                    .col(ObsProducerWindow::Span)
                    .col(ObsProducerWindow::ProducerId),
            )
            .foreign_key(&mut fk(
                ObsProducerWindow::Table,
                ObsProducerWindow::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in TOTAL_COLUMNS
            .into_iter()
            .map(str::to_owned)
            .chain(fact_columns())
        {
            table.col(big_integer(Alias::new(column)).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await?;
        // Rankings by signatures over a window walk this index; the trust
        // ranking's, which holds the prior, is made at start-up
        // (`rollup::ensure_trust_index`).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_obs_producer_window_signatures \
                 ON obs_producer_window (span, signatures DESC, producer_id) WHERE atoms > 0",
            )
            .await?;
        Ok(())
    }
}
