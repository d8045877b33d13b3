//! Kept per-producer totals of the observatory: the sums of a producer's
//! *released* atoms (at least k members) over all time, kept by the same
//! statement sequence that writes the atoms, so that a producer's picture
//! is read from one row instead of being summed from all its periods.
//! Derived data, like the atoms: `observatory-rebuild` recomputes it, and
//! the server rebuilds it when k or the grain changed (`obs_meta`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;
use crate::m20261125_000011_create_observatory_rollups::ATOM_SUMS;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsProducerTotal {
    Table,
    ProducerId,
    /// Released atoms in the total.
    Atoms,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sums = ATOM_SUMS;
        let mut table = Table::create();
        table
            .table(ObsProducerTotal::Table)
            .if_not_exists()
            .col(uuid(ObsProducerTotal::ProducerId).primary_key())
            .col(big_integer(ObsProducerTotal::Atoms).default(0))
            .foreign_key(&mut fk(
                ObsProducerTotal::Table,
                ObsProducerTotal::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in sums {
            table.col(big_integer(column).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await?;
        // Rankings by signatures walk this index (released producers only).
        // The trust-index ranking's index depends on the configured prior:
        // the server creates it at start-up (`rollup::ensure_trust_index`).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_obs_producer_total_signatures \
                 ON obs_producer_total (signatures DESC, producer_id) WHERE atoms > 0",
            )
            .await?;
        Ok(())
    }
}
